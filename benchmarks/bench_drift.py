"""Cost of ``qsntk supervised --drift``: :func:`qsntk.experiments.supervised.member_drift` per
member against its own parts, timed side by side in one run.

The parts are the two train-block kernels (structured GEMM path, float64) and the two
eigendecompositions of size 2|B|; everything else (outputs, the twin's residual, Rayleigh
quotients, the split) should be small next to them. The members are the paper's pair on the
``tfim-quench`` train set, trained for ``--steps`` GD steps at 0.9 η_max of their own kernel.

Usage::

    .venv/bin/python benchmarks/bench_drift.py [--width 5000] [--train 2400] [--repeats 3]

Prints a table and writes ``benchmarks/results/drift.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "drift.json"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=5000)
    ap.add_argument("--train", type=int, default=2400)
    ap.add_argument("--members", type=int, default=1, help="members trained (the first is timed)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=20)
    args = ap.parse_args()

    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    from qsntk.dynamics import ensemble as ens
    from qsntk.dynamics.linearized import eigh
    from qsntk.dynamics.supervised import random_split
    from qsntk.experiments.supervised import load_target, member_drift
    from qsntk.kernels import real_blocks
    from qsntk.kernels.spectrum import omega_ri_matrix, symmetric_eigenvalues
    from qsntk.nets import paper_pair

    target = load_target("tfim-quench")
    split = random_split(target.n_states, args.train, seed=0)
    x, y = target.x[split.train], target.psi[split.train]
    model = paper_pair(args.width)
    p0 = ens.init_ensemble(model, x.shape[1], args.members, key=jax.random.PRNGKey(0), dtype=jnp.float32)
    lam = float(np.max(ens.top_ntk_eigenvalue(model.apply, p0, jnp.asarray(x, jnp.float32),
                                              key=jax.random.PRNGKey(1))))
    eta = 0.9 * args.train / lam
    p1 = ens.structured_gd_fn(model, jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.complex64),
                              eta)(p0, args.steps)

    pick = lambda p, e: jax.tree_util.tree_map(lambda a: jnp.asarray(a[e], jnp.float64), p)  # noqa: E731
    xd = jnp.asarray(x, jnp.float64)
    first = lambda p: jax.tree_util.tree_map(lambda a: a[:1], p)  # noqa: E731

    def whole():                 # member_drift of one member
        member_drift(model, first(p0), first(p1), x, y, eta, args.steps)

    K = []

    def kernels():               # the two train-block kernels it forms
        K[:] = [omega_ri_matrix(np.asarray(real_blocks(model, pick(p, 0), xd))) for p in (p0, p1)]

    def eigs():                  # and their two eigendecompositions
        eigh(K[0])
        symmetric_eigenvalues(K[1])

    # Warm every part at the timed shapes first, so no timing includes a compilation; then
    # --repeats interleaved rounds, medians.
    parts = {"whole": whole, "kernels": kernels, "eigs": eigs}
    for f in parts.values():
        f()
    times = {k: [] for k in parts}
    for _ in range(args.repeats):
        for k, f in parts.items():
            t = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t)
    total, kernels_s, eigs_s = (float(np.median(times[k])) for k in ("whole", "kernels", "eigs"))

    rows = [("member_drift, per member", total), ("two train-block kernels", kernels_s),
            ("two eigendecompositions (2|B|)", eigs_s), ("rest", total - kernels_s - eigs_s)]
    print(f"member_drift: width {args.width}, |B| = {args.train}, one member, float64, "
          f"medians of {args.repeats} interleaved rounds")
    print(f"{'part':34s} {'s':>8s} {'of total':>9s}")
    for name, s in rows:
        print(f"{name:34s} {s:8.2f} {100 * s / total:8.0f} %")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"args": vars(args), "seconds": dict(rows), "seconds_all": times,
                               "command": " ".join([Path(sys.argv[0]).as_posix()] + sys.argv[1:])},
                              indent=2) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
