"""``qsntk vmc``: variational Monte Carlo ground states on NetKet, with the QS-NTK lens."""

from __future__ import annotations

import click

from qsntk.cli._common import SEED, out_option, overwrite_option, print_json, say

_MODELS = ("rbm", "rbmsymm", "ffnn", "gcnn", "ar", "slater", "backflow")
_SAMPLERS = ("auto", "local", "exchange", "hamiltonian", "fermion-hop", "direct", "exact")
_OPTIMIZERS = ("sgd", "adam", "sr", "minsr")

_FLAGS = {"alpha": "--alpha", "layers": "--layers", "features": "--features",
          "diag_shift": "--diag-shift", "diag_shift_end": "--diag-shift-end",
          "marshall": "--marshall"}
_MODEL_USES = {"rbm": ("alpha",), "rbmsymm": ("alpha",), "ffnn": ("alpha",), "backflow": ("alpha",),
               "gcnn": ("layers", "features"), "ar": ("layers", "features"), "slater": ()}


def _unused(system, model, optimizer):
    """The options of this command that the chosen system, model and optimizer do not use,
    with why (they would be recorded in config.json and then block a resume without them)."""
    why = {k: f"--model {model}" for k in ("alpha", "layers", "features")
           if k not in _MODEL_USES.get(model, ("alpha", "layers", "features"))}
    if optimizer in ("sgd", "adam"):
        why["diag_shift"] = why["diag_shift_end"] = f"--optimizer {optimizer} (no SR)"
    if system == "tfim":
        why["marshall"] = "tfim (its ground state is positive: no sign to supply)"
    return why


@click.command(short_help="Ground state of a system by VMC (SGD or SR)")
@click.argument("system")
@click.option("--lx", type=int, required=True, help="Lattice side Lx.")
@click.option("--ly", type=int, default=1, show_default=True, help="Lattice side Ly (1: chain).")
@click.option("--pbc/--obc", default=True, show_default=True, help="Periodic or open boundaries.")
@click.option("--J", "J", type=float, default=None, help="tfim transverse field / heisenberg J.")
@click.option("--J1", "J1", type=float, default=None, help="j1j2 nearest-neighbour coupling.")
@click.option("--J2", "J2", type=float, default=None, help="j1j2 next-nearest coupling.")
@click.option("--t", "t", type=float, default=None, help="hubbard hopping.")
@click.option("--U", "U", type=float, default=None, help="hubbard on-site repulsion.")
@click.option("--n-up", type=int, default=None, help="hubbard: number of up fermions.")
@click.option("--n-down", type=int, default=None, help="hubbard: number of down fermions.")
@click.option("--sz0", is_flag=True, help="Spin systems: restrict to total Sz = 0.")
@click.option("--model", type=click.Choice(_MODELS), default="rbm", show_default=True,
              help="Variational wavefunction.")
@click.option("--alpha", type=float, default=None, show_default="1.0",
              help="Hidden-unit density (rbm, rbmsymm, ffnn, backflow).")
@click.option("--layers", type=int, default=None, show_default="2", help="Layers (gcnn, ar).")
@click.option("--features", type=int, default=None, show_default="8", help="Channels (gcnn, ar).")
@click.option("--complex/--real", "cplx", default=None,
              help="Complex or real parameters (default: real for tfim/hubbard, else complex).")
@click.option("--marshall", is_flag=True,
              help="Multiply by the Marshall sign (-1)^(down spins on sublattice A); "
                   "heisenberg, j1j2.")
@click.option("--sampler", type=click.Choice(_SAMPLERS), default="auto", show_default=True,
              help="Sampler of |psi|^2.")
@click.option("--chains", type=int, default=16, show_default=True, help="Markov chains.")
@click.option("--samples", type=int, default=1024, show_default=True, help="Samples per step.")
@click.option("--discard", type=int, default=None, help="Discarded sweeps per chain and step.")
@click.option("--optimizer", type=click.Choice(_OPTIMIZERS), default="sr", show_default=True,
              help="sgd, adam, sr (kernel form when parameters outnumber samples) or minsr.")
@click.option("--lr", type=float, default=0.01, show_default=True, help="Learning rate.")
@click.option("--lr-end", type=float, default=None,
              help="Learning rate at the last step (geometric schedule; default constant).")
