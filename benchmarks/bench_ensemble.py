"""One ensemble GD step (10 members, width 5000, 4000 train points, float32) against the GEMM rate.

Issue 4's target: the step runs at >= 60% of this machine's float32 GEMM throughput, measured in
the same run. The step's work is counted as the FLOPs a dense implementation must do per
network (20 networks: 10 real–imaginary pairs): the forward GEMM (n x 13 x N, inputs plus
bias column), the read-out reduction (2nN), the backward mask GEMM (13 x n x N) and the
read-out gradient (2nN). ``--ablation`` also times the parts of the chunk body alone, each
against its own FLOPs. The native fused kernel (``qsntk/native/pair_gd.cc``, what
``structured_gd_fn`` runs on a CPU where it is built) is timed first; the XLA structured
step (``native=False``) is timed twice in the same run: networks
split over one XLA CPU device per core (what ``qsntk supervised`` uses, see
``qsntk.hostdevices``) and all on one device. Also timed: the generic autodiff path
(``gd_fn``) on the same problem.

Usage::

    .venv/bin/python benchmarks/bench_ensemble.py [--members 10] [--width 5000] [--train 4000]

Prints a table and writes ``benchmarks/results/ensemble_step.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "ensemble_step.json"


def _ablation(part: str, x, y, G: int, N: int, chunks: str):
    """A ``gd(params, n_steps)``-like callable that runs only one part of the structured
    step's chunk body for ``G`` networks (one device, the first chunk size of ``chunks``):
    the forward GEMM ``z = [x, 1] W`` (z is the loop carry, so all of it is computed); that
    plus the read-out ``sum_j relu(z) w2``; or the backward mask GEMM ``[x d, d]^T mask``
    with one fixed random 0/1 mask chunk (no elementwise pass). Where the full step's time
    goes: its two GEMMs against the rest. Returns ``(callable, FLOPs of the part)``."""
    import jax
    import jax.numpy as jnp

    from qsntk.dynamics.ensemble import chunk_rows

    c = int(chunks.split(",")[0])
    m, c = chunk_rows(x.shape[0], c)
    xa = jnp.concatenate([x, jnp.ones((x.shape[0], 1), x.dtype)], axis=1)
    pad = m * c - x.shape[0]
    xs = jnp.pad(xa, ((0, pad), (0, 0))).reshape(m, c, -1)
    ys = jnp.pad(y, (0, pad)).reshape(m, c)
    key = jax.random.PRNGKey(1)
    W = 0.3 * jax.random.normal(key, (G, xa.shape[1], N), jnp.float32)
    w2 = 0.01 * jax.random.normal(jax.random.fold_in(key, 1), (G, N), jnp.float32)
    mask = (jax.random.normal(jax.random.fold_in(key, 2), (c, N)) > 0).astype(jnp.float32)
    d, n = xa.shape[1], m * c

    def one(Wa, w2):
        if part == "backward mask GEMM":
            def body(acc, data):
                xc, yc = data
                return acc + (xc * yc[:, None]).T @ mask, None
            init = jnp.zeros_like(Wa)
        elif part == "forward GEMM":
            def body(z, data):
                return data[0] @ Wa, None
            init = jnp.zeros((c, N), Wa.dtype)
        else:
            def body(acc, data):
                z = data[0] @ Wa
                return acc + jnp.sum(jnp.maximum(z, 0) * w2, axis=1), None
            init = jnp.zeros((c,), Wa.dtype)
        out, _ = jax.lax.scan(body, init, (xs, ys))
        return out

    f = jax.jit(lambda W, w2: jax.lax.map(lambda a: one(*a), (W, w2)))
    flop = G * 2 * n * d * N + (G * 2 * n * N if part == "forward GEMM + read-out" else 0)
    return (lambda params, n_steps: [f(W, w2) for _ in range(n_steps)][-1]), flop


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=10)
    ap.add_argument("--width", type=int, default=5000)
    ap.add_argument("--train", type=int, default=4000)
    ap.add_argument("--steps", type=int, default=3, help="steps per timed call")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--chunks", default="64,100,128", help="row chunks to try (structured path)")
    ap.add_argument("--no-generic", action="store_true", help="skip the slow autodiff path")
    ap.add_argument("--out", default=str(OUT), help="JSON to write (default: %(default)s)")
    ap.add_argument("--ablation", action="store_true",
                    help="also time the parts of one chunk body alone (one device)")
    args = ap.parse_args()

    from qsntk.hostdevices import expose_host_cores

    expose_host_cores()
    import jax
    import jax.numpy as jnp

    from qsntk.dynamics import ensemble as ens
    from qsntk.dynamics.supervised import random_split
    from qsntk.nets import paper_pair
    from qsntk.physics.targets import make_target

    t = make_target("tfim-quench")
    pb = ens.make_problem(t.x, t.psi, random_split(t.n_states, args.train, seed=0))
    model = paper_pair(args.width)
    params = ens.init_ensemble(model, 12, args.members, key=jax.random.PRNGKey(0))

    def per_step(gd):
        p = jax.block_until_ready(gd(params, 1))
        ts = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            p = jax.block_until_ready(gd(p, args.steps))
            ts.append((time.perf_counter() - t0) / args.steps)
        return float(np.median(ts))

    # the device's float32 GEMM rate at its default matmul precision (what the step gets too):
    # 2048^3 on a CPU; on an accelerator 8192^3 so that one product is not dispatch-bound
    backend = jax.default_backend()
    gn = 2048 if backend == "cpu" else 8192
    A = jnp.asarray(np.random.default_rng(0).normal(size=(gn, gn)), jnp.float32)
    mm = jax.jit(lambda A: A @ A)

    def gemm_rate():
        jax.block_until_ready(mm(A))
        ts = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            jax.block_until_ready(mm(A))
            ts.append(time.perf_counter() - t0)
        return 2 * gn**3 / float(np.median(ts))

    n, N, G = args.train, args.width, 2 * args.members
    flop = G * (2 * n * 13 * N + 2 * n * N + 2 * 13 * n * N + 2 * n * N)
    rows, res = [], {"members": args.members, "width": N, "train": n, "flop_per_step": flop,
                 "devices": len(jax.devices()), "backend": backend, "gemm_n": gn,
                 "matmul_precision": str(jax.config.jax_default_matmul_precision),
                 "args": {k: v for k, v in vars(args).items() if k != "out"},
                 "command": " ".join([Path(sys.argv[0]).as_posix()] + sys.argv[1:]),
                 "load_1min_start": os.getloadavg()[0]}
    rate0 = gemm_rate()
    nd = len(jax.devices())
    import qsntk.native

    if qsntk.native.available():     # the fused kernel (the default on a CPU), one call
        s = per_step(ens.structured_gd_fn(model, pb.x_train, pb.y_train, 1.0, native=True))
        rows.append(("native kernel (pair_gd.cc)", s))
    else:
        print(f"native kernel not available: {qsntk.native.why_not()}")
    res["native_why_not"] = qsntk.native.why_not()
    for c in [int(v) for v in args.chunks.split(",")]:
        s = per_step(ens.structured_gd_fn(model, pb.x_train, pb.y_train, 1.0, chunk=c,
                                          native=False))
        rows.append((f"structured XLA, chunk {c}, {nd} devices", s))
        if nd > 1:
            s = per_step(ens.structured_gd_fn(model, pb.x_train, pb.y_train, 1.0, chunk=c,
                                              devices=jax.devices()[:1], native=False))
            rows.append((f"structured XLA, chunk {c}, 1 device", s))
    part_flop = {}
    if args.ablation:
        for part in ("forward GEMM", "forward GEMM + read-out", "backward mask GEMM"):
            fn, part_flop[f"ablation: {part} only"] = _ablation(part, pb.x_train, pb.y_train.real,
                                                                 G, N, args.chunks)
            rows.append((f"ablation: {part} only", per_step(fn)))
    if not args.no_generic:
        s_gen = per_step(ens.gd_fn(model.apply, pb.x_train, pb.y_train, 1.0, chunk=1024))
        rows.append(("generic autodiff (gd_fn, chunk 1024)", s_gen))
    rate1 = gemm_rate()
    rate = float(np.median([rate0, rate1]))
    print(f"float32 GEMM rate ({gn}^3, XLA on {backend}, before/after): "
          f"{rate0 / 1e9:.0f} / {rate1 / 1e9:.0f} GFLOP/s")
    print(f"{'path':40s} {'s/step':>8s} {'GFLOP/s':>8s} {'of GEMM':>8s}")
    for name, s in rows:
        fl = part_flop.get(name, flop)
        print(f"{name:40s} {s:8.3f} {fl / s / 1e9:8.1f} {fl / s / rate:8.0%}")
    res["gemm_flops_per_s"] = rate
    res["gemm_flops_per_s_before_after"] = [rate0, rate1]
    res["rows"] = [{"path": p, "s_per_step": s, "flop": part_flop.get(p, flop),
                    "fraction_of_gemm": part_flop.get(p, flop) / s / rate} for p, s in rows]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
