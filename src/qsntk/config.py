"""Numerical precision.

qsntk runs in double precision by default: exact ground states, kernels on
thousands of points and their eigendecompositions need it. For speed, switch
to single precision, before any array is created, with either

* the environment variable ``QSNTK_PRECISION=float32``, or
* ``qsntk.set_precision("float32")`` in Python, or
* ``--float32`` on the commands that offer it.

``default_dtype()`` is the real dtype that qsntk creates arrays with; complex
arrays use the matching complex dtype (``complex_dtype()``). JAX's x64 mode
stays on in both cases, so float64 reference computations remain possible.

Single precision is true float32. On NVIDIA GPUs JAX computes float32 dot products
in TF32 (10-bit mantissas) unless told otherwise: qsntk's float32 hot paths (the
ensemble GD step, the QNTK's inner products) ask for ``precision="highest"``, and the
``qsntk`` command sets ``jax_default_matmul_precision="highest"`` for its process
unless the environment variable ``JAX_DEFAULT_MATMUL_PRECISION`` is set (e.g. to
``tensorfloat32`` for speed). In library use that global setting is the caller's.
On a CPU the choice changes nothing (XLA:CPU gives the same bits).
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp

_PRECISIONS = ("float64", "float32")
_state = {"precision": "float64"}


def set_precision(precision: str) -> None:
    """Set the default real dtype: ``"float64"`` (default) or ``"float32"``."""
    from qsntk.errors import check_choice

    check_choice("precision", precision, _PRECISIONS)
    _state["precision"] = precision
    jax.config.update("jax_enable_x64", True)


def default_dtype():
    """The real dtype qsntk creates arrays with."""
    return jnp.float64 if _state["precision"] == "float64" else jnp.float32


def complex_dtype():
    """The complex dtype matching :func:`default_dtype`."""
    return jnp.complex128 if _state["precision"] == "float64" else jnp.complex64


def precision() -> str:
    """The current precision name."""
    return _state["precision"]


def _apply_default() -> None:
    env = os.environ.get("QSNTK_PRECISION", "float64").strip().lower()
    if env not in _PRECISIONS:
        env = "float64"
    set_precision(env)
