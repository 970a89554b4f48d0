"""Error bars of the mean of correlated VMC energies (qsntk.vmc.errorbars).

The reference is the exact standard deviation of the mean of a stationary AR(1)
series, against which each estimator is checked over many seeded draws.
"""

import numpy as np
import pytest

from qsntk.vmc.errorbars import ar1_error, blocking_error, finite_mean, tail_mean_error


def _ar1(phi, n, rng, burn=200):
    e = rng.standard_normal(n + burn)
    x = np.empty_like(e)
    x[0] = e[0] / np.sqrt(1 - phi**2)
    for i in range(1, len(e)):
        x[i] = phi * x[i - 1] + e[i]
    return x[burn:]


def _ar1_error_of_mean(phi, n):
    """Exact standard deviation of the mean of n steps of a stationary AR(1), unit innovations."""
    k = np.arange(1, n)
    return np.sqrt(1 / (1 - phi**2) / n * (1 + 2 * np.sum((1 - k / n) * phi**k)))


def test_tail_error_is_honest_on_correlated_series():
    """On AR(1) series with known variance of the mean the estimate is not far below the truth
    (the naive std/sqrt(n) is, by sqrt((1+phi)/(1-phi)) = 3 at phi = 0.8); it is never below the
    per-step Monte-Carlo errors combined, sqrt(sum sigma_i^2)/n."""
    rng = np.random.default_rng(0)
    for phi, n, floor in [(0.0, 100, 0.85), (0.8, 100, 0.8), (0.8, 1000, 0.9), (0.9, 1000, 0.9)]:
        truth = _ar1_error_of_mean(phi, n)
        est, naive = [], []
        for _ in range(100):
            x = _ar1(phi, n, rng)
            est.append(tail_mean_error(x, np.zeros(n))["error"])
            naive.append(np.std(x, ddof=1) / np.sqrt(n))
        assert np.median(est) > floor * truth, (phi, n, np.median(est) / truth)
        assert np.median(est) < 1.5 * truth
        if phi:
            assert np.median(naive) < 0.6 * truth          # what the old key reported
    # the floor: six steps whose energies happen to agree still carry their MC errors
    e = np.array([-10.2536, -10.2535, -10.2537, -10.2536, -10.2535, -10.2536])
    s = np.full(6, 0.004)
    r = tail_mean_error(e, s)
    assert r["mc"] == pytest.approx(np.sqrt(6 * 0.004**2) / 6)
    assert r["error"] == r["mc"] > r["scatter"]
    assert r["error"] >= np.std(e, ddof=1) / np.sqrt(6)
    assert np.isnan(tail_mean_error([1.0], [np.nan])["error"])


def test_each_estimator_against_the_exact_ar1_error():
    """Blocking and the AR(1) formula, separately: both near the truth at phi = 0.8, n = 4096
    (blocking a little below it, as a plateau read off finite blocks is), and both equal to the
    naive std/sqrt(n) (within scatter) on independent values."""
    rng = np.random.default_rng(1)
    n = 4096
    for phi, lo in [(0.0, 0.9), (0.8, 0.8)]:
        truth = _ar1_error_of_mean(phi, n)
        xs = [_ar1(phi, n, rng) for _ in range(40)]
        for f in (blocking_error, ar1_error):
            ratio = np.median([f(x) for x in xs]) / truth
            assert lo < ratio < 1.2, (f.__name__, phi, ratio)


def test_non_finite_entries_are_dropped():
    x = np.array([1.0, np.nan, 3.0, np.inf, 2.0])
    assert finite_mean(x) == 2.0 and np.isnan(finite_mean([np.nan]))
    assert blocking_error(x) == pytest.approx(blocking_error([1.0, 3.0, 2.0]))
    assert ar1_error(x) == pytest.approx(ar1_error([1.0, 3.0, 2.0]))
    assert np.isnan(blocking_error([1.0])) and np.isnan(ar1_error([np.nan, 2.0]))
