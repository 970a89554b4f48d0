"""Infinite-width energy flow vs full-sum gradient descent of wide finite networks.

On the full basis of TFIM 3×4 (J = 1, 4096 states) and Heisenberg 4×4 (Sᶻ = 0,
12870 states), both periodic, with the paper's pair ψ = ψ1 + iψ2 of
one-hidden-layer ReLU networks (``qsntk.nets.paper_pair``, NTK parameterization):

* ``finite``   — exact full-sum gradient descent θ ← θ − η∇θ⟨H⟩ (JAX) at widths
  100, 1000, 5000, from the network's own initialization;
* ``infinite`` — dψ/dτ = −[Θ ∂L/∂ψ + Φ ∂L/∂ψ*] (eq. 9 of Luo–Halverson, L = ⟨H⟩)
  with the frozen infinite-width QS-NTK (Θ = 0, Φ = 2Θ_∞ for the decoupled pair),
  integrated by DOP853 from the same initial function, at the same τ = nη.

Energy and fidelity to the exact ground state against τ, the largest energy
gap between the two per width, a table, ``benchmarks/results/vmc_flow.json`` and
``benchmarks/results/vmc_flow.png``.

Usage::

    .venv/bin/python benchmarks/bench_vmc_flow.py [--case tfim --case heisenberg] [--widths 100,1000,5000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"

CASES = {
    "tfim": dict(system=dict(name="tfim", lx=3, ly=4, J=1.0), eta=0.05, steps=60, every=10),
    "heisenberg": dict(system=dict(name="heisenberg", lx=4, ly=4, sz0=True), eta=0.05,
                       steps=100, every=10),
}


def run_case(name: str, widths, seed: int = 0) -> dict:
    import jax
    import jax.numpy as jnp

    from qsntk.kernels import kernel_fn_for
    from qsntk.nets import paper_pair
    from qsntk.physics import ground_state, make_system
    from qsntk.vmc.flow import finite_energy_gd, infinite_energy_flow, trajectory_summary

    c = CASES[name]
    sys_kw = dict(c["system"])
    s = make_system(sys_kw.pop("name"), **sys_kw)
    H = s.sparse_hamiltonian()
    E0, g = ground_state(H)
    x = s.encode()
    out = {"system": s.describe(), "E0": E0, "eta": c["eta"], "steps": c["steps"], "widths": {}}
    K = None
    for w in widths:
        model = paper_pair(w)
        if K is None:      # the infinite kernel does not depend on the width
            t0 = time.perf_counter()
            K = 2.0 * np.asarray(kernel_fn_for(model.re)(x, x, get="ntk"))     # Φ = Θ1 + Θ2
            out["kernel_s"] = time.perf_counter() - t0
        params = model.init(jax.random.PRNGKey(seed), jnp.asarray(x[:2]))
        t0 = time.perf_counter()
        taus, psis = finite_energy_gd(model, params, x, H, eta=c["eta"], steps=c["steps"],
                                      record_every=c["every"])
        t_fin = time.perf_counter() - t0
        t0 = time.perf_counter()
        inf = infinite_energy_flow(H, K, psis[0], taus)
        t_inf = time.perf_counter() - t0
        a, b = trajectory_summary(H, psis, g), trajectory_summary(H, inf, g)
        out["widths"][str(w)] = {
            "tau": taus.tolist(), "energy_finite": a["energy"].tolist(),
            "energy_infinite": b["energy"].tolist(), "fidelity_finite": a["fidelity"].tolist(),
            "fidelity_infinite": b["fidelity"].tolist(),
            "max_energy_gap": float(np.abs(a["energy"] - b["energy"]).max()),
            "max_fidelity_gap": float(np.abs(a["fidelity"] - b["fidelity"]).max()),
            "finite_s": t_fin, "infinite_s": t_inf}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--case", action="append", choices=sorted(CASES))
    ap.add_argument("--widths", default="100,1000,5000")
    args = ap.parse_args(argv)
    widths = [int(w) for w in args.widths.split(",")]
    names = args.case or list(CASES)
    res = {n: run_case(n, widths) for n in names}
    print(f"{'case':<11} {'width':>6} {'E_fin(end)':>11} {'E_inf(end)':>11} {'E0':>11} "
          f"{'F_fin(end)':>10} {'F_inf(end)':>10} {'max|dE|':>9}")
    for n, r in res.items():
        for w, v in r["widths"].items():
            print(f"{n:<11} {w:>6} {v['energy_finite'][-1]:>11.5f} {v['energy_infinite'][-1]:>11.5f} "
                  f"{r['E0']:>11.5f} {v['fidelity_finite'][-1]:>10.5f} {v['fidelity_infinite'][-1]:>10.5f} "
                  f"{v['max_energy_gap']:>9.2e}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    f = RESULTS / "vmc_flow.json"
    old = json.loads(f.read_text()) if f.exists() else {}
    old.update(res)
    f.write_text(json.dumps(old, indent=2) + "\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(old), 2, figsize=(10, 3.6 * len(old)), squeeze=False)
    for row, (n, r) in zip(axes, old.items()):
        for w, v in r["widths"].items():
            line, = row[0].plot(v["tau"], v["energy_finite"], "o", ms=3, label=f"width {w}")
            row[0].plot(v["tau"], v["energy_infinite"], "-", color=line.get_color(), lw=1)
            row[1].plot(v["tau"], v["fidelity_finite"], "o", ms=3, color=line.get_color())
            row[1].plot(v["tau"], v["fidelity_infinite"], "-", color=line.get_color(), lw=1)
        row[0].axhline(r["E0"], color="k", ls=":", lw=0.8)
        row[0].set_title(f"{n}: energy (dots finite GD, lines infinite flow)")
        row[1].set_title(f"{n}: fidelity to the ground state")
        row[0].set_xlabel("tau")
        row[1].set_xlabel("tau")
        row[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(RESULTS / "vmc_flow.png", dpi=120)
    print(f"wrote {f.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