@click.option("--diag-shift", type=float, default=None, show_default="0.01",
              help="Diagonal shift of SR at the first step (sr, minsr).")
@click.option("--diag-shift-end", type=float, default=None,
              help="Diagonal shift at the last step (sr, minsr; geometric schedule; "
                   "default constant).")
@click.option("--steps", type=int, default=300, show_default=True, help="Optimization steps.")
@click.option("--lens-every", type=int, default=10, show_default=True,
              help="Steps between evaluations of the sample-space QS-NTK (0: off).")
@click.option("--checkpoint-every", type=int, default=50, show_default=True,
              help="Steps between checkpoints.")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of parameters and sampler.")
@click.option("--reference-per-site", type=float, default=None,
              help="Published ground-state energy per site (e.g. QMC) to report the error "
                   "against, for lattices too large for Lanczos.")
@out_option(required=True)
@overwrite_option
def vmc(system, lx, ly, pbc, J, J1, J2, t, U, n_up, n_down, sz0, model, alpha, layers, features,
        cplx, marshall, sampler, chains, samples, discard, optimizer, lr, lr_end, diag_shift,
        diag_shift_end, steps, lens_every, checkpoint_every, seed, reference_per_site, out,
        overwrite):
    """Ground state of SYSTEM (tfim, heisenberg, j1j2, hubbard) by VMC on NetKet.

    Logs energy, variance, R-hat, autocorrelation time and acceptance every step
    (warns when R-hat > 1.1), the spectrum of the sample-space QS-NTK every
    --lens-every steps, checkpoints, metrics.json and figures in --out.
    Rerunning the same command resumes. Options that the chosen --model, --optimizer,
    system or sampler do not use (--diag-shift with sgd, --layers with rbm, --marshall
    on tfim, --discard with direct sampling, ...) are refused.

    \b
    Examples:
      qsntk vmc tfim --lx 4 --ly 4 --J 3.044 --model rbm --out runs/tfim
      qsntk vmc heisenberg --lx 4 --ly 4 --sz0 --marshall --out runs/heis
      qsntk vmc hubbard --lx 3 --ly 4 --n-up 2 --n-down 2 --U 4 --model backflow --out runs/hub
      qsntk vmc heisenberg --lx 10 --ly 10 --sz0 --marshall --reference-per-site -0.671549 --out h10
    """
    from qsntk.errors import InputError
    from qsntk.progress import progress_bar
    from qsntk.vmc import VMCConfig, run_vmc, validate

    given = {k for k, v in dict(alpha=alpha, layers=layers, features=features,
                                diag_shift=diag_shift, diag_shift_end=diag_shift_end,
                                discard=discard).items() if v is not None}
    if marshall:
        given.add("marshall")
    for k, why in _unused(system, model, optimizer).items():
        if k in given:
            raise InputError(f"{_FLAGS[k]} is not used by {why}; leave it out")
    alpha = 1.0 if alpha is None else alpha
    layers = 2 if layers is None else layers
    features = 8 if features is None else features
    diag_shift = 0.01 if diag_shift is None else diag_shift
    couplings = {k: v for k, v in dict(J=J, J1=J1, J2=J2, t=t, U=U).items() if v is not None}
    cfg = validate(VMCConfig(
        system=system, lx=lx, ly=ly, pbc=pbc, couplings=couplings, n_up=n_up, n_down=n_down,
        sz0=sz0, model=dict(name=model, alpha=alpha, layers=layers, features=features,
                            complex=cplx, marshall=marshall),
        sampler=sampler, n_chains=chains, n_samples=samples, n_discard=discard,
        optimizer=optimizer, lr=lr, lr_end=lr_end, diag_shift=diag_shift,
        diag_shift_end=diag_shift_end,
        steps=steps, lens_every=lens_every, checkpoint_every=checkpoint_every, seed=seed,
        reference_energy_per_site=reference_per_site))
    if discard is not None and cfg.sampler in ("direct", "exact"):
        raise InputError(f"--discard is not used by sampler {cfg.sampler!r} (independent "
                         "samples, no Markov chain); leave it out")
    summary = run_vmc(out, cfg, overwrite=overwrite, progress=progress_bar)
    say(f"results in {summary['out']}")
    for f in summary["figures"]:
        say(f"figure: {f}")
    print_json(summary)
