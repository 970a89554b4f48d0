"""``qsntk entanglement``: entanglement of NNQS ensembles, the NNGP replica bound, Page's value."""

from __future__ import annotations

import click

from qsntk.cli._common import (SEED, split_items, out_option, overwrite_option, parse_float_list, parse_int_list,
                               print_json, report_run)

_net = click.option("--net", type=click.Choice(["cosnet", "gaussnet", "relu"]), default="cosnet",
                    show_default=True, help="Architecture of psi1 and psi2 (two independent networks).")
_sites = click.option("--sites", type=int, default=12, show_default=True, help="Number of spins (2-16).")
_seed = click.option("--seed", type=SEED, default=0, show_default=True,
                     help="Seed of the draws (draw i: fold_in(PRNGKey(seed), i)); seed+1 for Monte Carlo.")
_mc = click.option("--mc", "mc", type=int, default=2000, show_default=True,
                   help="Gaussian vectors for the Monte-Carlo check of the bound (0: none).")


def _hyper_options(f):
    for name, text in reversed([("sigma-a", "readout scale (cosnet, gaussnet)"),
                                ("sigma-b", "hidden-bias scale (gaussnet; b_std for relu)"),
                                ("sigma-out", "output-bias scale (gaussnet)")]):
        f = click.option(f"--{name}", name.replace("-", "_"), type=float, default=None, help=text)(f)
    return f


@click.group(short_help="Entropies of network ensembles, replica bound, Page")
def entanglement():
    """Entanglement of neural-network quantum states (sec. 3 and Fig. 1 of Luo-Halverson).

    \b
    Examples:
      qsntk entanglement ensemble --widths 400,1000,4000 --sigma-w 10 --draws 1000 --out runs/ent
      qsntk entanglement ensemble --widths 4000 --sigma-w 10 --scan-sigma-w 0.5,1,2,3 --out runs/scan
      qsntk entanglement bound --sigma-w 0.5,1,2,10 --mc 4000 --out runs/bound
      qsntk entanglement page --sites 12
      qsntk entanglement state psi.npy --sites 12 --subsystem 0,2,5
    """


@entanglement.command(short_help="S_1, S_2 of network ensembles against |A|")
@_net
@_sites
@click.option("--widths", default="400,1000,4000", show_default=True, help="Hidden widths N.")
@click.option("--sigma-w", "sigma_w", type=float, default=10.0, show_default=True,
              help="Input-weight scale sigma_w (W_std for relu).")
@click.option("--scan-sigma-w", "scan", default="", help="Extra sigma_w values at --scan-width.")
@click.option("--scan-width", type=int, default=None, help="Width of the sigma_w scan (default: largest).")
@_hyper_options
@click.option("--draws", type=int, default=1000, show_default=True, help="Draws per ensemble.")
@_seed
@_mc
@out_option(default="runs/entanglement")
@overwrite_option
def ensemble(net, sites, widths, sigma_w, scan, scan_width, sigma_a, sigma_b, sigma_out, draws, seed,
             mc, out, overwrite):
    """S_1 and S_2 of random-network ensembles vs |A|, Page's value and the exact NNGP bound."""
    from qsntk.entanglement.drivers import entanglement_run
    from qsntk.progress import progress_bar

    ws = parse_int_list("--widths", widths)
    sc = parse_float_list("--scan-sigma-w", scan) if scan.strip() else []
    report_run(entanglement_run(out, net=net, n_sites=sites, widths=ws, sigma_w=sigma_w, scan_sigma_ws=sc,
                             scan_width=scan_width, sigma_a=sigma_a, sigma_b=sigma_b, sigma_out=sigma_out,
                             draws=draws, seed=seed, mc_samples=mc, overwrite=overwrite,
                             progress=progress_bar))


@entanglement.command(short_help="Exact NNGP replica bound on <S_2>, with MC check")
@_net
@_sites
@click.option("--sigma-w", "sigma_w", default="1", show_default=True,
              help="Comma-separated sigma_w values (W_std for relu).")
@_hyper_options
@_seed
@_mc
@out_option(default="runs/entanglement-bound")
@overwrite_option
def bound(net, sites, sigma_w, sigma_a, sigma_b, sigma_out, seed, mc, out, overwrite):
    """Exact NNGP replica bound on <S_2> of normalized states, with a Monte-Carlo check.

    Eqs. 1-2 of Luo-Halverson by Wick's theorem on the network's NNGP kernel
    (eq. 4 for CosNet), for every sigma_w given; see docs/entanglement.md.
    """
    from qsntk.entanglement.drivers import entanglement_run
    from qsntk.progress import progress_bar

    sws = sorted(set(parse_float_list("--sigma-w", sigma_w)))      # duplicates: one value
    report_run(entanglement_run(out, net=net, n_sites=sites, widths=[], sigma_w=sws[0], scan_sigma_ws=sws[1:],
                             sigma_a=sigma_a, sigma_b=sigma_b, sigma_out=sigma_out, draws=2, seed=seed,
                             mc_samples=mc, overwrite=overwrite, progress=progress_bar))


