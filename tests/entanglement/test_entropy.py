"""Entropies of states against closed forms, a second method (numpy SVD) and Page's value."""

import math

import numpy as np
import pytest

from qsntk.entanglement import page as pg
from qsntk.entanglement.entropy import (METHODS, entropies, entropy_curve, prefix_cuts, product_cut,
                                        purities, renyi_entropy, schmidt_probabilities)
from qsntk.errors import InputError

RNG = np.random.default_rng(7)


def _haar(n_states, dim, rng=RNG):
    return rng.standard_normal((n_states, dim)) + 1j * rng.standard_normal((n_states, dim))


def _numpy_schmidt(psi, A, n, q=2):
    """Second method: transpose with numpy, SVD with numpy."""
    B = [s for s in range(n) if s not in A]
    t = np.transpose(psi.reshape((q,) * n), list(A) + B).reshape(q ** len(A), -1)
    s = np.linalg.svd(t / np.linalg.norm(psi), compute_uv=False)
    return np.sort(s * s)[::-1]


def test_product_bell_and_ghz_states():
    up = np.array([1.0, 0.0])
    plus = np.array([1.0, 1.0]) / math.sqrt(2)
    prod = np.kron(np.kron(up, plus), np.kron(plus, up))
    for A in ([0], [1, 2], [0, 3], [1]):
        S = entropies(prod, product_cut(A, n_sites=4), (1, 2, "inf"))
        assert all(abs(float(v)) < 1e-12 for v in S.values())
    bell = np.zeros(4)
    bell[[0, 3]] = 1.0                                         # unnormalized on purpose
    S = entropies(bell, product_cut([0], n_sites=2), (1, 2, 3, "inf"))
    for v in S.values():
        assert abs(float(v) - math.log(2)) < 1e-14
    ghz = np.zeros(2**5)
    ghz[[0, -1]] = 1.0
    for A in ([0], [1, 3], [0, 2, 4]):
        assert abs(float(entropies(ghz, product_cut(A, n_sites=5))[1.0]) - math.log(2)) < 1e-14


def test_qutrit_maximally_entangled_pair():
    psi = np.zeros(9)
    psi[[0, 4, 8]] = 1.0
    S = entropies(psi, product_cut([1], n_sites=2, local_dim=3), (1, 2))
    assert abs(float(S[1.0]) - math.log(3)) < 1e-14 and abs(float(S[2.0]) - math.log(3)) < 1e-14


@pytest.mark.parametrize("A", [[0], [2, 5], [0, 3, 4, 7], [1, 2, 3], [6]])
def test_all_methods_match_numpy_svd_for_any_subset(A):
    n = 8
    psi = _haar(3, 2**n)
    ref = np.stack([_numpy_schmidt(p, A, n) for p in psi])
    cut = product_cut(A, n_sites=n)
    for method in METHODS:
        p = np.asarray(schmidt_probabilities(psi, cut, method=method))
        assert np.allclose(p, ref, atol=1e-13), method
    S = entropies(psi, cut, (1, 2))
    comp = entropies(psi, product_cut([s for s in range(n) if s not in A], n_sites=n), (1, 2))
    for k in S:                                               # S(A) = S(B) for pure states
        assert np.allclose(S[k], comp[k], atol=1e-12)
    assert np.allclose(np.asarray(purities(psi, cut)), np.exp(-np.asarray(S[2.0])), rtol=1e-12)


def test_renyi_orders_are_ordered_and_continuous_at_one():
    p = np.asarray(schmidt_probabilities(_haar(1, 2**6)[0], product_cut([0, 1, 2], n_sites=6)))
    s1, s2, sinf = (float(renyi_entropy(p, n)) for n in (1, 2, "inf"))
    assert sinf < s2 < s1 < math.log(8)
    assert abs(float(renyi_entropy(p, 1 + 1e-7)) - s1) < 1e-5
    assert abs(float(renyi_entropy(p, 0.5)) - 2 * math.log(np.sum(np.sqrt(p)))) < 1e-12


def test_entropy_curve_matches_per_cut_calls():
    n = 6
    psi = _haar(4, 2**n)
    cuts = prefix_cuts(n)
    curve = entropy_curve(psi, cuts, (1, 2))
    for j, c in enumerate(cuts):
        S = entropies(psi, c, (1, 2))
        for k in (1.0, 2.0):
            assert np.allclose(curve[k][:, j], S[k], atol=1e-13)


def test_haar_states_reproduce_page_within_one_percent_at_every_cut():
    """Normalized complex Gaussian vectors on 12 spins: <S_1> vs Page's exact finite-size value."""
    n, draws = 12, 200
    psi = _haar(draws, 2**n, np.random.default_rng(2023))
    S = entropy_curve(psi, prefix_cuts(n), (1, 2))
    s1, s2 = np.asarray(S[1.0]), np.asarray(S[2.0])
    page = pg.page_curve(n)
    mean, se = s1.mean(0), s1.std(0, ddof=1) / math.sqrt(draws)
    assert np.all(np.abs(mean / page - 1) < 0.01)             # the 1 % criterion
    assert np.all(np.abs(mean - page) < 5 * se + 1e-5)        # and within sampling error
    h2 = np.array([pg.haar_renyi2(*pg.subsystem_dims(k, n)) for k in range(1, n)])
    se2 = s2.std(0, ddof=1) / math.sqrt(draws)
    assert np.all(np.abs(s2.mean(0) - h2) < 5 * se2 + 1e-5)   # Haar Renyi-2 average


