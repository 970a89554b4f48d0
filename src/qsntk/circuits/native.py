r"""A fused CPU kernel for the QNTK sweeps of one two-level circuit (optional, built on first use).

:func:`qsntk.circuits.fast.unrolled` is the reference: the same forward, adjoint and μ
sweeps (eqs. 6, 8 and 14 of Liu et al.), the same arithmetic. On XLA:CPU it spends
more than half its time in the elementwise passes between its thin ``(2D, 2D) @ (2D, B)``
products and runs them on one thread. ``_sweep.cc`` does each block of samples from
start to end in cache, as SIMD FMAs over the samples (blocks of 8 in double, 16 in
single precision), and shares the blocks between the calling thread and XLA's own
intra-op thread pool (threads of its own would compete with that pool's spinning
workers: 1.6x slower measured); it is an XLA FFI target, so it runs inside ``jax.jit``
like any other op (docs/qntk.md, benchmarks).

It is compiled the first time it is asked for, with the C++ compiler of the machine
(``$CXX``, else ``g++`` or ``c++``; ``-O3 -march=native``) against the XLA FFI
headers that ship with jaxlib, into ``$QSNTK_CACHE_DIR`` (default
``~/.cache/qsntk``), keyed by the source, the flags, the compiler, jaxlib's version and
the CPU, and written atomically. Where there is no compiler, the build fails, the
backend is not a CPU or ``QSNTK_NATIVE=0`` is set, :func:`available` is False,
:func:`why_not` says why, and :func:`qsntk.circuits.qntk_batch` takes the pure-JAX path.
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

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["available", "why_not", "sweep", "library_path"]

SOURCE = Path(__file__).with_name("_sweep.cc")
FLAGS = ("-O3", "-march=native", "-ffp-contract=fast", "-std=c++17", "-shared", "-fPIC", "-pthread")
_TARGETS = {np.dtype(np.float64): ("qsntk_qntk_sweep_f64", "QsntkSweepF64"),
            np.dtype(np.float32): ("qsntk_qntk_sweep_f32", "QsntkSweepF32")}
_lock = threading.Lock()
_state: dict = {}


def _compiler() -> str | None:
    for name in (os.environ.get("CXX"), "g++", "c++", "clang++"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def _cpu_signature() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
        flags = next((ln for ln in text.splitlines() if ln.startswith(("flags", "Features"))), "")
        model = next((ln for ln in text.splitlines() if ln.startswith("model name")), "")
    except OSError:
        flags = model = ""
    return f"{platform.machine()}|{model}|{flags}"


def library_path(cxx: str) -> Path:
    """Where the compiled kernel for this source, compiler, jaxlib and CPU is cached."""
    import jaxlib

    try:
        version = subprocess.run([cxx, "--version"], capture_output=True, text=True,
                                 timeout=30).stdout.splitlines()[:1]
    except (OSError, subprocess.SubprocessError):
        version = []
    key = hashlib.sha256("\n".join([SOURCE.read_text(), " ".join(FLAGS), cxx, *version,
                                    jaxlib.__version__, _cpu_signature()]).encode()).hexdigest()
    root = Path(os.environ.get("QSNTK_CACHE_DIR") or Path.home() / ".cache" / "qsntk")
    return root / "native" / f"sweep-{key[:20]}.so"


def _build() -> Path:
    cxx = _compiler()
    if cxx is None:
        raise RuntimeError("no C++ compiler found (set CXX, or install g++)")
    out = library_path(cxx)
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".sweep-", suffix=".so", dir=out.parent)
    os.close(fd)
    try:
        cmd = [cxx, *FLAGS, "-I", jax.ffi.include_dir(), str(SOURCE), "-o", tmp]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            last = (r.stderr.strip().splitlines() or ["?"])[-1]
            raise RuntimeError(f"compiling {SOURCE.name} failed: {last}")
        os.replace(tmp, out)                   # atomic: a concurrent build finds a whole file
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


def _load() -> None:
    if os.environ.get("QSNTK_NATIVE", "1").strip().lower() in ("0", "false", "no", "off"):
        raise RuntimeError("disabled by QSNTK_NATIVE=0")
    if jax.default_backend() != "cpu":
        raise RuntimeError(f"the default JAX backend is {jax.default_backend()!r}, not the CPU")
    lib = ctypes.cdll.LoadLibrary(str(_build()))
    for name, symbol in _TARGETS.values():
        jax.ffi.register_ffi_target(name, jax.ffi.pycapsule(getattr(lib, symbol)), platform="cpu")
    _state["lib"] = lib


def available() -> bool:
    """Whether the kernel is built and registered (building it on the first call)."""
    with _lock:
        if "ok" not in _state:
            try:
                _load()
                _state["ok"], _state["why"] = True, ""
            except Exception as exc:           # any failure means: use the pure-JAX path
                _state["ok"], _state["why"] = False, f"{type(exc).__name__}: {exc}"
        return _state["ok"]


def why_not() -> str:
    """Why :func:`available` is False ('' when it is True)."""
    available()
    return _state["why"]


def sweep(tl, RO, p0, cos, sin, *, with_mu: bool = True, threads: int = 0):
    r"""ε, ∂ε/∂θ, K and μ of one two-level circuit for a batch of samples, on the CPU.

    The same quantities, to rounding, as :func:`qsntk.circuits.fast.unrolled`, for any
    number of layers.

    Arguments:
        tl: one (unbatched) :class:`~qsntk.circuits.fast.TwoLevel` circuit with ``L`` layers.
        RO: ``(2D, 2D)`` ``realmat(O)``; p0: ``(2D,)`` real input state.
        cos, sin: ``(L, B)`` :math:`\cos h_\ell\theta_\ell` and :math:`\sin h_\ell\theta_\ell`.
        with_mu: compute μ (else NaN).
        threads: threads to share the blocks of samples among, the calling one included
            (0: the caller and every thread of XLA's intra-op pool; 1: the caller alone).

    Returns:
        ``(eps (B,), grad (B, L), K (B,), mu (B,))`` in the circuit's real type.
    """
    if not available():
        raise RuntimeError(f"the native QNTK kernel is not available ({why_not()})")
    dt = np.dtype(tl.first.dtype)
    name, _ = _TARGETS[dt]
    n2 = tl.first.shape[-1]
    GT = jnp.swapaxes(tl.fold[..., :n2], -1, -2)
    psi = jnp.matmul(jnp.asarray(p0, dt), tl.first, precision="highest")
    L, B = cos.shape
    shape = jax.ShapeDtypeStruct
    call = jax.ffi.ffi_call(name, (shape((B,), dt), shape((B, L), dt), shape((B,), dt),
                                   shape((B,), dt)), vmap_method="sequential")
    return call(GT, tl.sign.astype(dt), tl.h.astype(dt), jnp.asarray(RO, dt).T, psi,
                cos.astype(dt), sin.astype(dt), with_mu=np.int32(bool(with_mu)),
                threads=np.int32(threads))
