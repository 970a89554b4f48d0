"""How far the Marshall sign alone can take a positive wavefunction (Heisenberg, J1–J2 4×4).

A real RBM (or any real-valued log-amplitude network) times the Marshall sign
(−1)^(down spins on sublattice A) is ψ = M|φ| with M the diagonal sign matrix:
its best energy is min over φ ≥ 0 of φᵀ(M H M)φ / φᵀφ. This script bounds that
minimum from above by projected gradient descent on the unit sphere's
non-negative orthant, started from the exact |ψ0|, and prints, per system:

* the weight of the exact ground state ψ0 on configurations whose sign agrees
  with Marshall's;
* the relative error of M|ψ0| (exact amplitudes, Marshall sign);
* the relative error of the best non-negative state found (a local optimum,
  so an upper bound on the floor of every such model: the floor is at most
  this; a network may land below the state found, never below the floor).

Usage::

    .venv/bin/python benchmarks/marshall_floor.py [--iters 3000]

Prints a table and writes ``benchmarks/results/marshall_floor.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "marshall_floor.json"

CASES = {"heisenberg": {}, "j1j2": {"J2": 0.5}}


def marshall_sign(system) -> np.ndarray:
    """(−1)^(number of down spins on sublattice A, x + y even), per basis state."""
    from qsntk.vmc.models import sublattice_a

    sub_a = sublattice_a(system)
    return (-1.0) ** np.sum(system.basis()[:, sub_a] == -1, axis=1)


def best_nonnegative(Hm, x0: np.ndarray, iters: int, step: float = 0.05) -> np.ndarray:
    """Projected gradient descent of the Rayleigh quotient of Hm over x ≥ 0, |x| = 1."""
    x = np.maximum(x0, 0.0)
    x /= np.linalg.norm(x)
    for _ in range(iters):
        hx = Hm @ x
        x = np.maximum(x - step * (hx - (x @ hx) * x), 0.0)
        x /= np.linalg.norm(x)
    return x


def run_case(name: str, couplings: dict, iters: int) -> dict:
    import scipy.sparse as sp

    from qsntk.physics import lowest_states, make_system

    s = make_system(name, lx=4, ly=4, sz0=True, **couplings)
    H = s.sparse_hamiltonian()
    E, V = lowest_states(H, 1)
    E0, g = float(E[0]), V[:, 0]
    m = marshall_sign(s)
    if (g * m).sum() < 0:
        g = -g
    agree = float(np.sum(g[g * m > 0] ** 2))
    psi = np.abs(g) * m
    e_abs = float(psi @ (H @ psi))
    Hm = sp.diags(m) @ H @ sp.diags(m)
    x = best_nonnegative(Hm, np.abs(g), iters)
    e_best = float(x @ (Hm @ x))
    rel = lambda e: abs(e - E0) / abs(E0)  # noqa: E731
    return {"system": s.describe(), "E0": E0, "marshall_weight": agree,
            "energy_marshall_abs_gs": e_abs, "rel_error_marshall_abs_gs": rel(e_abs),
            "energy_best_nonnegative": e_best, "rel_error_best_nonnegative": rel(e_best),
            "iters": iters}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--iters", type=int, default=3000)
    args = ap.parse_args(argv)
    rows = {n: run_case(n, c, args.iters) for n, c in CASES.items()}
    print(f"{'system':<11} {'E0':>11} {'Marshall weight':>16} {'err M|psi0|':>12} "
          f"{'err best >= 0':>14}")
    for n, r in rows.items():
        print(f"{n:<11} {r['E0']:>11.6f} {r['marshall_weight']:>16.6f} "
              f"{r['rel_error_marshall_abs_gs']:>12.2e} {r['rel_error_best_nonnegative']:>14.2e}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