@pytest.mark.parametrize("call, needle", [
    (lambda: product_cut([0, 4], n_sites=4), "site 4 of subsystem A is not in 0..3"),
    (lambda: product_cut([1, 1], n_sites=4), "lists a site twice"),
    (lambda: product_cut([0.5], n_sites=4), "site 0.5"),
    (lambda: entropies(np.zeros(16), product_cut([0], n_sites=4)), "psi is the zero vector"),
    (lambda: entropies(np.full(16, np.nan), product_cut([0], n_sites=4)), "psi must be finite"),
    (lambda: entropies(np.ones(8), product_cut([0], n_sites=4)), "psi has 8 amplitudes but the basis has 16"),
    (lambda: entropies(np.ones(16), product_cut([0], n_sites=4), (0,)), "Renyi order must be > 0"),
    (lambda: entropies(np.ones(16), product_cut([0], n_sites=4), method="qr"), "unknown method 'qr'"),
])
def test_bad_input_raises_one_line(call, needle):
    with pytest.raises(InputError) as exc:
        call()
    assert needle in str(exc.value) and "\n" not in str(exc.value)


def test_numpy_and_compiled_paths_agree(monkeypatch):
    from qsntk.entanglement import entropy as ent

    psi = _haar(2, 2**7)
    cuts = [product_cut([0, 3, 5], n_sites=7), product_cut([1], n_sites=7)]
    small = entropy_curve(psi, cuts, (1, 2))
    p_small = schmidt_probabilities(psi, cuts[0])
    monkeypatch.setattr(ent, "JIT_MIN_SIZE", 1)
    big = entropy_curve(psi, cuts, (1, 2))
    assert np.allclose(np.asarray(schmidt_probabilities(psi, cuts[0])), p_small, atol=1e-14)
    for k in small:
        assert np.allclose(np.asarray(big[k]), small[k], atol=1e-13)
    assert np.allclose(np.asarray(purities(psi, cuts[0])), np.exp(-small[2.0][:, 0]), rtol=1e-12)


@pytest.mark.parametrize("scale", [1e300, 1e-300, 1e160, 1e-200])
def test_entropies_are_scale_free(scale, monkeypatch):
    """A Bell state times 1e+-300 has S_n = ln 2 exactly (squaring it would overflow/underflow)."""
    from qsntk.entanglement import entropy as ent

    bell = np.array([1.0, 0.0, 0.0, 1.0]) * scale
    cut = product_cut([0], n_sites=2)
    for method in METHODS:
        S = entropies(bell, cut, (1, 2, math.inf, 0.5), method=method)
        for v in S.values():
            assert abs(float(v) - math.log(2)) < 1e-15
    assert abs(float(purities(bell, cut)) - 0.5) < 1e-15
    psi = _haar(3, 2**6)
    cuts = prefix_cuts(6)
    ref = entropy_curve(psi, cuts, (1, 2, math.inf))
    got = entropy_curve(psi * scale, cuts, (1, 2, math.inf))
    monkeypatch.setattr(ent, "JIT_MIN_SIZE", 1)          # the compiled (JAX) path too
    got_jit = entropy_curve(psi * scale, cuts, (1, 2, math.inf))
    for k in ref:
        assert np.all(np.isfinite(ref[k]))
        assert np.allclose(got[k], ref[k], rtol=0, atol=1e-14)
        assert np.allclose(np.asarray(got_jit[k]), ref[k], rtol=0, atol=1e-14)
    assert np.allclose(np.asarray(purities(psi * scale, cuts[2])), np.exp(-ref[2.0][:, 2]), rtol=1e-13)


def test_ordinary_states_unchanged_by_rescaling():
    """Rescaling by max|psi| changes nothing beyond rounding: against the numpy SVD of psi/||psi||."""
    psi = _haar(4, 2**8)
    for A in ([0], [0, 1, 2], [1, 4, 6]):
        p = schmidt_probabilities(psi, product_cut(A, n_sites=8), method="svd")
        for i in range(4):
            assert np.allclose(p[i], _numpy_schmidt(psi[i], A, 8), rtol=0, atol=1e-14)


def test_zero_state_in_a_batch_is_refused_and_compiled_core_gives_nan():
    import jax.numpy as jnp

    from qsntk.entanglement.entropy import _probs_core, _renyi_core

    psi = _haar(3, 16)
    psi[1] = 0
    with pytest.raises(InputError, match=r"psi is the zero vector \(state 1\)"):
        entropies(psi, product_cut([0], n_sites=4))
    p = _probs_core(jnp.asarray(psi), product_cut([0, 1], n_sites=4), "auto")
    for n in (1.0, 2.0, math.inf):                      # the batched ensemble path: NaN, never S = 0
        S = np.asarray(_renyi_core(p, n))
        assert np.isnan(S[1]) and np.all(np.isfinite(S[[0, 2]]))


def test_huge_site_count_is_refused_before_listing_cuts():
    with pytest.raises(InputError, match="2\\*\\*1000000000 is too large"):
        prefix_cuts(10**9)
    with pytest.raises(InputError, match="too large"):
        product_cut([0], n_sites=10**9)