@entanglement.command(short_help="Page's value and the Haar Renyi-2 values")
@_sites
@click.option("--local-dim", type=int, default=2, show_default=True, help="States per site.")
def page(sites, local_dim):
    """Page's value and the Haar Renyi-2 values for |A| = 1 .. sites-1 (JSON)."""
    from qsntk.entanglement import page as pg
    from qsntk.errors import check_int_at_least

    n = check_int_at_least("sites", sites, 2)
    q = check_int_at_least("local-dim", local_dim, 2)
    if q**n > 2**62:
        from qsntk.errors import InputError

        raise InputError(f"local-dim**sites = {q}**{n} is too large")
    rows = []
    for k in range(1, n):
        m_, n_ = pg.subsystem_dims(k, n, q)
        rows.append({"size": k, "dim_A": m_, "dim_B": n_, "page_S1": pg.page_entropy(m_, n_),
                     "haar_S2_annealed": pg.haar_renyi2_annealed(m_, n_), "haar_S2": pg.haar_renyi2(m_, n_),
                     "haar_purity": pg.haar_purity(m_, n_)})
    print_json({"sites": n, "local_dim": q, "rows": rows})


@entanglement.command(short_help="Entropies of states in a .npy file across A | B")
@click.argument("psi_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--sites", type=int, default=None, help="Sites of a full product basis.")
@click.option("--local-dim", type=int, default=2, show_default=True, help="States per site.")
@click.option("--subsystem", default=None, help="Sites of A, comma-separated (default: all prefixes).")
@click.option("--orders", default="1,2", show_default=True, help="Renyi orders (1: von Neumann; inf allowed).")
def state(psi_file, sites, local_dim, subsystem, orders):
    """Entropies of the state(s) in PSI_FILE (.npy, shape (dim,) or (batch, dim)) across A | B."""
    import numpy as np

    from qsntk.entanglement.entropy import entropies, prefix_cuts, product_cut
    from qsntk.errors import InputError, check_int_at_least

    with open(psi_file, "rb") as fh:
        magic = fh.read(6)
    if magic[:2] == b"PK":
        raise InputError(f"{psi_file!r} is an .npz archive; give one .npy array (dim,) or (batch, dim)")
    if magic != b"\x93NUMPY":
        raise InputError(f"{psi_file!r} is not a .npy array file (numpy.save); give one array (dim,) "
                         "or (batch, dim)")
    try:
        psi = np.load(psi_file, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        msg = ("it holds Python objects, not numbers" if "pickled" in str(exc) else str(exc))
        raise InputError(f"cannot read {psi_file!r} as a .npy array: {msg}") from None
    if psi.dtype.kind in "iub":                      # [1, 0, 0, 1] saved as integers
        psi = psi.astype(np.float64)
    if psi.ndim not in (1, 2) or psi.dtype.kind not in "fc" or psi.shape[-1] < 2 or psi.size == 0:
        raise InputError(f"{psi_file!r} must hold a real, complex or integer array (dim,) or (batch, dim) "
                         f"with dim >= 2, got {psi.dtype} {psi.shape}")
    q = check_int_at_least("--local-dim", local_dim, 2)
    dim = psi.shape[-1]
    if sites is None:
        n = round(np.log(dim) / np.log(q))
        if q**n != dim:
            raise InputError(f"{dim} amplitudes are not local-dim**sites for local-dim {q}; give --sites")
        sites = n
    sites = check_int_at_least("--sites", sites, 2 if not subsystem else 1)
    if sites * np.log2(q) > np.log2(dim) + 0.5 or q**sites != dim:   # no q**1e9 formed
        raise InputError(f"--sites {sites} with --local-dim {q} does not match the {dim} amplitudes "
                         f"of {psi_file!r} (local-dim**sites must be {dim})")
    try:
        orders_ = [float(o) for o in split_items("--orders", orders)]
    except ValueError:
        raise InputError(f"--orders must be comma-separated numbers (or inf), got {orders!r}") from None
    if not orders_:
        raise InputError("--orders must not be empty")
    cuts = ([product_cut(parse_int_list("--subsystem", subsystem), n_sites=sites, local_dim=q)]
            if subsystem else prefix_cuts(sites, local_dim=q))
    res = []
    for c in cuts:
        S = entropies(psi, c, orders_)
        res.append({"A": list(c.A), **{f"S{o:g}": np.asarray(v).tolist() for o, v in S.items()}})
    print_json({"sites": sites, "local_dim": q, "cuts": res})
