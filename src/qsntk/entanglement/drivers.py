r"""Run-directory driver behind ``qsntk entanglement`` and the Luo–Halverson Fig. 1 reproduction.

:func:`entanglement_run` computes, for n spins (full basis, cuts A = first k sites):

* finite-network ensembles (:mod:`qsntk.entanglement.ensembles`): S_1 and S_2 of
  ``draws`` random ψ = ψ1 + iψ2 for every width in ``widths`` at ``sigma_w``,
  and for every σ_w in ``scan_sigma_ws`` at ``scan_width``;
* the exact NNGP replica bound (:mod:`qsntk.entanglement.gp`) of the same
  architecture at every σ_w used (plus a fine σ_w grid for the figure), and its
  Monte-Carlo check with ``mc_samples`` Gaussian vectors;
* Page's value and the Haar Rényi-2 values (:mod:`qsntk.entanglement.page`).

It validates everything before creating files, checkpoints each ensemble every
``piece`` draws (a rerun resumes; draw i always uses ``fold_in(PRNGKey(seed), i)``,
so the result does not depend on interruptions) and writes ``config.json``,
``metrics.json``, ``arrays.npz`` and ``entanglement.png``. All ensembles share
the seed: at a fixed width the σ_w scan uses the same standard-normal draws
(common random numbers), so differences between σ_w are not sampling noise.

``metrics["wall_s"]`` is the seconds spent computing the result, summed over the sessions
that computed it: each checkpoint records the seconds its draws (or its Monte-Carlo check)
took, and a session that computes something adds its own time (draws, bounds, metrics)
to that of the checkpointed work it loaded. A rerun that finds everything checkpointed
leaves ``wall_s`` as it was (:class:`qsntk.io.WorkClock`).
"""

from __future__ import annotations

import math
import time

import numpy as np

from qsntk.entanglement import ensembles as ens
from qsntk.entanglement import gp as gpmod
from qsntk.entanglement import page as pg
from qsntk.entanglement.entropy import prefix_cuts
from qsntk.errors import InputError, check_finite, check_int_at_least, check_memory, check_positive
from qsntk.io import RunDir, WorkClock
from qsntk.progress import no_progress, skip

__all__ = ["entanglement_run", "MAX_SITES", "ensemble_key"]

MAX_SITES = 16


def ensemble_key(width: int, sigma_w: float) -> str:
    """Name of one ensemble in metrics, arrays and checkpoints, e.g. ``N4000_sw10``."""
    return f"N{int(width)}_sw{float(sigma_w):g}"


def _hyper(net, sigma_a, sigma_b, sigma_out):
    h = {"sigma_a": sigma_a, "sigma_b": sigma_b, "sigma_out": sigma_out}
    allowed = ens.DEFAULTS[net]
    for k, v in h.items():
        if v is not None and k not in allowed:
            raise InputError(f"net {net!r} takes no {k.replace('_', '-')} "
                             f"(its hyperparameters are {', '.join(allowed)})")
    return {k: float(v) for k, v in h.items() if v is not None}


