"""Accuracy of VMC ground states against exact diagonalization (issue 6 targets).

Each case runs ``qsntk.vmc.run_vmc`` into ``runs/vmc-accuracy/<case>`` (resumable:
rerunning continues where it stopped) and compares, side by side, with the
Lanczos ground-state energy of the same Hamiltonian (``qsntk.physics``):

* ``rel_error_full_sum``: |E_var − E0|/|E0| with E_var = ⟨ψ|H|ψ⟩/⟨ψ|ψ⟩ of the
  final network evaluated exactly on the full basis (no Monte-Carlo noise);
* ``rel_error_last10pct``: the same with the mean Monte-Carlo energy of the last
  10 % of the steps.

=================  =========================================  ======
case               system                                     target
=================  =========================================  ======
``tfim``           TFIM 4×4 periodic, J = 3.044               1e-3
``heisenberg``     Heisenberg 4×4 periodic, Sᶻ = 0            1e-3
``j1j2``           J1–J2 4×4 periodic, J2 = 0.5, Sᶻ = 0       1e-2
``hubbard``        Hubbard 3×4 periodic, 2↑2↓, U = 4          2e-2
=================  =========================================  ======

Usage::

    .venv/bin/python benchmarks/bench_vmc_accuracy.py [--case tfim ...] [--quick]

Prints a table and writes ``benchmarks/results/vmc_accuracy.json`` (merged per case).
``--quick`` runs 20 steps of each case (a smoke test; not a result).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "vmc_accuracy.json"

#: case -> (VMCConfig keyword arguments, target relative error)
CASES = {
    "tfim": (dict(system="tfim", lx=4, ly=4, couplings={"J": 3.044},
                  model={"name": "rbm", "alpha": 2.0}, n_chains=128, n_samples=1024, lr=0.05,
                  diag_shift=0.01, steps=300, seed=0), 1e-3),
    "heisenberg": (dict(system="heisenberg", lx=4, ly=4, sz0=True,
                        model={"name": "rbm", "alpha": 2.0, "marshall": True, "complex": True},
                        n_chains=128, n_samples=4096, lr=0.02, lr_end=0.005, diag_shift=0.01,
                        diag_shift_end=1e-4, steps=800, seed=0), 1e-3),
    # ψ = Marshall sign × a positive space-group-symmetric RBM (4 features, 69 parameters):
    # the best such positive state lies at most 4.5e-3 above E0 (benchmarks/marshall_floor.py)
    "j1j2": (dict(system="j1j2", lx=4, ly=4, sz0=True, couplings={"J2": 0.5},
                  model={"name": "rbmsymm", "alpha": 32.0, "marshall": True, "complex": False},
                  n_chains=128, n_samples=2048, lr=0.02, lr_end=0.005, diag_shift=0.01,
                  diag_shift_end=1e-4, steps=600, seed=0), 1e-2),
    "hubbard": (dict(system="hubbard", lx=3, ly=4, n_up=2, n_down=2, couplings={"U": 4.0},
                     model={"name": "backflow", "alpha": 1.0}, n_chains=128, n_samples=1024,
                     lr=0.02, diag_shift=0.01, diag_shift_end=1e-4, steps=200, seed=0), 2e-2),
}


def run_case(name: str, quick: bool = False) -> dict:
    from qsntk.progress import progress_bar
    from qsntk.vmc import VMCConfig, run_vmc

    kw, target = CASES[name]
    kw = dict(kw)
    if quick:
        kw["steps"] = 20
    out = ROOT / "runs" / ("vmc-accuracy-quick" if quick else "vmc-accuracy") / name
    t0 = time.perf_counter()
    res = run_vmc(out, VMCConfig(**kw), progress=progress_bar)
    m = json.loads((out / "metrics.json").read_text())
    wall = m.get("history", {}).get("wall", [])
    return {"case": name, "config": kw, "target": target, "out": str(out.relative_to(ROOT)),
            "exact_energy": m["exact_energy"], "final_energy_full_sum": m.get("final_energy_full_sum"),
            "rel_error_full_sum": m.get("rel_error_full_sum"),
            "final_fidelity": m.get("final_fidelity"),
            "energy_last10pct": m["energy_last10pct"],
            "energy_last10pct_error": m["energy_last10pct_error"],
            "rel_error_last10pct": m["rel_error_last10pct"],
            "n_parameters": m["n_parameters"], "sr_form": m["sr_form"],
            "sampler": m["sampler"], "steps": m["steps"],
            "seconds_per_step": (wall[-1] / len(wall)) if wall else None,
            # this call only (a resumed run is shorter); seconds_per_step is the run's own
            "wall_s_this_call": time.perf_counter() - t0,
            "pass": (m.get("rel_error_full_sum") is not None
                     and m["rel_error_full_sum"] <= target),
            "figures": [Path(f).relative_to(ROOT).as_posix() for f in res["figures"]]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--case", action="append", choices=sorted(CASES),
                    help="case to run (repeatable; default all)")
    ap.add_argument("--quick", action="store_true", help="20 steps per case (smoke test)")
    args = ap.parse_args(argv)
    names = args.case or list(CASES)
    rows = [run_case(n, args.quick) for n in names]
    print(f"{'case':<11} {'E0':>14} {'E_var (full sum)':>17} {'rel.err':>9} {'target':>7} "
          f"{'fidelity':>9} {'s/step':>7} pass")
    for r in rows:
        print(f"{r['case']:<11} {r['exact_energy']:>14.8f} {r['final_energy_full_sum']:>17.8f} "
              f"{r['rel_error_full_sum']:>9.2e} {r['target']:>7.0e} {r['final_fidelity']:>9.5f} "
              f"{r['seconds_per_step']:>7.3f} {r['pass']}")
    if not args.quick:
        data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {"cases": {}}
        data["machine"] = {"platform": platform.platform(), "cpus": os.cpu_count(),
                           "python": sys.version.split()[0]}
        for r in rows:
            data["cases"][r["case"]] = r
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(data, indent=2) + "\n")
        print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
