"""``qsntk exact`` and ``qsntk target``: exact diagonalization and quench targets."""

from __future__ import annotations

import os
from pathlib import Path

import click

from qsntk.cli._common import print_json, say


def _coupling_options(f):
    """--J, --J1, --J2, --U, --t (only the ones given are passed on)."""
    for name, text in reversed([("J", "tfim field / heisenberg exchange"),
                                ("J1", "j1j2 nearest-neighbour exchange"),
                                ("J2", "j1j2 next-nearest-neighbour exchange"),
                                ("U", "hubbard on-site repulsion"),
                                ("t", "hubbard hopping")]):
        f = click.option(f"--{name}", name, type=float, default=None, help=text)(f)
    return f


def _lattice_options(lx_default, ly_default):
    def wrap(f):
        f = click.option("--sz0", is_flag=True, help="Spin systems: total Sz = 0 sector.")(f)
        f = click.option("--n-down", "n_down", type=int, default=None, help="hubbard: N↓.")(f)
        f = click.option("--n-up", "n_up", type=int, default=None, help="hubbard: N↑.")(f)
        f = click.option("--pbc/--obc", "pbc", default=None,
                         help="Periodic (default) or open boundaries.")(f)
        f = click.option("--ly", type=int, default=ly_default, show_default=ly_default is not None,
                         help="Lattice side Ly (1: chain).")(f)
        f = click.option("--lx", type=int, default=lx_default, help="Lattice side Lx.")(f)
        return f
    return wrap


def _given(**kw):
    return {k: v for k, v in kw.items() if v is not None}


@click.command(short_help="Exact low-lying energies of a system (Lanczos)")
@click.argument("system")
@_lattice_options(None, 1)
@_coupling_options
@click.option("--k", "k", type=int, default=1, show_default=True,
              help="Number of lowest eigenvalues.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def exact(system, lx, ly, pbc, n_up, n_down, sz0, J, J1, J2, U, t, k, as_json):
    """Exact ground-state (and low excited) energies of SYSTEM by Lanczos.

    SYSTEM is tfim, heisenberg, j1j2 or hubbard (see docs/physics.md).

    \b
    Examples:
      qsntk exact heisenberg --lx 4 --ly 4 --sz0 --json
      qsntk exact hubbard --lx 3 --ly 4 --n-up 2 --n-down 2 --U 4 --k 3
    """
    import time

    from qsntk.errors import InputError, check_int_at_least
    from qsntk.physics import lowest_states, make_system

    if lx is None:
        raise InputError("--lx is required")
    sys_ = make_system(system, lx=lx, ly=ly, pbc=True if pbc is None else pbc,
                       n_up=n_up, n_down=n_down, sz0=sz0,
                       **_given(J=J, J1=J1, J2=J2, U=U, t=t))
    k = check_int_at_least("k", k, 1)
    if k > sys_.dim:
        raise InputError(f"--k {k} exceeds the Hilbert-space dimension {sys_.dim}")
    t0 = time.perf_counter()
    energies, _ = lowest_states(sys_.sparse_hamiltonian(), k)
    seconds = time.perf_counter() - t0
    e0 = float(energies[0])
    result = {**sys_.describe(), "E0": e0, "E0_per_site": e0 / sys_.n_sites,
              "energies": [float(e) for e in energies], "seconds": round(seconds, 4)}
    if as_json:
        print_json(result)
        return
    sector = (f"N_up={sys_.n_up} N_down={sys_.n_down}" if sys_.is_fermionic
              else ("Sz=0" if sys_.sz0 else "full space"))
    couplings = " ".join(f"{key}={val:g}" for key, val in sys_.couplings.items())
    click.echo(f"{system} {lx}x{ly} {'periodic' if sys_.pbc else 'open'}  {couplings}  {sector}")
    click.echo(f"  dim          {sys_.dim}")
    for i, e in enumerate(energies):
        click.echo(f"  E{i:<11d} {e:.10f}")
    click.echo(f"  E0/site      {e0 / sys_.n_sites:.10f}")
    click.echo(f"  time         {seconds:.3f} s")


def check_writable(path: str) -> Path:
    """Refuse, before any work, an output file that cannot be written."""
    from qsntk.errors import InputError

    p = Path(path)
    if p.is_dir():
        raise InputError(f"cannot write {path!r}: it is a directory")
    parent = p.parent if str(p.parent) else Path(".")
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"cannot write {path!r}: {str(parent)!r} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK) or (p.exists() and not os.access(p, os.W_OK)):
        raise InputError(f"cannot write {path!r}: permission denied")
    return p


@click.command(short_help="Write a target wavefunction to an .npz file")
@click.argument("name")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="Output file, ending in .npz (written atomically).")
@_lattice_options(None, None)
@_coupling_options
@click.option("--tau", type=float, default=None, help="Evolution time (preset: 2.1).")
@click.option("--initial", type=str, default=None,
              help="Initial state: plus (|+>^N) or ground (ground state at --from couplings).")
@click.option("--from", "from_", multiple=True, metavar="NAME=VALUE",
              help="A coupling of the initial ground-state Hamiltonian, e.g. --from U=4.")
@click.option("--overwrite", is_flag=True, help="Replace an existing --out file.")
def target(name, out, lx, ly, pbc, n_up, n_down, sz0, J, J1, J2, U, t, tau, initial, from_,
           overwrite):
    """Write the target wavefunction NAME to --out (.npz with x, psi, basis, meta).

    NAME is a preset of Luo–Halverson sec. 6 (tfim-quench, hubbard-quench;
    periodic unless --obc; options given override the preset) or a system
    (tfim, heisenberg, j1j2, hubbard) for a custom quench psi = exp(-i H tau) psi0.

    \b
    Examples:
      qsntk target hubbard-quench --out hubbard.npz
      qsntk target tfim-quench --obc --out tfim_obc.npz
      qsntk target tfim --lx 8 --J 1.5 --tau 1.0 --out chain.npz
      qsntk target hubbard --lx 4 --n-up 1 --n-down 1 --U 6 --from U=2 --tau 0.5 --out h.npz
    """
    from qsntk.errors import InputError
    from qsntk.physics.targets import quench_target, target_system

    if not out.endswith(".npz"):        # what --target of supervised and kernel reads
        raise InputError(f"--out must end in .npz, got {out!r}")
    initial_couplings = None
    if from_:
        initial_couplings = {}
        for item in from_:
            key, sep, value = item.partition("=")
            if not sep:
                raise InputError(f"--from needs NAME=VALUE, got {item!r}")
            try:
                initial_couplings[key.strip()] = float(value)
            except ValueError:
                raise InputError(f"--from {key.strip()} must be a number, got {value!r}") from None
    system, settings = target_system(name, pbc=pbc, tau=tau, lx=lx, ly=ly, n_up=n_up,
                                     n_down=n_down, sz0=sz0, initial=initial,
                                     initial_couplings=initial_couplings,
                                     **_given(J=J, J1=J1, J2=J2, U=U, t=t))
    check_writable(out)
    if Path(out).exists() and not overwrite:
        raise InputError(f"{out!r} exists; use --overwrite to replace it")
    result = quench_target(system, **settings)
    result.save(out)
    meta = result.meta
    say(f"{name}: {result.n_states} amplitudes, {meta['system']} {meta['lx']}x{meta['ly']} "
        f"{'periodic' if meta['pbc'] else 'open'}, tau={meta['tau']:g}, "
        f"<H>={meta['energy']:.10f} -> {out}")
