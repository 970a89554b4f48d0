"""Benchmark: the QNTK of Fig. 1 of Liu et al. (4 qubits, L = 40), qsntk against PennyLane.

One random circuit of eq. 20 (Haar W_l, Pauli X_l) and observable O (10 Pauli
terms), the same angle samples for every method, side by side in one run:

* qsntk        -- ``qsntk.circuits.qntk_batch`` (two-level form, one real mat-vec per layer and
                  sweep, layers unrolled, adjoint gradient), K per sample; and with the dQNTK mu
                  (eq. 14) as well, for the mu/K cost ratio; both also with ``dtype="float32"``;
                  and qsntk's ``lax.scan`` two-level sweeps (the path for deeper circuits and
                  batches of circuits);
* dense JAX    -- a plain ``jax.vmap(jax.grad(eps))`` of the same circuit with dense
                  ``cos th I + i sin th P`` and ``W`` matrix-vector products (reference point);
* PennyLane    -- ``default.qubit``, JAX interface, ``jax.jit(jax.grad(qnode))`` per sample
                  (``PauliRot(-2 th) = exp(i th P)``, ``QubitUnitary(W)``, ``expval(Hermitian(O))``),
                  run in its own venv under ``.anchors/pennylane`` (created with pip on first
                  use, jax pinned to this venv's version; ``--no-pennylane`` skips it); also
                  ``jax.vmap`` of the jitted gradient when PennyLane supports it; once in double
                  precision (``jax_enable_x64``) and once in single (JAX's default), so that each
                  qsntk precision is set against PennyLane's at the same precision.

Checks that every method gives the same K (double: 1e-9; single: 1e-4 relative), prints a
table and writes
``benchmarks/results/qntk_pennylane.json``.

Usage::

    .venv/bin/python benchmarks/bench_qntk_pennylane.py [--samples 1000] [--pl-samples 200] [--no-pennylane]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PL_VENV = ROOT / ".anchors" / "pennylane"
N_QUBITS, N_LAYERS, SEED = 4, 40, 0

PL_WORKER = r"""
import json, sys, time
import numpy as np
t0 = time.perf_counter()
import jax
cfg = json.loads(sys.argv[1])
jax.config.update("jax_enable_x64", cfg["x64"])     # False: PennyLane computes in complex64
import jax.numpy as jnp
import pennylane as qml
t_import = time.perf_counter() - t0
d = np.load(cfg["data"])
W, words, O, thetas = d["W"], [str(w) for w in d["words"]], d["O"], d["thetas"]
n, L = int(d["n"]), W.shape[0]
dev = qml.device("default.qubit", wires=n)

@qml.qnode(dev, interface="jax")
def circuit(theta):
    for l in reversed(range(L)):                 # eq. 1: layer L acts first
        qml.PauliRot(-2.0 * theta[l], words[l], wires=range(n))   # exp(i theta P)
        qml.QubitUnitary(W[l], wires=range(n))
    return qml.expval(qml.Hermitian(O, wires=range(n)))

grad = jax.jit(jax.grad(circuit))
th = jnp.asarray(thetas)
t0 = time.perf_counter(); g = grad(th[0]).block_until_ready(); t_compile = time.perf_counter() - t0
times, K = [], []
for i in range(th.shape[0]):
    t0 = time.perf_counter()
    g = grad(th[i]).block_until_ready()
    times.append(time.perf_counter() - t0)
    K.append(float(jnp.dot(g, g)))
out = {"version": qml.__version__, "jax": jax.__version__, "import_s": t_import,
       "dtype": str(g.dtype),
       "compile_s": t_compile, "times": times, "K": K}
try:
    vg = jax.jit(jax.vmap(jax.grad(circuit)))
    vg(th).block_until_ready()
    ts = []
    for _ in range(5):
        t0 = time.perf_counter(); G = vg(th).block_until_ready(); ts.append(time.perf_counter() - t0)
    out["vmap_s"] = float(np.median(ts))
    out["vmap_K"] = np.einsum("ij,ij->i", np.asarray(G), np.asarray(G)).tolist()
except Exception as exc:
    out["vmap_error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
print(json.dumps(out))
"""


def ensure_pennylane(jax_version: str) -> tuple[Path | None, str]:
    """The PennyLane venv's python, creating it with pip if missing; (None, why) on failure."""
    py = PL_VENV / "bin" / "python"
    if py.exists() and subprocess.run([str(py), "-c", "import pennylane, jax"],
                                      capture_output=True).returncode == 0:
        return py, "present"
    try:
        subprocess.run([sys.executable, "-m", "venv", str(PL_VENV)], check=True, capture_output=True)
        proc = subprocess.run([str(py), "-m", "pip", "install", "-q", "pennylane",
                               f"jax=={jax_version}", f"jaxlib=={jax_version}"],
                              capture_output=True, text=True, timeout=1800)
    except (subprocess.SubprocessError, OSError) as exc:
        return None, f"could not create the PennyLane venv: {exc}"
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["pip failed"])[-1]
        return None, f"pip install pennylane failed: {last}"
    return py, "installed"


