"""Vectorizable arcsin/arccos (kernel evaluation) and sin/cos (circuit angles).

XLA:CPU lowers ``arccos``/``arctan2`` to scalar libm calls (~25 ns an element
on the 2-core machines here), which dominated the arc-cosine kernel. These
versions use only multiply-adds, ``sqrt`` and selects, so XLA vectorizes and
fuses them; in float64 they are within 1.4e-15 of ``numpy.arcsin``/``numpy.arccos``
(asin within 12 ulp; tested on a dense grid in ``tests/kernels/test_special.py``).

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


# sin/cos: Cody–Waite reduction by π/2 in two 33-bit parts with their tails, then the
# minimax kernels on [−π/4, π/4]; constants as published in fdlibm / FreeBSD msun
# (e_rem_pio2.c, k_sin.c, k_cos.c).
_INVPIO2 = 6.36619772367581382433e-01
_PIO2_1, _PIO2_1T = 1.57079632673412561417e+00, 6.07710050650619224932e-11
_PIO2_2, _PIO2_2T = 6.07710050630396597660e-11, 2.02226624879595063154e-21
_S = (-1.66666666666666324348e-01, 8.33333333332248946124e-03, -1.98412698298579493134e-04,
      2.75573137070700676789e-06, -2.50507602534068634195e-08, 1.58969099521155010221e-10)
_C = (4.16666666666666019037e-02, -1.38888888888741095749e-03, 2.48015872894767294178e-05,
      -2.75573143513906633035e-07, 2.08757232129817482790e-09, -1.13596475577881948265e-11)
SINCOS_MAX_ARG = 1.0e6   # |x| below which the two-part reduction is exact (2^20 π/2 ≈ 1.6e6)


def _sincos_reduced(x):
    n = jnp.round(x * _INVPIO2)
    t = x - n * _PIO2_1                      # exact: n·_PIO2_1 has ≤ 53 bits for |n| < 2^20
    w = n * _PIO2_1T
    r = t - n * _PIO2_2
    w = n * _PIO2_2T - ((t - r) - n * _PIO2_2)
    y0 = r - w
    y1 = (r - y0) - w                        # y0 + y1 = x − n π/2 to ~118 bits
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
    """``(sin x, cos x)`` of a float64 array, within 1 ulp of ``numpy.sin``/``numpy.cos``.

    Multiply-adds and selects only (XLA fuses and vectorizes them: 5.5× faster than
    ``jnp.sin`` and ``jnp.cos`` on XLA:CPU). Arrays with any ``|x| ≥ SINCOS_MAX_ARG``
    (or a non-finite entry) take ``jnp.sin``/``jnp.cos`` instead, decided once for
    the whole array (``lax.cond``), so the result is always the library's accuracy or better.
    Other dtypes go straight to ``jnp.sin``/``jnp.cos``.
    """
    import jax

    x = jnp.asarray(x)
    if x.dtype != jnp.float64:
        return jnp.sin(x), jnp.cos(x)
    ok = jnp.all(jnp.abs(x) < SINCOS_MAX_ARG)        # False for inf and nan as well
    return jax.lax.cond(ok, _sincos_reduced, lambda a: (jnp.sin(a), jnp.cos(a)), x)
