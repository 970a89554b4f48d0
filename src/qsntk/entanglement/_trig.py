"""A fast, vectorizable ``(cos x, sin x)`` for float64 arrays (fdlibm kernels).

XLA's CPU ``cos``/``sin`` for float64 cost ~10x a few multiply-adds here, and
the ensemble pipeline evaluates millions of them. :func:`sincos` shares one
Cody–Waite range reduction ``x = k π/2 + r`` (π/2 split in three parts, the
first with 33 significant bits, so ``k * P1`` is exact for ``|k| < 2^20``) and
evaluates the fdlibm minimax polynomials ``__kernel_sin``/``__kernel_cos`` on
``|r| <= π/4``. Absolute error is below 3e-16 for ``|x| < 1e6`` (pinned by a
test against ``jnp.cos``/``jnp.sin``); arrays with any larger entry fall back to
XLA's functions.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["sincos", "SINCOS_LIMIT"]

SINCOS_LIMIT = 1.0e6
_P1, _P2, _P3 = 1.57079632673412561417e+00, 6.07710050630396597660e-11, 2.02226624871116645580e-21
_S = (-1.66666666666666324348e-01, 8.33333333332248946124e-03, -1.98412698298579493134e-04,
      2.75573137070700676789e-06, -2.50507602534068634195e-08, 1.58969099521155010221e-10)
_C = (4.16666666666666019037e-02, -1.38888888888741095749e-03, 2.48015872894767294178e-05,
      -2.75573143513906633035e-07, 2.08757232129817482790e-09, -1.13596475577881948265e-11)


def _poly(z, coeffs):
    p = coeffs[-1]
    for c in coeffs[-2::-1]:
        p = p * z + c
    return p


def _fast(x):
    k = jnp.round(x * (2.0 / np.pi))
    r = ((x - k * _P1) - k * _P2) - k * _P3
    z = r * r
    sr = r + r * z * _poly(z, _S)
    cr = 1.0 - 0.5 * z + z * z * _poly(z, _C)
    n = k.astype(jnp.int32) & 3
    sin = jnp.where(n == 0, sr, jnp.where(n == 1, cr, jnp.where(n == 2, -sr, -cr)))
    cos = jnp.where(n == 0, cr, jnp.where(n == 1, -sr, jnp.where(n == 2, -cr, sr)))
    return cos, sin


def sincos(x):
    """``(cos x, sin x)`` of a float64 array (module doc for accuracy)."""
    x = jnp.asarray(x)
    if x.dtype != jnp.float64:
        return jnp.cos(x), jnp.sin(x)
    big = jnp.any(jnp.abs(x) >= SINCOS_LIMIT)
    return jax.lax.cond(big, lambda y: (jnp.cos(y), jnp.sin(y)), _fast, x)
