"""One XLA CPU device per core, for work that is parallel over independent networks.

XLA runs each operation of a program across the cores of its one CPU device. For
the ensemble step (:func:`qsntk.dynamics.ensemble.structured_gd_fn`) the operations
are thin (13-column GEMMs on 100-row chunks) and the threads spend much of their
time synchronizing; giving each core its own XLA device and each device its own
networks is 1.2–1.3× faster on a 2-core machine (``benchmarks/bench_ensemble.py``
measures both in one run). The flag must be set before JAX starts its CPU
backend, so it is the command line's job (``qsntk supervised``, ``qsntk
reproduce``), not the library's: in Python, set it yourself before importing JAX::

    XLA_FLAGS=--xla_force_host_platform_device_count=2 python my_script.py

This module imports nothing heavy and must stay that way.
"""

from __future__ import annotations

import os
import sys

FLAG = "--xla_force_host_platform_device_count"


def _backends_started() -> bool:
    """Whether JAX has read ``XLA_FLAGS`` already (importing JAX alone does not)."""
    if "jax" not in sys.modules:
        return False
    try:
        from jax._src import xla_bridge
        return bool(xla_bridge.backends_are_initialized())
    except (ImportError, AttributeError):  # a JAX without this private helper: assume started
        return True


def expose_host_cores(n: int | None = None) -> int:
    """Ask XLA for ``n`` CPU devices (default: the usable cores), if still possible.

    Does nothing (returns 0) once JAX has started its backends, when the user set
    the flag in ``XLA_FLAGS`` or when ``QSNTK_HOST_DEVICES=1``. Accelerators are not
    affected: on a GPU machine the default device stays the GPU.

    Returns:
        The number of CPU devices requested, or 0 when nothing was changed.
    """
    if _backends_started() or FLAG in os.environ.get("XLA_FLAGS", ""):
        return 0
    want = os.environ.get("QSNTK_HOST_DEVICES", "").strip()
    if n is None:
        if want.isdigit() and int(want) >= 1:
            n = int(want)
        else:
            n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    n = int(n or 1)
    if n <= 1:
        return 0
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {FLAG}={n}".strip()
    return n
