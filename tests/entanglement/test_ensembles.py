"""Network ensembles: factorized vs generic evaluation, reproducibility, Fig. 1's claims."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from qsntk.entanglement import ensembles as E
from qsntk.entanglement import gp
from qsntk.entanglement._trig import SINCOS_LIMIT, sincos
from qsntk.entanglement.entropy import entropies, prefix_cuts
from qsntk.entanglement.page import page_curve
from qsntk.errors import InputError
from qsntk.nets import CosNet, GaussNet, RealImagPair
from qsntk.physics import make_system

KEY = jax.random.PRNGKey(3)


def test_sincos_matches_xla():
    rng = np.random.default_rng(0)
    for scale in (1.0, 50.0, 5e4):
        x = jnp.asarray(rng.standard_normal(20000) * scale)
        c, s = sincos(x)
        assert float(jnp.max(jnp.abs(c - jnp.cos(x)))) < 3e-16
        assert float(jnp.max(jnp.abs(s - jnp.sin(x)))) < 3e-16
    big = jnp.asarray([1.0, 3 * SINCOS_LIMIT])
    c, s = sincos(big)                                     # falls back to XLA beyond the limit
    assert np.allclose(c, jnp.cos(big), atol=1e-15) and np.allclose(s, jnp.sin(big), atol=1e-15)


@pytest.mark.parametrize("model, n, vals", [
    (RealImagPair(re=CosNet(37, sigma_w=3.0), im=GaussNet(37, sigma_w=1.5, sigma_b=0.3, sigma_out=0.2)),
     5, (1.0, -1.0)),
    (RealImagPair(re=CosNet(37, sigma_w=2.0, parameterization="standard"),
                  im=GaussNet(37, sigma_w=0.8, parameterization="standard")),
     3, (-1.5, -0.5, 0.5, 1.5)),
], ids=["ntk-spins", "standard-4-level"])
def test_factorized_evaluation_equals_model_apply(model, n, vals):
    X = gp.product_inputs(n, vals)
    p = E.draw_params(model, n, np.arange(3), key=KEY)
    ref = np.asarray(E.amplitudes(model, p, X))
    fast = np.asarray(E.amplitudes(model, p, n_sites=n, local_values=vals))
    blocked = np.asarray(jax.jit(lambda p: E.amplitudes_from_features(
        model, E.features(model, p, n_sites=n, local_values=vals, nb=8), n_sites=n))(p))
    assert np.allclose(fast, ref, atol=1e-13 * np.abs(ref).max())
    assert np.allclose(blocked, ref, atol=1e-13 * np.abs(ref).max())          # padded unit blocks
    if len(vals) == 2:
        assert np.array_equal(X, make_system("tfim", lx=n).encode())         # the physics basis order


def test_draws_do_not_depend_on_chunking_and_match_direct_entropies():
    model = E.network_pair("cosnet", 32, sigma_w=2.0)        # same compiled stages as the CLI test
    n = 6
    a = E.ensemble_entropies(model, n_sites=n, n_draws=6, seed=4)
    c = E.ensemble_entropies(model, n_sites=n, n_draws=6, seed=4, first=2)
    for k in (1.0, 2.0):
        assert np.allclose(a[k][2:], c[k][:4], atol=1e-12)
    psi = E.sample_states(model, 6, seed=4, n_sites=n)
    assert np.allclose(np.linalg.norm(psi, axis=1), 1.0)
    ref = np.stack([np.asarray(entropies(psi, cut, (1,))[1.0]) for cut in prefix_cuts(n)], axis=1)
    assert np.allclose(a[1.0], ref, atol=1e-12)


def test_generic_path_and_hubbard_sector():
    sys_ = make_system("hubbard", lx=2, ly=2, n_up=1, n_down=1)
    model = E.network_pair("relu", 16)
    S = E.ensemble_entropies(model, system=sys_, n_draws=4, seed=0)
    assert S[1.0].shape == (4, 3) and np.all(S[1.0] >= 0) and np.all(S[2.0] <= S[1.0] + 1e-12)
    X = sys_.encode()
    psi = E.sample_states(model, 4, seed=0, X=X)
    from qsntk.entanglement.sectors import system_cut

    direct = np.asarray(entropies(psi, system_cut(sys_, [0, 1]), (1,))[1.0])
    assert np.allclose(S[1.0][:, 1], direct, atol=1e-12)


def _half_s1(width, sw, n=12, draws=100):
    S = E.ensemble_entropies(E.network_pair("cosnet", width, sigma_w=sw), n_sites=n, n_draws=draws, seed=0)
    return S[1.0][:, n // 2 - 1]


def test_cosnet_large_sigma_w_reaches_page_and_smaller_sigma_falls_below():
    """Fig. 1: 12 spins, CosNet N = 4000 at sigma_w = 10 within 2 % of Page at |A| = 6."""
    page = page_curve(12)[5]
    s = _half_s1(4000, 10.0)
    assert abs(s.mean() / page - 1) < 0.02
    assert s.mean() < page                                   # finite N sits below Page
    assert _half_s1(4000, 2.0).mean() < s.mean() - 0.5      # smaller sigma_w: below (same draws)


@pytest.mark.slow
def test_smaller_width_falls_below():
    s4000, s400 = _half_s1(4000, 10.0), _half_s1(400, 10.0)
    se = lambda x: x.std(ddof=1) / math.sqrt(len(x))
    assert s400.mean() < s4000.mean() - 4 * math.hypot(se(s4000), se(s400))


@pytest.mark.parametrize("call, needle", [
    (lambda: E.network_pair("lstm", 10), "unknown net 'lstm'"),
    (lambda: E.network_pair("cosnet", 0), "width must be >= 1"),
    (lambda: E.network_pair("cosnet", 10, sigma_b=1.0), "takes no hyperparameter 'sigma_b'"),
    (lambda: E.network_pair("cosnet", 10, sigma_w=float("nan")), "sigma_w must be finite"),
    (lambda: E.ensemble_entropies(E.network_pair("cosnet", 4), n_draws=2), "needs n_sites or system"),
])
def test_bad_input(call, needle):
    with pytest.raises(InputError, match=needle):
        call()


def _gauss_log_reference(model, n, idx, seed):
    """Second method: the state of Gauss-net draws from log|terms| in numpy (logsumexp with signs)."""
    params = E.draw_params(model, n, np.asarray(idx), key=jax.random.PRNGKey(seed))["params"]
    X = gp.product_inputs(n)
    parts = []
    for k, m in (("re", model.re), ("im", model.im)):
        p = {q: np.asarray(v) for q, v in params[k].items()}
        w = p["w"] * m.sigma_w / math.sqrt(n)
        a = p["a"] * m.sigma_a / math.sqrt(m.width)
        b = p["b"] * m.sigma_b
        logt = (np.einsum("xd,bdn->bxn", X, w) - m.sigma_w**2 * np.sum(X**2, 1)[None, :, None] / n
                + (np.log(np.abs(a)) + b - m.sigma_b**2)[:, None, :])
        parts.append((np.sign(a)[:, None, :], logt))
    K = np.maximum(parts[0][1].max(axis=(1, 2)), parts[1][1].max(axis=(1, 2)))[:, None, None]
    re, im = (np.sum(s * np.exp(t - K), axis=-1) for s, t in parts)
    return re + 1j * im


@pytest.mark.parametrize("sigma_w", [10.0, 30.0, 60.0])
def test_gaussnet_large_sigma_w_is_computed_in_the_log_domain(sigma_w):
    """Amplitudes ~e^{-sigma_w^2} (1e-27 at 10, below 1e-308 at 30) give the true entropies."""
    n, draws = 6, 5
    model = E.network_pair("gaussnet", 7, sigma_w=sigma_w, sigma_b=0.5)
    cuts = prefix_cuts(n)
    got = E.ensemble_entropies(model, n_sites=n, n_draws=draws, seed=2, cuts=cuts)
    psi = _gauss_log_reference(model, n, range(draws), 2)
    for j, c in enumerate(cuts):
        ref = entropies(psi, c, (1, 2))
        for o in (1.0, 2.0):
            assert np.all(np.isfinite(got[o][:, j]))
            assert np.allclose(got[o][:, j], ref[o], rtol=0, atol=1e-11)
    assert np.all(got[1.0][:, 2] > 0)                        # not the S = 0 of all-zero states
    states = E.sample_states(model, draws, seed=2, n_sites=n)
    assert np.allclose(np.abs(np.sum(np.conj(states) * psi, 1)) / np.linalg.norm(psi, axis=1), 1, atol=1e-12)


def test_gaussnet_log_domain_agrees_with_generic_path_and_unscaled_amplitudes():
    """At sigma_w = 3 (no underflow) the scaled factorized path, the unscaled amplitudes and
    model.apply agree; with an output bias too."""
    n = 6
    for sigma_out in (0.0, 0.7):
        model = E.network_pair("gaussnet", 9, sigma_w=3.0, sigma_b=0.3, sigma_out=sigma_out)
        params = E.draw_params(model, n, np.arange(4), key=KEY)
        X = gp.product_inputs(n)
        direct = np.asarray(E.amplitudes(model, params, X))
        unscaled = np.asarray(E.amplitudes(model, params, n_sites=n))
        scaled = np.asarray(E.amplitudes(model, params, n_sites=n, scaled=True))
        assert np.allclose(unscaled, direct, rtol=1e-12, atol=1e-14 * np.abs(direct).max())
        ratio = scaled / unscaled
        assert np.allclose(ratio, ratio[:, :1], rtol=1e-10) and np.all(ratio[:, 0].real > 0)


def test_all_zero_draws_are_refused_not_reported_as_zero_entropy():
    model = E.network_pair("cosnet", 5, sigma_w=1.0, sigma_a=0.0)     # psi = 0 identically
    with pytest.raises(InputError, match=r"3 of 3 draws of CosNet width 5, sigma_w 1 .*all zero"):
        E.ensemble_entropies(model, n_sites=4, n_draws=3)


def test_ensemble_entropies_refuses_other_models_in_one_line():
    with pytest.raises(InputError, match="takes a qsntk.nets.RealImagPair .* got CosNet"):
        E.ensemble_entropies(CosNet(width=3), n_sites=4, n_draws=2)