def _validate(net, n_sites, widths, sigma_w, scan_sigma_ws, scan_width, draws, seed, mc_samples,
              piece, hyper):
    from qsntk.errors import check_choice

    check_choice("net", net, ens.NETS)
    n_sites = check_int_at_least("sites", n_sites, 2)
    if n_sites > MAX_SITES:
        raise InputError(f"sites must be <= {MAX_SITES} (dense 2^n states), got {n_sites}")
    widths = sorted({check_int_at_least("width", w, 1) for w in widths})    # duplicates: one ensemble
    check_positive("sigma_w", sigma_w)
    scan = sorted({float(check_positive("scan sigma_w", s)) for s in scan_sigma_ws})
    if scan and scan_width is None and widths:
        scan_width = max(widths)             # without widths a scan is of the exact bound only
    if scan_width is not None:
        scan_width = check_int_at_least("scan width", scan_width, 1)
    draws = check_int_at_least("draws", draws, 2)
    seed = check_int_at_least("seed", seed, 0)
    mc_samples = check_int_at_least("mc samples", mc_samples, 0)
    if mc_samples == 1:
        raise InputError("mc samples must be 0 (no Monte-Carlo check) or >= 2, got 1")
    piece = check_int_at_least("piece", piece, 1)
    for k, v in hyper.items():
        check_finite(k, v)
    ens.network_pair(net, 1, sigma_w=sigma_w, **hyper)      # validates hyperparameters
    h = {**ens.DEFAULTS[net], **hyper}
    if net != "relu" and h["sigma_a"] == 0 and h.get("sigma_out", 0.0) == 0:
        raise InputError(f"sigma-a 0 makes every {net} amplitude 0 (psi = 0 has no entanglement); "
                         "give sigma-a > 0")
    n_cuts = n_sites - 1
    todo = _ensembles(widths, sigma_w, scan, scan_width)
    check_memory(f"draws {draws}", 8.0 * 2 * draws * n_cuts * max(len(todo), 1))
    for w, _ in todo:                               # one draw's features and tables (chunk_size)
        quarter = 2 ** (-(-n_sites // 4))
        check_memory(f"width {w}", 2.0 * 8 * w * (2 * n_sites * 2 + 8 * quarter) + 2**n_sites * 64)
    return n_sites, widths, float(sigma_w), scan, scan_width, draws, seed, mc_samples, piece


def _ensembles(widths, sigma_w, scan, scan_width):
    out = [(w, sigma_w) for w in widths]
    for s in scan if scan_width is not None else ():
        if (scan_width, s) not in out:
            out.append((scan_width, s))
    return out


def _run_ensemble(run, key, model, n_sites, cuts, draws, seed, piece, bar, clock):
    like = np.zeros((2, draws, len(cuts)))
    got = run.load_checkpoint(key, like)
    S, done = (np.array(got[0]), int(got[1].get("done", 0))) if got is not None else (like.copy(), 0)
    spent = clock.piece_loaded(got[1]) if got is not None else 0.0   # seconds of these draws
    skip(bar, done)
    while done < draws:
        started = time.perf_counter()
        n = min(piece, draws - done)
        res = ens.ensemble_entropies(model, n_sites=n_sites, n_draws=n, seed=seed, cuts=cuts,
                                     orders=(1, 2), first=done)
        S[0, done:done + n] = res[1.0]
        S[1, done:done + n] = res[2.0]
        done += n
        spent += clock.piece_done(started)
        run.save_checkpoint(key, S, done=done, wall_s=spent)
        bar.advance(n)
    return S


def _gp_for(net, sigma_w, hyper, n_sites):
    try:
        with np.errstate(over="raise"):
            return gpmod.gp_from_model(ens.network_pair(net, 1, sigma_w=sigma_w, **hyper), n_sites)
    except (OverflowError, FloatingPointError):
        raise InputError(f"sigma_w {sigma_w:g} is too large for the NNGP kernel of {net} "
                         "(its square overflows)") from None


def entanglement_run(out, *, net: str = "cosnet", n_sites: int = 12, widths=(400, 1000, 4000),
                     sigma_w: float = 10.0, scan_sigma_ws=(), scan_width: int | None = None,
                     sigma_a: float | None = None, sigma_b: float | None = None,
                     sigma_out: float | None = None, draws: int = 1000, seed: int = 0,
                     mc_samples: int = 2000, piece: int = 250, bound_grid: int = 17,
                     overwrite: bool = False, progress=no_progress,
                     figure_title: str | None = None) -> dict:
    """Ensemble entanglement of random networks vs Page's value and the exact NNGP bound.

    Arguments:
        out: run directory.
        net: ``cosnet``, ``gaussnet`` or ``relu`` (:func:`~qsntk.entanglement.ensembles.network_pair`).
        n_sites: number of spins (2 … 16).
        widths: hidden widths N of the finite ensembles at ``sigma_w`` (may be empty).
        sigma_w: input-weight scale (``W_std`` for relu).
        scan_sigma_ws: further σ_w values, at ``scan_width`` (default: the largest width).
        sigma_a, sigma_b, sigma_out: other hyperparameters (defaults of the net).
        draws: draws per ensemble (>= 2).
        seed: seed of every draw (draw i: ``fold_in(PRNGKey(seed), i)``); the Monte-Carlo check
            at the i-th σ_w (sorted) uses ``seed + 1 + i``, so the checks at different σ_w are
            independent.
        mc_samples: Gaussian vectors for the Monte-Carlo check of the bound (0: none).
        piece: draws between checkpoints.
        bound_grid: points of the exact bound on a log σ_w grid for the figure (0: none).
        overwrite, progress, figure_title: as elsewhere.

    Returns:
        ``{"out", "figures", "metrics"}`` (headline metrics). ``metrics.json``'s ``wall_s`` is
        the seconds spent computing the result over every session, unchanged by a rerun
        that recomputes nothing (module docstring).
    """
    hyper = _hyper(net, sigma_a, sigma_b, sigma_out)
    (n_sites, widths, sigma_w, scan, scan_width, draws, seed, mc_samples,
     piece) = _validate(net, n_sites, widths, sigma_w, scan_sigma_ws, scan_width, draws, seed,
                        mc_samples, piece, hyper)
    bound_grid = check_int_at_least("bound grid", bound_grid, 0)
    sigmas = sorted({sigma_w, *scan})
    gps = {s: _gp_for(net, s, hyper, n_sites) for s in sigmas}   # bad sigma_w refused before any file
    cfg = dict(kind="entanglement", net=net, n_sites=n_sites, widths=widths, sigma_w=sigma_w,
               scan_sigma_ws=scan, scan_width=scan_width, hyper=hyper, draws=draws, seed=seed,
               mc_samples=mc_samples, mc_seeds="seed + 1 + index of sigma_w in sorted order",
               orders=[1, 2], cuts="prefix", bound_grid=bound_grid)
    run = RunDir(out, cfg, overwrite=overwrite)
    clock = WorkClock(run)
    cuts = prefix_cuts(n_sites)
    sizes = np.arange(1, n_sites)
    todo = _ensembles(widths, sigma_w, scan, scan_width)

    results = {}
    with progress(len(todo) * draws, f"{net} ensembles, {n_sites} spins") as bar:
        for w, s in todo:
            model = ens.network_pair(net, w, sigma_w=s, **hyper)
            results[ensemble_key(w, s)] = _run_ensemble(run, ensemble_key(w, s), model, n_sites,
                                                        cuts, draws, seed, piece, bar, clock)

    bounds, mcs = {}, {}
    with progress(len(sigmas) * max(mc_samples, 1), "NNGP bound and Monte-Carlo check") as bar:
        for i, s in enumerate(sigmas):
            g = gps[s]
            bounds[s] = gpmod.replica_bound(g, cuts)
            if mc_samples:
                name = f"mc_sw{s:g}"
                like = np.zeros((8, len(cuts)))
                got = run.load_checkpoint(name, like)
                if got is None:
                    started = time.perf_counter()
                    m = gpmod.mc_purity(g, cuts, mc_samples, seed=seed + 1 + i, progress=bar)
                    arr = np.stack([m.purity, m.purity_se, m.neglog, m.neglog_se, m.s2, m.s2_se,
                                    m.ratio, m.ratio_se])
                    run.save_checkpoint(name, arr, samples=m.samples,
                                        wall_s=clock.piece_done(started))
                else:
                    arr = np.asarray(got[0])
                    clock.piece_loaded(got[1])
                    skip(bar, mc_samples)
                mcs[s] = arr
            else:
                bar.advance(1)
    grid = np.array([])
    grid_bound = np.zeros((0, len(cuts)))
    if bound_grid:
        lo, hi = min(sigmas + [0.25]), max(sigmas + [4.0])
        grid = np.geomspace(lo, hi, bound_grid)
        grid_bound = np.stack([gpmod.replica_bound(_gp_for(net, s, hyper, n_sites), cuts).bound
                               for s in grid])

    old = clock.unchanged("arrays.npz", "entanglement.png")   # all from checkpoints: leave it
    if old is not None:
        return {"out": str(run.path), "figures": [str(run.path / "entanglement.png")],
                "metrics": _headline(old)}
    metrics = _metrics(results, bounds, mcs, sizes, n_sites, net, widths, sigma_w, scan, scan_width,
                       draws, mc_samples)
    metrics.update(wall_s=clock.total(), resumed=run.resumed, hyper=hyper)
    arrays = {"sizes": sizes, "page": metrics["page"], "haar_s2_annealed": metrics["haar_s2_annealed"],
              "haar_s2": metrics["haar_s2"], "sigmas": np.asarray(sigmas, float),
              "bound_grid_sigma": grid, "bound_grid": grid_bound}
    for k, S in results.items():
        arrays[f"S1_{k}"], arrays[f"S2_{k}"] = S[0], S[1]
    for s in sigmas:
        b = bounds[s]
        arrays[f"gp_purity_sw{s:g}"], arrays[f"gp_bound_sw{s:g}"] = b.purity, b.bound
        arrays[f"gp_ratio_bound_sw{s:g}"] = b.bound_ratio
        if s in mcs:
            arrays[f"mc_sw{s:g}"] = mcs[s]
    run.save_arrays("arrays", **arrays)
    run.save_metrics(metrics)
    from qsntk.entanglement import plots

    fig = plots.entanglement_figure(metrics, grid, grid_bound, title=figure_title)
    figs = [str(run.save_figure(fig, "entanglement"))]
    plots.close(fig)
    return {"out": str(run.path), "figures": figs, "metrics": _headline(metrics)}


def _stats(S):
    s = ens.summarize(S)
    return {k: v.tolist() for k, v in s.items()}


def _metrics(results, bounds, mcs, sizes, n, net, widths, sigma_w, scan, scan_width, draws, mc_samples):
    half = n // 2 - 1                              # index of |A| = n/2 (floor)
    dims = [pg.subsystem_dims(int(k), n) for k in sizes]
    page = np.array([pg.page_entropy(*d) for d in dims])
    m = {
        "net": net, "n_sites": n, "sizes": sizes.tolist(), "half_size": int(sizes[half]),
        "page": page.tolist(),
        "haar_s2_annealed": [pg.haar_renyi2_annealed(*d) for d in dims],
        "haar_s2": [pg.haar_renyi2(*d) for d in dims],
        "ensembles": {}, "gp": {}, "mc": {}, "checks": {},
    }
    for key, S in results.items():
        purity = np.exp(-S[1])
        e = {"S1": _stats(S[0]), "S2": _stats(S[1]),
             "purity_mean": purity.mean(0).tolist(),
             "purity_se": (purity.std(0, ddof=1) / math.sqrt(draws)).tolist()}
        e["S1_half_rel_dev_page"] = float(e["S1"]["mean"][half] / page[half] - 1)
        e["S1_max_rel_dev_page"] = float(np.max(np.abs(np.asarray(e["S1"]["mean"]) / page - 1)))
        m["ensembles"][key] = e
    for s, b in bounds.items():
        m["gp"][f"{s:g}"] = {"purity": b.purity.tolist(), "bound": b.bound.tolist(),
                             "purity_ratio": b.purity_ratio.tolist(), "bound_ratio": b.bound_ratio.tolist(),
                             "quadrature_error": b.error, "norm_check": b.norm_check, "nodes": b.nodes}
    checks = m["checks"]
    zs, gaps = [], []
    for s, arr in mcs.items():
        purity, purity_se, neglog, neglog_se, s2, s2_se, ratio, ratio_se = arr
        b = bounds[s]
        z = (neglog - b.bound) / neglog_se
        z_ratio = (ratio - b.purity_ratio) / ratio_se
        gap = (s2 - b.bound) / s2_se
        m["mc"][f"{s:g}"] = {"samples": mc_samples, "purity": purity.tolist(), "purity_se": purity_se.tolist(),
                             "neglog": neglog.tolist(), "neglog_se": neglog_se.tolist(),
                             "s2": s2.tolist(), "s2_se": s2_se.tolist(), "z_bound": z.tolist(),
                             "z_ratio": z_ratio.tolist(), "gap_sigmas": gap.tolist(),
                             "jensen_gap": (s2 - neglog).tolist()}
        zs.append(np.max(np.abs(z)))
        gaps.append(np.min(gap))
    if zs:
        checks["mc_max_abs_z"] = float(np.max(zs))
        checks["bound_minus_mc_s2_min_sigmas"] = float(np.min(gaps))
        below = [(bounds[s].bound, np.asarray(m["mc"][f"{s:g}"]["s2"]), np.asarray(m["mc"][f"{s:g}"]["s2_se"]))
                 for s in mcs]
        checks["bound_le_mc_s2_strict"] = bool(all(np.all(b <= s2) for b, s2, _ in below))
        checks["bound_le_mc_s2_within_3se"] = bool(all(np.all(b <= s2 + 3 * se) for b, s2, se in below))
        checks["jensen_gap_min"] = float(min(np.min(m["mc"][f"{s:g}"]["jensen_gap"]) for s in mcs))
    if widths:
        main = [ensemble_key(w, sigma_w) for w in widths]
        checks["S1_half_rel_dev_page"] = {k: m["ensembles"][k]["S1_half_rel_dev_page"] for k in main}
        widest = ensemble_key(max(widths), sigma_w)
        checks["widest_within_2pct_of_page_at_half"] = bool(
            abs(m["ensembles"][widest]["S1_half_rel_dev_page"]) < 0.02)
        devs = [m["ensembles"][ensemble_key(w, sigma_w)]["S1_half_rel_dev_page"] for w in sorted(widths)]
        if len(devs) >= 2:                          # a trend needs two widths
            checks["S1_half_increases_with_width"] = bool(np.all(np.diff(devs) > 0))
        checks["bound_minus_ensemble_S2"] = {
            k: (bounds[float(k.split("_sw")[1])].bound - np.asarray(m["ensembles"][k]["S2"]["mean"])).tolist()
            for k in m["ensembles"]}
        # finite networks approach the GP as N grows: E Tr rho_A^2 at |A| = n/2
        gp_p = bounds[sigma_w].purity[half]
        checks["purity_rel_dev_gp_half"] = {
            k: float(m["ensembles"][k]["purity_mean"][half] / gp_p - 1) for k in main}
        checks["purity_z_gp_half"] = {
            k: float((m["ensembles"][k]["purity_mean"][half] - gp_p) / m["ensembles"][k]["purity_se"][half])
            for k in main}
    if scan and scan_width is not None:
        keys = [ensemble_key(scan_width, s) for s in sorted(scan)]
        devs = [m["ensembles"][k]["S1_half_rel_dev_page"] for k in keys]
        checks["scan_S1_half_rel_dev_page"] = dict(zip([f"{s:g}" for s in sorted(scan)], devs))
    return m


def _headline(m: dict) -> dict:
    out = {"half_size": m["half_size"], "page_half": m["page"][m["half_size"] - 1]}
    for k, e in m["ensembles"].items():
        out[f"S1_half_{k}"] = e["S1"]["mean"][m["half_size"] - 1]
    out.update({k: v for k, v in m["checks"].items() if not isinstance(v, dict)})
    return out
