"""The vectorizable elementary functions of ``qsntk.special`` against numpy's libm."""

import jax
import jax.numpy as jnp
import numpy as np

from qsntk.special import SINCOS_MAX_ARG, acos, asin, sincos, sincos_in_range


def _ulps(a, ref):
    return np.abs(a - ref) / np.spacing(np.abs(ref))


def test_asin_acos_match_numpy_on_a_dense_grid():
    x = np.concatenate([np.linspace(-1, 1, 200_001), [-1.0, -0.5, 0.0, 0.5, 1.0, 1e-300]])
    a, c = np.asarray(jax.jit(asin)(x)), np.asarray(jax.jit(acos)(x))
    # measured: 1.3e-15 absolute for both, asin within 12 ulp
    assert np.max(np.abs(a - np.arcsin(x))) < 2e-15
    assert np.max(np.abs(c - np.arccos(x))) < 2e-15
    away = np.abs(x) > 1e-3
    assert np.max(_ulps(a[away], np.arcsin(x[away]))) <= 16


def test_sincos_within_one_ulp_of_numpy():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(-20, 20, 400_000), np.linspace(-9e5, 9e5, 400_001),
                        np.arange(-2000, 2001) * (np.pi / 2),            # near the quadrant cuts
                        np.nextafter(np.arange(-200, 201) * (np.pi / 2), np.inf),
                        [0.0, -0.0, 5e-324, 1e-300, 1e-8, -1e-8]])
    s, c = (np.asarray(v) for v in jax.jit(sincos)(x))
    s2, c2 = (np.asarray(v) for v in jax.jit(sincos_in_range)(x))
    assert np.array_equal(s, s2) and np.array_equal(c, c2)              # the polynomial path
    assert np.max(np.abs(s - np.sin(x))) <= 2.3e-16 and np.max(np.abs(c - np.cos(x))) <= 2.3e-16
    for got, ref in ((s, np.sin(x)), (c, np.cos(x))):
        away = np.abs(ref) > 1e-6
        assert np.max(_ulps(got[away], ref[away])) <= 1.0


def test_sincos_next_to_multiples_of_half_pi_against_an_exact_reduction():
    """Where x is within a few ulp of k π/2 the small one of sin x, cos x is ±r,
    r = x − k π/2, and only the reduction's tails (π/2's third part, y1) get it right."""
    from decimal import Decimal, getcontext

    getcontext().prec = 60
    half_pi = Decimal("3.14159265358979323846264338327950288419716939937510582097494459") / 2
    k = np.concatenate([np.arange(1, 400), np.arange(1, 398) * 1597, [636618]])  # x < 1e6
    x = np.concatenate([k * (np.pi / 2), np.nextafter(k * (np.pi / 2), np.inf)])
    kk = np.concatenate([k, k])
    assert np.abs(x).max() < SINCOS_MAX_ARG
    s, c = (np.asarray(v) for v in jax.jit(sincos_in_range)(x))
    for xi, ki, si, ci in zip(x, kk, s, c):
        r = float(Decimal(float(xi)) - int(ki) * half_pi)                # exact to ~1e-40
        q = int(ki) % 4                                                  # sin, cos of kπ/2 + r
        small, want = {0: (si, r), 1: (ci, -r), 2: (si, -r), 3: (ci, r)}[q]
        assert abs(small - want) <= 1.5 * np.spacing(abs(want)), (xi, small, want)


def test_sincos_falls_back_for_huge_or_non_finite_arguments():
    x = np.array([0.3, 2 * SINCOS_MAX_ARG, 1e300])
    s, c = (np.asarray(v) for v in jax.jit(sincos)(x))
    np.testing.assert_array_equal(s, np.asarray(jnp.sin(x)))
    np.testing.assert_array_equal(c, np.asarray(jnp.cos(x)))
    s, c = (np.asarray(v) for v in sincos(np.array([1.0, np.inf, np.nan])))
    assert np.isnan(s[1:]).all() and np.isnan(c[1:]).all()
    assert abs(s[0] - np.sin(1.0)) <= np.spacing(np.sin(1.0))
    s32, c32 = sincos(np.float32(0.5))                                  # other dtypes: jnp.sin/cos
    assert s32.dtype == jnp.float32 and abs(float(c32) - np.cos(0.5)) < 1e-7
