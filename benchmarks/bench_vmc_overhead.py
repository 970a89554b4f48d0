"""Overhead of qsntk's VMC driver over plain NetKet, and of the tangent-kernel lens.

One model and sampler (default: Heisenberg 4×4, Sᶻ = 0, complex RBM α = 1,
MetropolisExchange with 128 chains, 1024 samples, SR with diagonal shift 0.01),
side by side in one process, rounds interleaved:

* ``netket``  — plain NetKet: ``MCState`` + ``nk.driver.VMC_SR`` built here with
  NetKet's API only, ``driver.run(n, out=RuntimeLog())``;
* ``qsntk``   — ``qsntk.vmc.run_vmc`` on the same settings, lens off
  (per-step diagnostics, R̂ check, checkpoints every 50 steps, metrics JSON);
* ``qsntk+lens`` — the same with the lens every 10 steps.

Time per iteration: (t_end − t_start)/(n − warm) over the steps after ``warm``
warm-up steps (step-end timestamps from a callback on the NetKet side, from
the logged ``wall`` on the qsntk side), averaged so that the lens steps count
at their true frequency. Ratios use the median over rounds. Targets: qsntk/netket
≤ 1.05, (qsntk+lens)/qsntk ≤ 1.10.

Usage::

    .venv/bin/python benchmarks/bench_vmc_overhead.py [--steps 60] [--rounds 3]

Prints a table and writes ``benchmarks/results/vmc_overhead.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "vmc_overhead.json"

SETTINGS = dict(system="heisenberg", lx=4, ly=4, sz0=True, model={"name": "rbm", "alpha": 1.0},
                sampler="exchange", n_chains=128, n_samples=1024, optimizer="sr", lr=0.02,
                diag_shift=0.01, seed=0)


def plain_netket(steps: int, warm: int) -> float:
    """Seconds per iteration of plain NetKet on SETTINGS (built without qsntk.vmc)."""
    import netket as nk
    import optax

    from qsntk.physics import make_system

    s = make_system("heisenberg", lx=4, ly=4, sz0=True)          # same H as NetKet's own ops
    sampler = nk.sampler.MetropolisExchange(s.hilbert, graph=s.graph, n_chains=128)
    model = nk.models.RBM(alpha=1.0, param_dtype=complex)
    vs = nk.vqs.MCState(sampler, model, n_samples=1024, seed=0, sampler_seed=1)
    with contextlib.redirect_stdout(io.StringIO()):
        drv = nk.driver.VMC_SR(s.operator, optax.sgd(0.02), diag_shift=0.01, variational_state=vs)
    stamps = []

    def stamp(step, log, driver):
        stamps.append(time.perf_counter())
        return True

    drv.run(steps, out=nk.logging.RuntimeLog(), show_progress=False, callback=stamp)
    return (stamps[-1] - stamps[warm - 1]) / (steps - warm)


def qsntk_run(steps: int, warm: int, lens_every: int) -> float:
    from qsntk.vmc import VMCConfig, run_vmc

    with tempfile.TemporaryDirectory() as d:
        cfg = VMCConfig(**SETTINGS, steps=steps, lens_every=lens_every, checkpoint_every=50)
        run_vmc(Path(d) / "r", cfg, exact=False, final_full_sum=False)
        m = json.loads((Path(d) / "r" / "metrics.json").read_text())
    wall = np.asarray(m["history"]["wall"], dtype=float)
    return float((wall[-1] - wall[warm - 1]) / (steps - warm))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--warm", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    if (args.steps - args.warm) % 10:
        ap.error("steps - warm must be a multiple of 10 (the lens period)")
    plain_netket(args.warm + 2, args.warm)           # compile everything once
    qsntk_run(args.warm + 2, args.warm, 10)
    rows = {"netket": [], "qsntk": [], "qsntk+lens": []}
    for _ in range(args.rounds):
        rows["netket"].append(plain_netket(args.steps, args.warm))
        rows["qsntk"].append(qsntk_run(args.steps, args.warm, 0))
        rows["qsntk+lens"].append(qsntk_run(args.steps, args.warm, 10))
    med = {k: statistics.median(v) for k, v in rows.items()}
    ratio = med["qsntk"] / med["netket"]
    lens_ratio = med["qsntk+lens"] / med["qsntk"]
    print(f"{'driver':<12} {'s/iter (median)':>16} {'rounds':>40}")
    for k, v in rows.items():
        print(f"{k:<12} {med[k]:>16.4f} {', '.join(f'{x:.4f}' for x in v):>40}")
    print(f"qsntk / netket          = {ratio:.3f}  (target <= 1.05)")
    print(f"(qsntk+lens) / qsntk    = {lens_ratio:.3f}  (target <= 1.10)")
    out = {"settings": SETTINGS, "steps": args.steps, "warm": args.warm, "rounds": args.rounds,
           "seconds_per_iteration": rows, "median": med, "ratio_qsntk_over_netket": ratio,
           "ratio_lens_over_qsntk": lens_ratio, "pass": ratio <= 1.05 and lens_ratio <= 1.10,
           "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                       "python": sys.version.split()[0]}}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
