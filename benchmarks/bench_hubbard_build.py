"""Benchmark: sparse Hamiltonian of the 4356-state Hubbard sector (3×4, 2↑2↓).

Builds H_f (eq. 20 of Luo–Halverson, t = 1, U = 4, periodic by default) three
ways, side by side in one run, checks they are the same matrix, prints a table
and writes ``benchmarks/results/hubbard_build[_obc].json``:

* ours    — ``qsntk.physics`` vectorized numpy build (basis + H), median of repeats;
* NetKet  — ``FermionOperator2nd.to_sparse()`` of the same operator (once: it is slow);
* QuSpin  — ``spinful_fermion_basis_general`` + ``hamiltonian(...).tocsr()``, median of
  repeats, run in its own venv under ``.anchors/quspin`` (created with pip on first
  use; ``--no-quspin`` skips it). QuSpin orders its basis and orbitals differently
  (↑ block first), so its matrix is compared after mapping its states onto ours.

Usage::

    .venv/bin/python benchmarks/bench_hubbard_build.py [--obc] [--repeats 20] [--no-netket] [--no-quspin]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
QUSPIN_VENV = ROOT / ".anchors" / "quspin"

LX, LY, N_UP, N_DOWN, T, U = 3, 4, 2, 2, 1.0, 4.0

QUSPIN_WORKER = r"""
import json, sys, time, statistics
import numpy as np
t0 = time.perf_counter()
from quspin.basis import spinful_fermion_basis_general
from quspin.operators import hamiltonian
import quspin
t_import = time.perf_counter() - t0
cfg = json.loads(sys.argv[1])
n, bonds = cfg["n_sites"], cfg["bonds"]
hop = [[-cfg["t"], i, j] for i, j in bonds]
hop_hc = [[cfg["t"], i, j] for i, j in bonds]     # c_i c+_j = -c+_j c_i
static = [["+-|", hop], ["-+|", hop_hc], ["|+-", hop], ["|-+", hop_hc],
          ["n|n", [[cfg["U"], i, i] for i in range(n)]]]
times = []
for _ in range(cfg["repeats"]):
    t0 = time.perf_counter()
    basis = spinful_fermion_basis_general(n, Nf=(cfg["n_up"], cfg["n_down"]))
    H = hamiltonian(static, [], basis=basis, dtype=np.float64,
                    check_symm=False, check_herm=False, check_pcon=False).tocsr()
    times.append(time.perf_counter() - t0)
np.savez(cfg["out"], data=H.data, indices=H.indices, indptr=H.indptr,
         states=np.asarray(basis.states, dtype=np.int64))
print(json.dumps({"times": times, "import_s": t_import, "version": quspin.__version__}))
"""


def time_ours(system_kwargs: dict, repeats: int):
    """Median wall time of make_system + basis + sparse H (fresh each repeat)."""
    from qsntk.physics import basis as basis_mod
    from qsntk.physics import make_system

    times, H, system = [], None, None
    for _ in range(repeats):
        basis_mod._fixed_weight.cache_clear()
        t0 = time.perf_counter()
        system = make_system("hubbard", **system_kwargs)
        H = system.sparse_hamiltonian()
        times.append(time.perf_counter() - t0)
    return times, H, system


def time_netket(system):
    """Wall times of building NetKet's FermionOperator2nd and of its to_sparse()."""
    t0 = time.perf_counter()
    op = system.operator
    t_op = time.perf_counter() - t0
    t0 = time.perf_counter()
    H = op.to_sparse()
    t_sparse = time.perf_counter() - t0
    return t_op, t_sparse, sp.csr_matrix(H)


def ensure_quspin() -> tuple[Path | None, str]:
    """The QuSpin venv's python, creating it with pip if missing; (None, why) on failure."""
    py = QUSPIN_VENV / "bin" / "python"
    if py.exists() and subprocess.run([str(py), "-c", "import quspin"],
                                      capture_output=True).returncode == 0:
        return py, "present"
    try:
        subprocess.run([sys.executable, "-m", "venv", str(QUSPIN_VENV)], check=True,
                       capture_output=True)
        proc = subprocess.run([str(py), "-m", "pip", "install", "-q", "quspin"],
                              capture_output=True, text=True, timeout=900)
    except (subprocess.SubprocessError, OSError) as exc:
        return None, f"could not create the QuSpin venv: {exc}"
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["pip failed"])[-1]
        return None, f"pip install quspin failed: {last}"
    return py, "installed"


