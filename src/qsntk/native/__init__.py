r"""Fused CPU kernels, compiled on first use and called as XLA FFI targets (optional).

Two hot loops of qsntk are bound on XLA:CPU by the elementwise passes between thin
matrix products, which XLA neither fuses into its GEMMs nor spreads over the cores:

* ``qntk_sweep.cc`` -- the forward, adjoint and μ sweeps of one two-level circuit over a
  batch of angle samples (:func:`qsntk.circuits.native.sweep`, behind
  :func:`qsntk.circuits.qntk_batch`);
* ``pair_gd.cc`` -- full-batch gradient-descent steps of an ensemble of one-hidden-layer
  ReLU networks (:func:`qsntk.dynamics.ensemble.structured_gd_fn`).

Each does its work in cache-sized blocks with SIMD FMAs and shares the blocks between
the calling thread and XLA's intra-op thread pool. The pure-JAX code they replace stays
the reference (tests compare the two) and the path wherever they are not available.

The library is built the first time a kernel is asked for, with the machine's C++
compiler (``$CXX``, else ``g++``, ``c++`` or ``clang++``; ``-O3 -march=native``) against
the XLA FFI headers that ship with jaxlib (``common.h`` holds what both share), into ``$QSNTK_CACHE_DIR`` (default
``~/.cache/qsntk``) under a name keyed by the sources, the flags, the compiler, jaxlib's
version and the CPU, and written atomically (a concurrent build finds a whole file or
none). Where there is no compiler, the build fails, the default JAX backend is not the
CPU, or ``QSNTK_NATIVE=0`` is set, :func:`available` is False and :func:`why_not` says
why in one line.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

__all__ = ["available", "why_not", "library_path", "SOURCES", "HEADERS", "FLAGS", "TARGETS"]

HERE = Path(__file__).resolve().parent
SOURCES = (HERE / "qntk_sweep.cc", HERE / "pair_gd.cc")
HEADERS = (HERE / "common.h",)
FLAGS = ("-O3", "-march=native", "-ffp-contract=fast", "-std=c++17", "-shared", "-fPIC",
         "-pthread")
TARGETS = {"qsntk_qntk_sweep_f64": "QsntkSweepF64", "qsntk_qntk_sweep_f32": "QsntkSweepF32",
           "qsntk_pair_gd_f64": "QsntkPairGdF64", "qsntk_pair_gd_f32": "QsntkPairGdF32"}
"""FFI target name -> exported handler symbol."""

_lock = threading.Lock()
_state: dict = {}


def _compiler() -> str | None:
    for name in (os.environ.get("CXX"), "g++", "c++", "clang++"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def _cpu_signature() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text(errors="replace").splitlines()
    except OSError:
        lines = []
    flags = next((ln for ln in lines if ln.startswith(("flags", "Features"))), "")
    model = next((ln for ln in lines if ln.startswith("model name")), "")
    return f"{platform.machine()}|{model}|{flags}"


def library_path(cxx: str) -> Path:
    """Where the library built by ``cxx`` for these sources, jaxlib and CPU is cached."""
    import jaxlib

    try:
        version = subprocess.run([cxx, "--version"], capture_output=True, text=True,
                                 timeout=30).stdout.splitlines()[:1]
    except (OSError, subprocess.SubprocessError):
        version = []
    parts = [p.read_text() for p in SOURCES + HEADERS] + [" ".join(FLAGS), cxx, *version,
                                                jaxlib.__version__, _cpu_signature()]
    key = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    root = Path(os.environ.get("QSNTK_CACHE_DIR") or Path.home() / ".cache" / "qsntk")
    return root / "native" / f"qsntk-{key[:20]}.so"


def _build() -> Path:
    import jax

    cxx = _compiler()
    if cxx is None:
        raise RuntimeError("no C++ compiler found (set CXX, or install g++)")
    out = library_path(cxx)
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".qsntk-", suffix=".so", dir=out.parent)
    os.close(fd)
    try:
        cmd = [cxx, *FLAGS, "-I", jax.ffi.include_dir(), *map(str, SOURCES), "-o", tmp]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            first = next((ln for ln in r.stderr.splitlines() if "error" in ln),
                         (r.stderr.strip().splitlines() or ["?"])[-1])
            raise RuntimeError(f"compiling the native kernels failed: {first.strip()}")
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


def _load() -> None:
    import jax

    if os.environ.get("QSNTK_NATIVE", "1").strip().lower() in ("0", "false", "no", "off"):
        raise RuntimeError("disabled by QSNTK_NATIVE=0")
    if jax.default_backend() != "cpu":
        raise RuntimeError(f"the default JAX backend is {jax.default_backend()!r}, not the CPU")
    lib = ctypes.cdll.LoadLibrary(str(_build()))
    for name, symbol in TARGETS.items():
        jax.ffi.register_ffi_target(name, jax.ffi.pycapsule(getattr(lib, symbol)), platform="cpu")
    _state["lib"] = lib


def available() -> bool:
    """Whether the kernels are built and registered (building them on the first call)."""
    with _lock:
        if "ok" not in _state:
            try:
                _load()
                _state["ok"], _state["why"] = True, ""
            except Exception as exc:           # any failure means: use the pure-JAX paths
                _state["ok"], _state["why"] = False, f"{type(exc).__name__}: {exc}"
        return _state["ok"]


def why_not() -> str:
    """Why :func:`available` is False ('' when it is True)."""
    available()
    return _state["why"]
