"""QS-NTK speed: qsntk against neural-tangents 0.6.5 and this machine's GEMM floor, side by side.

Workloads (issue 3), all float32 on the paper's network (1/sqrt(N) W2 relu(W1 x/sqrt(12) + b1) + b2,
W ~ N(0, 0.25), b ~ N(0, 0.01)):

* ``empirical``: NTK of one width-5000 network on n = 2048 inputs. neural-tangents with
  structured derivatives and with Jacobian contraction; qsntk's layer-wise GEMM path.
* ``qs_full``: Θ and Φ of the real–imaginary pair on all 4096 ``tfim-quench`` inputs
  (two networks), with peak memory (max RSS of a fresh process).

Two floors for the GEMM workloads, both measured in the same process:

* ``full``: the two n x N x n products per network (H H^T and (D w2)(D w2)^T) as full
  square GEMMs with XLA (``A @ A.T``);
* ``sym``: the part of those products qsntk actually forms. For a symmetric kernel it
  computes only the nb(nb+1)/2 blocks on and above the diagonal of an nb x nb grid of row
  blocks (36 of 64 for nb = 8), so its arithmetic is ``nb(nb+1)/(2 nb^2)`` of the full products; ``sym`` is that
  arithmetic at the full GEMM's measured rate. ``/sym`` is the ratio to quote against a
  "within 1.3x of the GEMM floor" target; ``/full`` undersells the work by ~2x.
* ``infinite``: analytic NNGP + NTK on 4096 x 4096 inputs.

neural-tangents only imports on jax <= 0.4.23, so it runs in its own virtualenv under
``.anchors/neural-tangents`` (built by this script on first use: jax/jaxlib 0.4.23, numpy 1.26,
tensorflow-cpu 2.15 and tf2jax 0.3.5 for its import-time jax2tf/tf2jax use, neural-tangents 0.6.5).
All timings are warm medians; every side runs in the same invocation, one after another.

Usage::

    .venv/bin/python benchmarks/bench_kernels.py [--repeats 3] [--no-anchor]

(``make bench`` runs it with the default 3 repeats; docs/benchmarks.md quotes ``--repeats 5``.)

Prints a table and writes ``benchmarks/results/kernels.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NT_VENV = ROOT / ".anchors" / "neural-tangents"
OUT = ROOT / "benchmarks" / "results" / "kernels.json"

ANCHOR = textwrap.dedent("""
    import json, sys, time
    import numpy as np, jax, jax.numpy as jnp
    import neural_tangents as nt
    from neural_tangents import stax
    reps = int(sys.argv[1])
    def med(f):
        f(); ts = []
        for _ in range(reps):
            t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
        return float(np.median(ts))
    rng = np.random.default_rng(0)
    x = jnp.asarray(np.sign(rng.normal(size=(2048, 12))), jnp.float32)
    X = jnp.asarray(np.sign(rng.normal(size=(4096, 12))), jnp.float32)
    init, apply, kernel_fn = stax.serial(stax.Dense(5000, W_std=0.5, b_std=0.1), stax.Relu(),
                                         stax.Dense(1, W_std=0.5, b_std=0.1))
    _, params = init(jax.random.PRNGKey(0), x.shape)
    out = {"jax": jax.__version__, "neural_tangents": nt.__version__}
    for name, impl in (("structured", nt.NtkImplementation.STRUCTURED_DERIVATIVES),
                       ("jacobian", nt.NtkImplementation.JACOBIAN_CONTRACTION)):
        fn = jax.jit(nt.empirical_ntk_fn(apply, trace_axes=(), vmap_axes=0, implementation=impl))
        out[f"empirical_{name}_s"] = med(lambda: fn(x, None, params).block_until_ready())
    kf = jax.jit(kernel_fn, static_argnames="get")
    out["infinite_s"] = med(lambda: [a.block_until_ready() for a in kf(X, X, get=("nngp", "ntk"))])
    print("JSON" + json.dumps(out))