def time_quspin(py: Path, system, repeats: int):
    """Run the QuSpin build in its venv; return (times, info, H permuted into our basis)."""
    with tempfile.TemporaryDirectory() as tmp:
        cfg = {"n_sites": system.n_sites, "bonds": system.bonds.tolist(), "t": T, "U": U,
               "n_up": N_UP, "n_down": N_DOWN, "repeats": repeats, "out": f"{tmp}/h.npz"}
        proc = subprocess.run([str(py), "-c", QUSPIN_WORKER, json.dumps(cfg)],
                              capture_output=True, text=True, timeout=900,
                              env={**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")})
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr.strip().splitlines()[-1])
        info = json.loads(proc.stdout.strip().splitlines()[-1])
        with np.load(cfg["out"]) as d:
            Hq = sp.csr_matrix((d["data"], d["indices"], d["indptr"]),
                               shape=(len(d["states"]),) * 2)
            states = d["states"]
    # QuSpin: high N bits = ↑ sites, low N bits = ↓ (site 0 most significant);
    # ours: high N bits = ↓, low = ↑.
    from qsntk.physics.basis import CodeIndex

    n = system.n_sites
    low = (1 << n) - 1
    ours_codes = ((states & low) << n) | (states >> n)
    perm = CodeIndex(system.codes)(ours_codes)  # QuSpin row q is our row perm[q]
    P = sp.csr_matrix((np.ones(len(perm)), (perm, np.arange(len(perm)))), shape=Hq.shape)
    return info["times"], info, (P @ Hq @ P.T).tocsr()


def max_diff(a, b) -> float:
    d = abs(a - b)
    return float(d.max()) if d.nnz else 0.0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--obc", action="store_true", help="open boundaries (default periodic)")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--no-netket", action="store_true")
    ap.add_argument("--no-quspin", action="store_true")
    args = ap.parse_args(argv)
    kw = dict(lx=LX, ly=LY, pbc=not args.obc, n_up=N_UP, n_down=N_DOWN, t=T, U=U)

    import netket
    import scipy

    rows, result = [], {
        "benchmark": "hubbard_build", "system": {**kw, "dim": None},
        "command": "python benchmarks/bench_hubbard_build.py" + (" --obc" if args.obc else ""),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "numpy": np.__version__, "scipy": scipy.__version__,
                    "netket": netket.__version__, "loadavg_1min": os.getloadavg()[0]},
        "target_s": 2.0,
    }
    t_ours, H, system = time_ours(kw, args.repeats)
    result["system"]["dim"], result["system"]["nnz"] = system.dim, int(H.nnz)
    result["ours"] = {"median_s": statistics.median(t_ours), "min_s": min(t_ours),
                      "repeats": len(t_ours)}
    rows.append(("qsntk (numpy, basis + H)", statistics.median(t_ours), min(t_ours), len(t_ours),
                 "reference"))

    if not args.no_netket:
        t_op, t_sparse, Hn = time_netket(system)
        d = max_diff(H, Hn)
        result["netket"] = {"operator_s": t_op, "to_sparse_s": t_sparse, "repeats": 1,
                            "max_abs_diff": d, "equal": d < 1e-12}
        rows.append(("NetKet FermionOperator2nd.to_sparse()", t_sparse, t_sparse, 1,
                     f"max|diff| = {d:.1e}"))

    if not args.no_quspin:
        py, how = ensure_quspin()
        if py is None:
            result["quspin"] = {"available": False, "why": how}
            rows.append(("QuSpin", float("nan"), float("nan"), 0, how))
        else:
            try:
                t_q, info, Hq = time_quspin(py, system, max(3, args.repeats // 2))
                d = max_diff(H, Hq)
                result["quspin"] = {"available": True, "version": info["version"],
                                    "median_s": statistics.median(t_q), "min_s": min(t_q),
                                    "first_s": t_q[0], "omp_num_threads":
                                    os.environ.get("OMP_NUM_THREADS", "1"),
                                    "times_s": t_q, "import_s": info["import_s"],
                                    "max_abs_diff": d, "equal": d < 1e-12}
                rows.append((f"QuSpin {info['version']} (basis + H)", statistics.median(t_q),
                             min(t_q), len(t_q), f"max|diff| = {d:.1e}"))
            except (RuntimeError, subprocess.SubprocessError) as exc:
                result["quspin"] = {"available": False, "why": str(exc)}
                rows.append(("QuSpin", float("nan"), float("nan"), 0, f"failed: {exc}"))

    bc = "open" if args.obc else "periodic"
    print(f"Hubbard 3x4 {bc}, 2up 2down, t={T:g}, U={U:g}: dim {system.dim}, nnz {H.nnz}, "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    ours_med = result["ours"]["median_s"]
    print(f"{'method':40s} {'median [s]':>10s} {'min [s]':>9s} {'runs':>5s} {'/ qsntk':>8s}  check")
    for name, med, low, n, note in rows:
        ratio = f"{med / ours_med:7.1f}x" if med == med and ours_med > 0 else "       -"
        print(f"{name:40s} {med:10.4f} {low:9.4f} {n:5d} {ratio}  {note}")
    for k in ("quspin", "netket"):
        info = result.get(k, {})
        med = info.get("median_s", info.get("to_sparse_s"))
        if med is not None and ours_med > 0:
            info["ratio_over_qsntk_median"] = med / ours_med
    ok = result["ours"]["median_s"] <= result["target_s"]
    print(f"target <= {result['target_s']} s: {'met' if ok else 'NOT met'}")
    out = ROOT / "benchmarks" / "results" / f"hubbard_build{'_obc' if args.obc else ''}.json"
    from qsntk.io import atomic_write_json

    atomic_write_json(out, result)
    print(f"wrote {out.relative_to(ROOT)}")
    equal = all(result[k]["equal"] for k in ("netket", "quspin")
                if k in result and result[k].get("available", True))
    return 0 if equal else 1


if __name__ == "__main__":
    sys.exit(main())
