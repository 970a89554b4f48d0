"""Vectorizable arcsin/arccos (kernel evaluation) and sin/cos (circuit angles).

XLA:CPU lowers ``arccos``/``arctan2`` to scalar libm calls (~25 ns an element
on the 2-core machines here), which dominated the arc-cosine kernel. These
versions use only multiply-adds, ``sqrt`` and selects, so XLA vectorizes and
fuses them; in float64 they are within 1.4e-15 of ``numpy.arcsin``/``numpy.arccos``
(asin within 12 ulp; tested on a dense grid in ``tests/test_special.py``).

Method: for ``|x| <= 1/2``, ``asin(x) = x f(x²)`` with ``f(z) = asin(√z)/√z``
expanded in Chebyshev polynomials of ``t = 8z − 1`` on ``z ∈ [0, 1/4]`` (13
terms reach double precision; fitted once with numpy and written below); for
``|x| > 1/2``, ``asin(x) = ±(π/2 − 2 asin(√((1 − |x|)/2)))``.

XLA:CPU's float64 ``sin``/``cos`` are scalar calls as well (~29 ns an element);
:func:`sincos` is the polynomial replacement, used for the per-sample angle columns
of the circuit sweeps (:func:`qsntk.circuits.fast.angle_columns`).
"""

from __future__ import annotations

import jax.numpy as jnp

# Chebyshev coefficients of asin(√z)/√z on z ∈ [0, 1/4] in t = 8z − 1.
_CHEB = (1.0228481341070081, 0.023566968676718484, 0.0007490956675975526,
         3.172549626522087e-05, 1.5413013620797996e-06, 8.116454909729816e-08,
         4.506869523812194e-09, 2.598292602940679e-10, 1.540462697228312e-11,
         9.333153527137728e-13, 5.755447150098123e-14, 3.620683370176968e-15,
         2.4910534742882687e-16)


def _asin_small(x):
    """asin(x) for |x| <= 1/2 (Clenshaw recurrence)."""
    t = 8 * x * x - 1
    b1 = jnp.zeros_like(x)
    b2 = jnp.zeros_like(x)
    for c in _CHEB[:0:-1]:
        b1, b2 = 2 * t * b1 - b2 + c, b1
    return x * (t * b1 - b2 + _CHEB[0])


def asin(x):
    """arcsin on [-1, 1] (inputs are clipped there)."""
    x = jnp.clip(x, -1.0, 1.0)
    a = jnp.abs(x)
    big = a > 0.5
    y = jnp.where(big, jnp.sqrt(jnp.maximum(1 - a, 0.0) / 2), a)
    s = _asin_small(y)
    r = jnp.where(big, jnp.pi / 2 - 2 * s, s)
    return jnp.sign(x) * r


def acos(x):
    """arccos on [-1, 1] (inputs are clipped there)."""
    return jnp.pi / 2 - asin(x)


# sin/cos: Cody–Waite reduction x = n π/2 + (y0 + y1), π/2 split as _PIO2_1 + _PIO2_2 + _PIO2_2T
# (33 + 33 + 53 bits; the products n·_PIO2_1 and n·_PIO2_2 are exact for |n| < 2^20), then the
# minimax kernels on [−π/4, π/4] with the tail y1; constants as published in fdlibm / FreeBSD
# msun (e_rem_pio2.c, k_sin.c, k_cos.c).
_INVPIO2 = 6.36619772367581382433e-01
_PIO2_1 = 1.57079632673412561417e+00
_PIO2_2, _PIO2_2T = 6.07710050630396597660e-11, 2.02226624879595063154e-21
_S = (-1.66666666666666324348e-01, 8.33333333332248946124e-03, -1.98412698298579493134e-04,
      2.75573137070700676789e-06, -2.50507602534068634195e-08, 1.58969099521155010221e-10)
_C = (4.16666666666666019037e-02, -1.38888888888741095749e-03, 2.48015872894767294178e-05,
      -2.75573143513906633035e-07, 2.08757232129817482790e-09, -1.13596475577881948265e-11)
SINCOS_MAX_ARG = 1.0e6   # below 2^20 π/2 ≈ 1.6e6, where the reduction above holds


def sincos_in_range(x):
    """``(sin x, cos x)`` for float64 ``x`` with every ``|x| < SINCOS_MAX_ARG`` (not checked).

    Multiply-adds and selects only, so XLA fuses and vectorizes them (3.5× faster than
    ``jnp.sin`` and ``jnp.cos`` on XLA:CPU, ``benchmarks/qntk_breakdown.py``); within about 1 ulp
    of a correctly rounded result (1.06 ulp at worst next to a multiple of π/2, where the
    reduction loses more than 49 bits and fdlibm would take a third step)."""
    n = jnp.round(x * _INVPIO2)
    t = x - n * _PIO2_1
    r = t - n * _PIO2_2
    w = n * _PIO2_2T - ((t - r) - n * _PIO2_2)
    y0 = r - w
    y1 = (r - y0) - w
    z = y0 * y0
    zz = z * z
    v = z * y0
    rs = _S[1] + z * (_S[2] + z * _S[3]) + z * zz * (_S[4] + z * _S[5])
    s = y0 - ((z * (0.5 * y1 - v * rs) - y1) - v * _S[0])
    rc = z * (_C[0] + z * (_C[1] + z * _C[2])) + zz * zz * (_C[3] + z * (_C[4] + z * _C[5]))
    hz = 0.5 * z
    w = 1.0 - hz
    c = w + (((1.0 - w) - hz) + (z * rc - y0 * y1))
    q = n.astype(jnp.int32) & 3
    sin = jnp.where(q == 0, s, jnp.where(q == 1, c, jnp.where(q == 2, -s, -c)))
    cos = jnp.where(q == 0, c, jnp.where(q == 1, -s, jnp.where(q == 2, -c, s)))
    return sin, cos


def sincos(x):
    """``(sin x, cos x)``: :func:`sincos_in_range` for float64 arrays whose entries are all
    below ``SINCOS_MAX_ARG`` in magnitude, else ``jnp.sin``/``jnp.cos``; other dtypes go to
    ``jnp.sin``/``jnp.cos`` directly.

    The range is checked once for the whole array with ``lax.cond`` (under ``vmap`` both
    branches run). A caller that knows the range on the host, e.g. for sharded arrays
    where the check would be a cross-device reduction, calls :func:`sincos_in_range`.
    """
    import jax

    x = jnp.asarray(x)
    if x.dtype != jnp.float64:
        return jnp.sin(x), jnp.cos(x)
    ok = jnp.all(jnp.abs(x) < SINCOS_MAX_ARG)        # False for inf and nan as well
    return jax.lax.cond(ok, sincos_in_range, lambda a: (jnp.sin(a), jnp.cos(a)), x)
