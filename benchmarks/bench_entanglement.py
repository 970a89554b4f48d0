"""Benchmark: ensemble-averaged entanglement of CosNet NNQS, the workload of Fig. 1 of Luo–Halverson.

12 spins, CosNet pair ψ1 + iψ2 with N = 4000 hidden units (σ_w = 10), 1000 draws,
S_1 and S_2 for |A| = 1 … 11. Measured side by side in one run, interleaved
(each repetition runs every method once; min and median over repetitions):

* pipeline   -- ``qsntk.entanglement.ensemble_entropies``: batched ``model.init``
                (vmap over draw keys), factorized evaluation (per-site sin/cos,
                Kronecker group tables, batched matrix products over unit blocks),
                batched SVDs of all 11 cuts, entropies;
* floor_own  -- its own batched matrix products alone: the same products, same chunks
                and unit blocks (a scan of ``(B, 64, nb) @ (B, nb, 64)``, 2 per network,
                2 networks), on operands already in memory;
* floor_one  -- the same products as one ``(B, 64, N) @ (B, N, 64)`` per network and table
                pair (no unit blocking): the fastest way to do these flops here;
* naive      -- for reference, the generic path on a few draws: ``vmap(model.apply)`` on
                the 4096 x 12 inputs (``X @ W``, cos, ``@ a``) plus the same spectra, and its
                own matrix products (``X @ W`` and ``h @ a``), both per draw.

Prints a table and writes ``benchmarks/results/entanglement.json``.

Usage::

    .venv/bin/python benchmarks/bench_entanglement.py [--draws 1000] [--width 4000] [--reps 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
N_SITES, SIGMA_W, SEED = 12, 10.0, 0


def _load():
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--width", type=int, default=4000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--naive-draws", type=int, default=4)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "entanglement.json"))
    args = ap.parse_args(argv)

    import jax
    import jax.numpy as jnp

    import qsntk  # noqa: F401  (float64)
    from qsntk.entanglement import ensembles as E
    from qsntk.entanglement.entropy import prefix_cuts
    from qsntk.entanglement.page import page_curve

    load0 = _load()
    model = E.network_pair("cosnet", args.width, sigma_w=SIGMA_W)
    cuts = prefix_cuts(N_SITES)
    D = 2**N_SITES
    B = E.chunk_size(model, D, factorized=True, n_sites=N_SITES)
    nb = E.unit_block(B, N_SITES)
    n_chunks = -(-args.draws // B)
    nblk = -(-args.width // nb)
    side = 2 ** (N_SITES // 2)

    # ---- pipeline
    def pipeline():
        return E.ensemble_entropies(model, n_sites=N_SITES, n_draws=args.draws, seed=SEED, cuts=cuts,
                                    orders=(1, 2), chunk=B)

    # ---- floors: the pipeline's own batched products, operands in memory
    rng = np.random.default_rng(0)
    own_ops = [jnp.asarray(rng.standard_normal((nblk, B, side, nb))) for _ in range(8)]
    one_ops = [jnp.asarray(rng.standard_normal((B, side, nblk * nb))) for _ in range(8)]

    @jax.jit
    def own(*ops):
        def step(acc, x):
            r = [jnp.matmul(x[2 * i], jnp.swapaxes(x[2 * i + 1], -1, -2)) for i in range(4)]
            return acc + (r[0] - r[1]) + 1j * (r[2] - r[3]), None
        return jax.lax.scan(step, jnp.zeros((B, side, side), jnp.complex128), ops)[0]

    @jax.jit
    def one(*ops):
        r = [jnp.matmul(ops[2 * i], jnp.swapaxes(ops[2 * i + 1], -1, -2)) for i in range(4)]
        return (r[0] - r[1]) + 1j * (r[2] - r[3])

    def floor(fn, ops):
        def run():
            for _ in range(n_chunks):
                out = fn(*ops)
            jax.block_until_ready(out)
        return run

    # ---- stage breakdown on one chunk
    spec = E.EnsembleSpec(model, n_sites=N_SITES, cuts=cuts, orders=(1.0, 2.0))
    j1, j2 = spec._jits()
    key = jax.random.PRNGKey(SEED)
    idx = jnp.arange(B)
    amps = jax.jit(spec.amplitudes)
    ents = jax.jit(spec.entropies)

    def stages():
        o = j1(key, idx)
        jax.block_until_ready(o)
        t0 = time.perf_counter()
        o = j1(key, idx)
        jax.block_until_ready(o)
        t1 = time.perf_counter()
        psi = amps(o)
        jax.block_until_ready(psi)
        t2 = time.perf_counter()
        jax.block_until_ready(ents(psi))
        t3 = time.perf_counter()
        return t1 - t0, t2 - t1, t3 - t2

    # ---- naive reference (generic path) on a few draws
    X = jnp.asarray(E.product_inputs(N_SITES))
    naive_spec = E.EnsembleSpec(model, n_sites=N_SITES, cuts=cuts, orders=(1.0, 2.0), factorized=False)
    nd = args.naive_draws
    n_idx = jnp.arange(nd)
    W = jnp.asarray(rng.standard_normal((nd, N_SITES, args.width)))
    H = jnp.asarray(rng.standard_normal((nd, D, args.width)))
    A = jnp.asarray(rng.standard_normal((nd, args.width)))
    naive_mm = jax.jit(lambda W, H, A: (jnp.matmul(X, W), jnp.matmul(H, A[..., None])))

    def naive():
        jax.block_until_ready(naive_spec.run(key, n_idx))

    def naive_floor():
        for _ in range(2):                      # psi1 and psi2
            jax.block_until_ready(naive_mm(W, H, A))

    # warm up (compile everything)
    S = pipeline()
    for fn in (floor(own, own_ops), floor(one, one_ops), naive, naive_floor):
        fn()
    stages()

    times = {k: [] for k in ("pipeline", "floor_own", "floor_one", "naive", "naive_floor")}
    stage_t = []
    for _ in range(args.reps):
        for name, fn in (("pipeline", pipeline), ("floor_own", floor(own, own_ops)),
                         ("floor_one", floor(one, one_ops)), ("naive", naive),
                         ("naive_floor", naive_floor)):
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
        stage_t.append(stages())
    load1 = _load()

    best = {k: min(v) for k, v in times.items()}
    med = {k: float(np.median(v)) for k, v in times.items()}
    st = np.min(np.asarray(stage_t), axis=0)
    page = page_curve(N_SITES)
    s1 = S[1.0].mean(0)
    result = {
        "workload": {"n_sites": N_SITES, "width": args.width, "sigma_w": SIGMA_W, "draws": args.draws,
                     "cuts": len(cuts), "orders": [1, 2], "chunk": B, "unit_block": nb,
                     "chunks": n_chunks},
        "seconds_min": best, "seconds_median": med, "seconds_all": times,
        "ratio_pipeline_over_floor_own": best["pipeline"] / best["floor_own"],
        "ratio_pipeline_over_floor_one": best["pipeline"] / best["floor_one"],
        "ratio_pipeline_over_floor_own_median": med["pipeline"] / med["floor_own"],
        "ratio_pipeline_over_floor_one_median": med["pipeline"] / med["floor_one"],
        "naive_per_draw_s": best["naive"] / nd,
        "pipeline_per_draw_s": best["pipeline"] / args.draws,
        "naive_ratio_over_its_floor": best["naive"] / best["naive_floor"],
        "stage_seconds_per_chunk": {"params+sincos": st[0], "tables+matmuls": st[1], "svd+entropies": st[2]},
        "check": {"S1_mean_half": float(s1[N_SITES // 2 - 1]), "page_half": float(page[N_SITES // 2 - 1]),
                  "S1_rel_dev_from_page_half": float(s1[N_SITES // 2 - 1] / page[N_SITES // 2 - 1] - 1)},
        "machine": {"platform": platform.platform(), "python": sys.version.split()[0],
                    "jax": jax.__version__, "cpus": os.cpu_count(), "loadavg_start": load0,
                    "loadavg_end": load1},
    }
    rows = [("pipeline (ensemble_entropies)", "pipeline"), ("floor_own: its batched matmuls", "floor_own"),
            ("floor_one: one matmul per pair", "floor_one")]
    print(f"CosNet ensemble entanglement: {N_SITES} spins, N = {args.width}, {args.draws} draws, "
          f"11 cuts, S1+S2 (chunk {B}, unit block {nb}); load avg {load0:.1f} -> {load1:.1f}")
    print(f"{'method':34s} {'min s':>9s} {'median s':>9s} {'/ floor_own':>12s} {'/ floor_one':>12s}")
    for label, k in rows:
        print(f"{label:34s} {best[k]:9.3f} {med[k]:9.3f} {best[k] / best['floor_own']:12.2f} "
              f"{best[k] / best['floor_one']:12.2f}")
    print(f"{'naive generic path, per draw':34s} {best['naive'] / nd:9.3f}   "
          f"(its own X@W, h@a floor: {best['naive_floor'] / nd:.3f} s/draw, ratio "
          f"{result['naive_ratio_over_its_floor']:.1f}; pipeline per draw {best['pipeline'] / args.draws:.4f} s)")
    print("stages per chunk (s): " + ", ".join(f"{k} {v:.3f}" for k, v in result["stage_seconds_per_chunk"].items()))
    print(f"check: <S1>(|A|=6) = {result['check']['S1_mean_half']:.4f}, Page {result['check']['page_half']:.4f}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    from qsntk.io import atomic_write_json

    atomic_write_json(out, result)
    print(f"wrote {out}")
    return result


if __name__ == "__main__":
    main()