def interleaved(fns: dict, rounds: int, samples: dict) -> None:
    """Append ``rounds`` wall times of each of ``fns`` (compiled and warmed first), one call
    of each per round, to ``samples[name]``."""
    import jax

    for f in fns.values():
        jax.block_until_ready(f())
    for _ in range(rounds):
        for k, f in fns.items():
            t0 = time.perf_counter()
            jax.block_until_ready(f())
            samples[k].append(time.perf_counter() - t0)


def run_pennylane(py, circ, O, thetas, env) -> dict:
    """PennyLane's worker in its venv, once in double and once in single precision:
    ``{"float64": CompletedProcess, "float32": CompletedProcess}``."""
    from qsntk.circuits import pauli_label

    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        data = f"{tmp}/circ.npz"
        np.savez(data, W=np.asarray(circ.W), O=np.asarray(O), n=N_QUBITS, thetas=np.asarray(thetas),
                 words=np.array([pauli_label(c) for c in np.asarray(circ.generators)]))
        for prec, x64 in (("float64", True), ("float32", False)):
            runs[prec] = subprocess.run([str(py), "-c", PL_WORKER, json.dumps({"data": data, "x64": x64})],
                                        capture_output=True, text=True, timeout=3600, env=env)
    return runs


def dense_grad_fn(circ, O, psi0):
    """Plain dense JAX: vmap(grad(eps)) with cos th I + i sin th P and W mat-vecs."""
    import jax
    import jax.numpy as jnp

    from qsntk.circuits.model import pauli_matrices

    P = pauli_matrices(circ.generators)

    def eps(theta):
        def step(psi, xs):
            W, Pl, t = xs
            psi = jnp.cos(t) * psi + 1j * jnp.sin(t) * (Pl @ psi)
            return W @ psi, None
        psi, _ = jax.lax.scan(step, psi0, (circ.W, P, theta), reverse=True)
        return jnp.real(jnp.vdot(psi, O @ psi))

    return jax.jit(jax.vmap(jax.grad(eps)))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=1000, help="angle samples for qsntk / dense JAX")
    ap.add_argument("--pl-samples", type=int, default=200, help="angle samples for PennyLane")
    ap.add_argument("--repeats", type=int, default=14, help="interleaved timing rounds (half before PennyLane, half after)")
    ap.add_argument("--no-pennylane", action="store_true")
    args = ap.parse_args(argv)

    from qsntk.hostdevices import expose_host_cores

    anchor_env = dict(os.environ)   # PennyLane runs as it would for a user: XLA's defaults
    expose_host_cores()  # as `qsntk qntk` does: the angle samples are split over the cores
    import jax
    import jax.numpy as jnp

    import qsntk
    from qsntk.circuits import compile_circuit, observable_matrix, pauli_label, prepare, qntk_batch
    from qsntk.circuits.drivers import _angles, _instance_key, _observable
    from qsntk.circuits.model import random_circuit
    from qsntk.io import atomic_write_json

    D = 2 ** N_QUBITS
    key = _instance_key(SEED, N_LAYERS, 0)
    circ = random_circuit(key=key, n_qubits=N_QUBITS, n_layers=N_LAYERS)
    _, O = _observable(SEED, N_QUBITS, 10)
    thetas = _angles(key, (args.samples, N_LAYERS))
    psi0 = jnp.zeros(D, jnp.complex128).at[0].set(1.0)
    comp = prepare(compile_circuit(circ))

    # the lax.scan two-level sweeps (qsntk's batch path before the unrolled kernel; still used
    # for L > fast.UNROLL_MAX_LAYERS and batches of circuits), for comparison in the same run
    from qsntk.circuits.kernel import _qntk_batch
    dense = dense_grad_fn(circ, O, psi0)
    fns = {
        "K": lambda: qntk_batch(comp, O, thetas, psi0, with_mu=False).K,
        "Kmu": lambda: qntk_batch(comp, O, thetas, psi0).mu,
        "K32": lambda: qntk_batch(comp, O, thetas, psi0, with_mu=False, dtype="float32").K,
        "Kmu32": lambda: qntk_batch(comp, O, thetas, psi0, dtype="float32").mu,
        "scan": lambda: _qntk_batch(comp, O, thetas, psi0, 0.0, with_mu=False, method="taylor").K,
        "dense": lambda: dense(thetas),
        # the pure-JAX unrolled kernel (what qntk_batch runs where the native one is not built)
        "Kjax": lambda: qntk_batch(comp, O, thetas, psi0, with_mu=False, native=False).K,
        "Kmujax": lambda: qntk_batch(comp, O, thetas, psi0, native=False).mu,
    }
    from qsntk.circuits import native
    path = "native kernel" if native.available() else "pure JAX"
    # interleaved rounds, half before and half after PennyLane's runs, medians of all: on a
    # shared machine a quiet or busy minute then falls on every method alike
    samples = {k: [] for k in fns}
    interleaved(fns, (args.repeats + 1) // 2, samples)
    pl_py, pl_how, pl_runs = None, "", {}
    if not args.no_pennylane:
        pl_py, pl_how = ensure_pennylane(jax.__version__)
        if pl_py is not None:
            pl_runs = run_pennylane(pl_py, circ, O, thetas[:args.pl_samples], anchor_env)
    interleaved(fns, args.repeats // 2, samples)
    t_K, t_Kmu, t_K32, t_Kmu32, t_scan, t_dense, t_Kjax, t_Kmujax = (
        float(np.median(samples[k])) for k in fns)
    K_jax = np.asarray(fns["Kjax"]())
    mu_jax_rel = float(np.max(np.abs(np.asarray(fns["Kmujax"]()) - np.asarray(fns["Kmu"]())))
                       / np.max(np.abs(np.asarray(fns["Kmu"]()))))
    K32 = np.asarray(fns["K32"]())
    mu64, mu32 = np.asarray(fns["Kmu"]()), np.asarray(fns["Kmu32"]())
    mu_rel32 = float(np.max(np.abs(mu32 - mu64)) / np.max(np.abs(mu64)))
    K_scan = np.asarray(fns["scan"]())
    K = np.asarray(fns["K"]())
    G = np.asarray(dense(thetas))
    K_dense = np.einsum("ij,ij->i", G, G)
    B = args.samples
    result = {
        "benchmark": "qntk_pennylane", "workload": {"n_qubits": N_QUBITS, "layers": N_LAYERS,
                                                     "samples": B, "pl_samples": args.pl_samples,
                                                     "seed": SEED, "quantity": "K = |grad eps|^2 per angle sample"},
        "command": "python benchmarks/bench_qntk_pennylane.py" + (" --no-pennylane" if args.no_pennylane else ""),
        "machine": {"cpus": os.cpu_count(), "xla_cpu_devices": sum(d.platform == "cpu" for d in jax.devices()), "python": platform.python_version(), "jax": jax.__version__,
                    "qsntk": qsntk.__version__, "loadavg_1min": os.getloadavg()[0]},
        "qsntk": {"K_per_sample_s": t_K / B, "K_and_mu_per_sample_s": t_Kmu / B,
                  "mu_cost_over_K": t_Kmu / t_K, "scan_K_per_sample_s": t_scan / B,
                  "unrolled_speedup_over_scan": t_scan / t_K,
                  "path": path, "native_why_not": native.why_not(),
                  "pure_jax": {"K_per_sample_s": t_Kjax / B, "K_and_mu_per_sample_s": t_Kmujax / B,
                               "mu_cost_over_K": t_Kmujax / t_Kjax,
                               "max_rel_diff_K": float(np.max(np.abs(K_jax / K - 1))),
                               "max_diff_mu_over_max_mu": mu_jax_rel},
                  "float32": {"K_per_sample_s": t_K32 / B, "K_and_mu_per_sample_s": t_Kmu32 / B,
                              "mu_cost_over_K": t_Kmu32 / t_K32,
                              "max_rel_diff_K_vs_float64": float(np.max(np.abs(K32 / K - 1))),
                              "max_diff_mu_vs_float64_over_max_mu": mu_rel32}},
        "dense_jax": {"per_sample_s": t_dense / B,
                      "max_rel_diff_K": float(np.max(np.abs(K_dense / K - 1)))},
        "targets": {"speedup_vs_pennylane": 150.0, "mu_cost_over_K": 3.0},
    }
    rows = [(f"qsntk qntk_batch, K ({path})", t_K / B, "reference"),
            ("qsntk qntk_batch, K and mu", t_Kmu / B, f"{t_Kmu / t_K:.2f}x the cost of K"),
            ("qsntk pure-JAX unrolled, K", t_Kjax / B,
             f"{t_Kjax / t_K:.2f}x slower; max rel diff K {np.max(np.abs(K_jax / K - 1)):.1e}"),
            ("qsntk pure-JAX unrolled, K and mu", t_Kmujax / B,
             f"{t_Kmujax / t_Kjax:.2f}x its K; mu within {mu_jax_rel:.1e} of max |mu|"),
            ("qsntk lax.scan two-level sweeps, K", t_scan / B,
             f"{t_scan / t_K:.2f}x slower; max rel diff K {np.max(np.abs(K_scan / K - 1)):.1e}"),
            ("dense JAX vmap(grad)", t_dense / B, f"max rel diff K {result['dense_jax']['max_rel_diff_K']:.1e}"),
            ("qsntk qntk_batch, K, float32", t_K32 / B,
             f"{t_K / t_K32:.2f}x faster than float64; max rel diff K {np.max(np.abs(K32 / K - 1)):.1e}"),
            ("qsntk qntk_batch, K and mu, float32", t_Kmu32 / B,
             f"{t_Kmu32 / t_K32:.2f}x the cost of K; mu within {mu_rel32:.1e} of max |mu|")]
    equal = (result["dense_jax"]["max_rel_diff_K"] < 1e-9 and np.max(np.abs(K_scan / K - 1)) < 1e-9
             and np.max(np.abs(K_jax / K - 1)) < 1e-9 and mu_jax_rel < 1e-9
             and np.max(np.abs(K32 / K - 1)) < 1e-4 and mu_rel32 < 1e-4)
    if not args.no_pennylane:
        if pl_py is None:
            result["pennylane"] = {"available": False, "why": pl_how}
        else:
            how = pl_how
            for prec, proc in pl_runs.items():
                (tk, tkm), tol = ((t_K, t_Kmu), 1e-9) if prec == "float64" else ((t_K32, t_Kmu32), 1e-4)
                key = "pennylane" if prec == "float64" else "pennylane_float32"
                if proc.returncode != 0:
                    result[key] = {"available": False, "why": proc.stderr.strip().splitlines()[-1]}
                    continue
                info = json.loads(proc.stdout.strip().splitlines()[-1])
                Kp = np.asarray(info["K"])
                t_pl = float(np.median(info["times"]))
                d = float(np.max(np.abs(Kp / K[:len(Kp)] - 1)))
                result[key] = {"available": True, "version": info["version"], "jax": info["jax"],
                               "dtype": info["dtype"],
                               "per_sample_s": t_pl, "min_per_sample_s": float(min(info["times"])),
                               "compile_s": info["compile_s"], "max_rel_diff_K": d,
                               "speedup_qsntk_K": t_pl / (tk / B),
                               "speedup_qsntk_K_and_mu": t_pl / (tkm / B), "venv": how}
                if prec == "float64":
                    result[key]["speedup_dense_jax"] = t_pl / (t_dense / B)
                rows.append((f"PennyLane {info['version']} jit(grad), {prec}, per sample", t_pl,
                             f"max rel diff K {d:.1e}; qsntk ({prec}) {t_pl / (tk / B):.0f}x faster"))
                equal &= d < tol
                if "vmap_s" in info:
                    tv = info["vmap_s"] / len(Kp)
                    dv = float(np.max(np.abs(np.asarray(info["vmap_K"]) / K[:len(Kp)] - 1)))
                    result[key].update(vmap_per_sample_s=tv, vmap_max_rel_diff_K=dv,
                                       speedup_qsntk_vs_vmap=tv / (tk / B))
                    rows.append((f"PennyLane jit(vmap(grad)), {prec}", tv,
                                 f"max rel diff K {dv:.1e}; qsntk ({prec}) {tv / (tk / B):.0f}x faster"))
                    equal &= dv < tol
                else:
                    result[key]["vmap_error"] = info.get("vmap_error")
    result["all_equal"] = bool(equal)

    print(f"QNTK of a random circuit (eq. 20): {N_QUBITS} qubits, L = {N_LAYERS}, {B} angle samples, "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    print(f"{'method':44s} {'per sample':>12s}  note")
    for name, t, note in rows:
        print(f"{name:44s} {t * 1e6:9.1f} us  {note}")
    for key, prec in (("pennylane", "float64"), ("pennylane_float32", "float32")):
        pl = result.get(key, {})
        if pl.get("available"):
            print(f"{prec}: target qsntk >= {result['targets']['speedup_vs_pennylane']:.0f}x PennyLane: "
                  f"{'met' if pl['speedup_qsntk_K'] >= 150 else 'NOT met'} ({pl['speedup_qsntk_K']:.0f}x)")
        elif pl:
            print(f"PennyLane ({prec}) unavailable: {pl['why']}")
    print(f"mu <= 3x K: {'met' if result['qsntk']['mu_cost_over_K'] <= 3 else 'NOT met'} "
          f"({result['qsntk']['mu_cost_over_K']:.2f}x; float32 {result['qsntk']['float32']['mu_cost_over_K']:.2f}x)")
    out = ROOT / "benchmarks" / "results" / "qntk_pennylane.json"
    atomic_write_json(out, result)
    print(f"wrote {out.relative_to(ROOT)}")
    return 0 if equal else 1


if __name__ == "__main__":
    sys.exit(main())
