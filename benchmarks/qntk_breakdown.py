"""Where the time of qsntk's QNTK kernel goes (Fig. 1's workload: 4 qubits, L = 40).

Issue 7 asks for >= 150x PennyLane (benchmarks/bench_qntk_pennylane.py); this script says what
bounds it on XLA:CPU. On one XLA CPU device and one batch of B angle samples, side by side in
one process (medians over rounds, interleaved), it times:

* the unrolled K kernel (``fast.unrolled``) cut down to its forward sweep; to the forward sweep
  and the adjoint propagation without the 40 gradient inner products; and whole;
* the bare chain of the 80 real ``(2D, 2D) @ (2D, B)`` float64 products the two sweeps contain;
* the cos/sin columns with ``jnp.sin``/``jnp.cos`` and with qsntk's polynomial ``sincos``;
* ``qntk_batch`` through its pure-JAX path (``native=False``: angle columns, kernel, results)
  split over all XLA CPU devices, on one device, and as it chooses
  (``kernel.SPLIT_MIN_SAMPLES``);
* ``qntk_batch`` as a user calls it (its default: the fused native CPU kernel of
  :mod:`qsntk.circuits.native` where it is built, else the pure-JAX path).

Usage::

    .venv/bin/python benchmarks/qntk_breakdown.py [--samples 1000] [--rounds 11]

Prints a table and writes ``benchmarks/results/qntk_breakdown.json``.
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
OUT = ROOT / "benchmarks" / "results" / "qntk_breakdown.json"


def _sweep(part: str):
    """``fast.unrolled``'s K path, stopped after ``part`` ("forward", "no inner products")."""
    import jax.numpy as jnp

    from qsntk.circuits.fast import _act

    def f(tl, RO, p0, cos, sin):
        L, n2 = len(cos), tl.first.shape[-1]
        GT = jnp.swapaxes(tl.fold[..., :n2], -1, -2)
        psi = jnp.broadcast_to((p0 @ tl.first)[:, None], (n2, cos[0].shape[-1]))
        phis = [None] * L
        for l in range(L - 1, -1, -1):
            phis[l] = cos[l] * psi + sin[l] * _act(tl, l, psi)
            psi = GT[l] @ phis[l]
        lam = RO.T @ psi
        eps = jnp.sum(psi * lam, axis=0)
        if part == "forward":
            return eps
        for l in range(L):
            lt = GT[l].T @ lam
            lam = cos[l] * lt - sin[l] * _act(tl, l, lt)
        return eps + jnp.sum(lam, axis=0)

    return f


def _with_split(kernel, split: bool, tl, O, thetas, psi0):
    """``qntk_batch``'s pure-JAX path with the sample split forced on (any batch size) or off."""
    mesh, least = kernel._sample_mesh, kernel.SPLIT_MIN_SAMPLES
    if split:
        kernel.SPLIT_MIN_SAMPLES = 2
    else:
        kernel._sample_mesh = lambda n: None
    try:
        return kernel.qntk_batch(tl, O, thetas, psi0, with_mu=False, native=False).K
    finally:
        kernel._sample_mesh, kernel.SPLIT_MIN_SAMPLES = mesh, least


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=11)
    args = ap.parse_args(argv)

    from qsntk.hostdevices import expose_host_cores

    expose_host_cores()
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    from qsntk.circuits import compile_circuit, fast, kernel, prepare
    from qsntk.circuits.drivers import _angles, _instance_key, _observable
    from qsntk.circuits.model import random_circuit
    from qsntk.special import sincos

    B, L = args.samples, 40
    key = _instance_key(0, L, 0)
    tl = prepare(compile_circuit(random_circuit(key=key, n_qubits=4, n_layers=L)))
    _, O = _observable(0, 4, 10)
    thetas = _angles(key, (B, L))
    psi0 = jnp.zeros(16, jnp.complex128).at[0].set(1.0)
    RO, p0 = fast.realmat(O), fast.real_state(psi0)
    cos, sin = fast.angle_columns(tl.h, thetas)
    n2 = tl.first.shape[-1]
    GT = jnp.swapaxes(tl.fold[..., :n2], -1, -2)
    p = jnp.ones((n2, B))

    def chain(GT, p):
        for i in range(2 * L):
            p = GT[i % L] @ p
        return p

    th = (thetas * tl.h).T
    one = {
        "kernel: forward sweep only": (jax.jit(_sweep("forward")), (tl, RO, p0, cos, sin)),
        "kernel: + adjoint, no inner products": (jax.jit(_sweep("no inner products")),
                                                 (tl, RO, p0, cos, sin)),
        "kernel: whole (K, one device)": (
            lambda *a: kernel._qntk_batch_unrolled(*a, with_mu=False), (tl, O, cos, sin, psi0, 0.0)),
        f"80 bare ({n2}, {n2}) @ ({n2}, B) products": (jax.jit(chain), (GT, p)),
        "cos/sin columns, jnp.sin/jnp.cos": (jax.jit(lambda t: (jnp.sin(t), jnp.cos(t))), (th,)),
        "cos/sin columns, polynomial sincos": (jax.jit(sincos), (th,)),
        "qntk_batch K, pure JAX (split over all devices)": (
            lambda: _with_split(kernel, True, tl, O, thetas, psi0), ()),
        "qntk_batch K, pure JAX (one device)": (
            lambda: _with_split(kernel, False, tl, O, thetas, psi0), ()),
        "qntk_batch K, pure JAX (as it chooses)": (
            lambda: kernel.qntk_batch(tl, O, thetas, psi0, with_mu=False, native=False).K, ()),
    }
    from qsntk.circuits import native as nat

    if nat.available():
        one["qntk_batch K, default (native kernel)"] = (
            lambda: kernel.qntk_batch(tl, O, thetas, psi0, with_mu=False).K, ())
    else:
        print(f"native kernel not available ({nat.why_not()}); its row is left out")
    times = {k: [] for k in one}
    for f, a in one.values():
        jax.block_until_ready(f(*a))
    for _ in range(args.rounds):
        for k, (f, a) in one.items():
            t0 = time.perf_counter()
            jax.block_until_ready(f(*a))
            times[k].append(time.perf_counter() - t0)
    print(f"QNTK kernel breakdown: 4 qubits, L = {L}, B = {B}, {len(jax.devices())} XLA CPU devices "
          f"(medians of {args.rounds} interleaved rounds)")
    print(f"{'part':48s} {'per sample':>11s} {'min':>9s}")
    rows = []
    for k, v in times.items():
        med, lo = float(np.median(v)) / B, float(min(v)) / B
        rows.append({"part": k, "s_per_sample": med, "min_s_per_sample": lo})
        print(f"{k:48s} {med * 1e6:8.2f} us {lo * 1e6:6.2f} us")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"command": " ".join([Path(sys.argv[0]).as_posix()] + sys.argv[1:]),
                               "load_1min_end": os.getloadavg()[0],
                               "samples": B, "layers": L, "devices": len(jax.devices()),
                               "rounds": args.rounds, "native_available": nat.available(),
                               "rows": rows}, indent=1))
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