""")


def build_anchor() -> Path:
    py = NT_VENV / "bin" / "python"
    if py.exists() and subprocess.run([py, "-c", "import neural_tangents"], capture_output=True).returncode == 0:
        return py
    print("building the neural-tangents anchor venv (once) ...", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(NT_VENV)], check=True)
    pip = [str(NT_VENV / "bin" / "pip"), "install", "-q"]
    # neural-tangents 0.6.5 imports jax2tf (tensorflow) and tf2jax at import time; its own
    # requirement pins would pull a newer jax, so its and tf2jax's dependencies are pinned here.
    subprocess.run(pip + ["jax==0.4.23", "jaxlib==0.4.23", "numpy==1.26.4", "scipy==1.12.0",
                          "ml-dtypes==0.3.2", "chex==0.1.85", "dm-tree", "absl-py", "frozendict",
                          "typing_extensions", "tensorflow-cpu==2.15.1"], check=True)
    subprocess.run(pip + ["--no-deps", "neural-tangents==0.6.5", "tf2jax==0.3.5"], check=True)
    return py


def run_anchor(repeats: int) -> dict:
    py = build_anchor()
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "3"}
    r = subprocess.run([py, "-c", ANCHOR, str(repeats)], capture_output=True, text=True, env=env)
    line = next((ln for ln in r.stdout.splitlines() if ln.startswith("JSON")), None)
    if line is None:
        raise RuntimeError(f"anchor failed:\n{r.stderr[-3000:]}")
    return json.loads(line[4:])


OURS = textwrap.dedent("""
    import json, resource, sys, time
    import numpy as np
    import qsntk
    qsntk.set_precision("float32")
    import jax, jax.numpy as jnp
    from qsntk.kernels import structured, infinite_real_blocks, real_blocks, kernel_fn_for
    from qsntk.kernels.structured import _default_blocks
    from qsntk.nets import paper_net, paper_pair, init_params
    from qsntk.physics.targets import make_target
    reps, what = int(sys.argv[1]), sys.argv[2]
    def med(f):
        f(); ts = []
        for _ in range(reps):
            t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
        return float(np.median(ts))
    rng = np.random.default_rng(0)
    out = {}
    def gemm_floor(n, N, nets):
        # full: 2 products per network as square GEMMs; sym: the upper-block-triangle
        # share of them that the structured path computes, at the same measured rate.
        A = jnp.asarray(rng.normal(size=(n, N)), jnp.float32)
        g = jax.jit(lambda A: A @ A.T)
        full_s, full_flop = 2 * nets * med(lambda: g(A).block_until_ready()), 2 * nets * 2.0 * n * n * N
        nb = _default_blocks(n)
        share = nb * (nb + 1) / 2 / nb**2
        out["n_blocks"], out["sym_share"] = nb, share
        out["sym_floor_s"] = full_s * share
        return full_s, full_flop
    if what == "empirical":
        x = jnp.asarray(np.sign(rng.normal(size=(2048, 12))), jnp.float32)
        net = paper_net(5000)
        p = init_params(net, 12, key=jax.random.PRNGKey(0))
        out["empirical_s"] = med(lambda: jax.block_until_ready(structured.real_blocks(net, p, x)))
        out["floor_s"], out["floor_flop"] = gemm_floor(2048, 5000, 1)
    elif what == "qs_full":
        x = jnp.asarray(make_target("tfim-quench").x, jnp.float32)
        pair = paper_pair(5000)
        p = init_params(pair, 12, key=jax.random.PRNGKey(0))
        out["qs_full_s"] = med(lambda: jax.block_until_ready(real_blocks(pair, p, x)))
        out["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        out["floor_s"], out["floor_flop"] = gemm_floor(4096, 5000, 2)
    elif what == "infinite":
        X = jnp.asarray(np.sign(rng.normal(size=(4096, 12))), jnp.float32)
        kf = kernel_fn_for(paper_net(1))
        out["infinite_s"] = med(lambda: jax.block_until_ready(kf(X, X, get=("nngp", "ntk"))))
    print("JSON" + json.dumps(out))
""")


def run_ours(what: str, repeats: int) -> dict:
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    r = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-c", OURS, str(repeats), what],
                       capture_output=True, text=True, env=env)
    line = next((ln for ln in r.stdout.splitlines() if ln.startswith("JSON")), None)
    if line is None:
        raise RuntimeError(f"qsntk {what} failed:\n{r.stderr[-3000:]}")
    return json.loads(line[4:])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-anchor", action="store_true", help="skip neural-tangents")
    args = ap.parse_args()
    t0 = time.time()
    res = {"machine": {"cpus": os.cpu_count(), "load_1min_start": os.getloadavg()[0]},
           "repeats": args.repeats, "command": " ".join([Path(sys.argv[0]).as_posix()] + sys.argv[1:])}
    res["ours_empirical"] = run_ours("empirical", args.repeats)
    res["ours_qs_full"] = run_ours("qs_full", args.repeats)
    res["ours_infinite"] = run_ours("infinite", args.repeats)
    if not args.no_anchor:
        res["neural_tangents"] = run_anchor(args.repeats)
    e, q, i = res["ours_empirical"], res["ours_qs_full"], res["ours_infinite"]
    nt = res.get("neural_tangents", {})
    rows = [
        ("empirical NTK, width 5000, n=2048", e["empirical_s"], e["floor_s"], e["sym_floor_s"],
         nt.get("empirical_structured_s"), nt.get("empirical_jacobian_s")),
        ("QS-NTK of the pair, 4096 tfim inputs", q["qs_full_s"], q["floor_s"], q["sym_floor_s"],
         None, None),
        ("infinite NNGP+NTK, 4096 x 4096", i["infinite_s"], None, None, nt.get("infinite_s"), None),
    ]
    f = lambda v: f"{v:.3f}" if v is not None else "-"
    r = lambda a, b: f"{a / b:.2f}" if a and b else "-"
    print(f"{'workload':38s} {'qsntk s':>8s} {'full s':>7s} {'sym s':>7s} {'/full':>6s} {'/sym':>6s} "
          f"{'nt str s':>9s} {'nt jac s':>9s} {'str/ours':>9s} {'jac/ours':>9s}")
    for name, ours, full, sym, nts, ntj in rows:
        print(f"{name:38s} {ours:8.3f} {f(full):>7s} {f(sym):>7s} {r(ours, full):>6s} {r(ours, sym):>6s} "
              f"{f(nts):>9s} {f(ntj):>9s} {r(nts, ours):>9s} {r(ntj, ours):>9s}")
    print(f"peak memory of the 4096-input QS-NTK process: {q['peak_rss_gb']:.2f} GB; "
          f"GEMM rate {e['floor_flop'] / e['floor_s'] / 1e9:.0f} GFLOP/s float32")
    res["wall_s"] = time.time() - t0
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(res, indent=1))
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
