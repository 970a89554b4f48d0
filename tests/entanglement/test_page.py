"""Page's value and the exact Haar moments against explicit sums and Monte Carlo."""

import math

import numpy as np
import pytest

from qsntk.entanglement import page as pg


def test_page_small_cases_and_symmetry():
    assert abs(pg.page_entropy(2, 2) - 1 / 3) < 1e-15                  # 1/3 + 1/4 - 1/4
    assert abs(pg.page_entropy(1, 7)) < 1e-15                           # product: no entanglement
    assert pg.page_entropy(3, 5) == pg.page_entropy(5, 3)
    # large-n: log m - m/(2n)
    assert abs(pg.page_entropy(64, 2**20) - (math.log(64) - 64 / 2**21)) < 1e-6


def test_page_digamma_branch_matches_explicit_sum():
    m, n = 1024, 1024                                                    # mn > 1e6 -> digamma
    direct = math.fsum(1.0 / k for k in range(n + 1, m * n + 1)) - (m - 1) / (2 * n)
    assert abs(pg.page_entropy(m, n) - direct) < 1e-12


def test_haar_moments_closed_forms():
    for m, n in ((2, 3), (4, 4), (3, 8)):
        assert abs(pg.haar_moment(m, n, (2,)) - pg.haar_purity(m, n)) < 1e-15
        N = m * n
        # E Tr rho^3 = (m^2 + n^2 + 3mn + 1) / ((N+1)(N+2)) (Wick sum over S_3)
        t3 = (m * m + n * n + 3 * m * n + 1) / ((N + 1) * (N + 2))
        assert abs(pg.haar_moment(m, n, (3,)) - t3) < 1e-15
        assert pg.haar_purity_variance(m, n) > 0
    assert pg.haar_moment(1, 5, (2, 2)) == pytest.approx(1.0)          # product states: P = 1


def _mc(m, n, draws, real=False, seed=0):
    rng = np.random.default_rng(seed)
    G = rng.standard_normal((draws, m, n))
    if not real:
        G = G + 1j * rng.standard_normal((draws, m, n))
    rho = G @ np.conj(np.swapaxes(G, 1, 2))
    rho /= np.trace(rho, axis1=1, axis2=2).real[:, None, None]
    P = np.einsum("bij,bji->b", rho, rho).real
    P3 = np.einsum("bij,bjk,bki->b", rho, rho, rho).real
    return P, P3


def test_haar_moments_against_monte_carlo():
    m, n, draws = 3, 5, 40000
    P, P3 = _mc(m, n, draws)
    for est, exact in ((P, pg.haar_purity(m, n)), (P3, pg.haar_moment(m, n, (3,))),
                       (P * P, pg.haar_moment(m, n, (2, 2)))):
        se = est.std(ddof=1) / math.sqrt(draws)
        assert abs(est.mean() - exact) < 4 * se
    S2 = -np.log(P)
    assert abs(S2.mean() - pg.haar_renyi2(m, n)) < 4 * S2.std(ddof=1) / math.sqrt(draws) + 2e-4
    assert pg.haar_renyi2_annealed(m, n) < pg.haar_renyi2(m, n)


def test_real_haar_purity_against_monte_carlo():
    m, n, draws = 4, 6, 40000
    P, _ = _mc(m, n, draws, real=True, seed=3)
    assert abs(P.mean() - pg.real_haar_purity(m, n)) < 4 * P.std(ddof=1) / math.sqrt(draws)
