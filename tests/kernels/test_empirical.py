"""Empirical kernels: generic vs structured vs blocked, and direct complex differentiation."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from qsntk.errors import InputError
from qsntk.kernels import empirical, structured, theta_phi
from qsntk.nets import (ComplexFCNet, CosNet, FCNet, GaussNet, LogAmplitude, as_wavefunction,
                        init_params, paper_pair)

KEY = jax.random.PRNGKey(0)
X = jnp.sign(jax.random.normal(KEY, (29, 12))).at[:, :4].multiply(0.5)
Y = jnp.sign(jax.random.normal(jax.random.PRNGKey(9), (17, 12)))

MODELS = [
    paper_pair(40),
    FCNet((24, 16), activation="erf", parameterization="standard"),
    FCNet((16, 16, 8), activation="tanh", b_std=None),
    FCNet((20,), activation="sin", W_std=1.3),
    ComplexFCNet((20, 12), activation="relu"),
]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: type(m).__name__)
def test_structured_equals_jacobian_contraction(model):
    p = init_params(model, 12, key=KEY)
    psi = as_wavefunction(model)
    ref = empirical.real_blocks(psi, p, X)
    np.testing.assert_allclose(structured.real_blocks(model, p, X), ref, atol=1e-12, rtol=1e-10)
    np.testing.assert_allclose(structured.real_blocks(model, p, X, n_blocks=3), ref, atol=1e-12, rtol=1e-10)
    np.testing.assert_allclose(structured.real_blocks(model, p, X, Y),
                               empirical.real_blocks(psi, p, X, Y), atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize("model", [paper_pair(30), CosNet(40), GaussNet(40, sigma_b=0.2, sigma_out=0.1)],
                         ids=lambda m: type(m).__name__)
def test_blocked_equals_unblocked(model):
    p = init_params(model, 12, key=KEY)
    psi = as_wavefunction(model)
    full = np.asarray(empirical.real_blocks(psi, p, X))
    for b in (1, 5, 8, 29, 64):
        np.testing.assert_allclose(empirical.real_blocks(psi, p, X, block_size=b), full,
                                   atol=1e-10 * np.abs(full).max(), rtol=0)
    cross = np.asarray(empirical.real_blocks(psi, p, X, Y))
    np.testing.assert_allclose(empirical.real_blocks(psi, p, X, Y, block_size=6), cross, atol=1e-12)


class HoloNet(nn.Module):
    """ψ(x) = Σ_i a_i tanh(w_i·x + c_i): holomorphic in complex a, c; w real."""

    width: int = 16

    @nn.compact
    def __call__(self, x):
        d = x.shape[-1]
        cinit = lambda k, s: (jax.random.normal(k, s) + 1j * jax.random.normal(jax.random.fold_in(k, 1), s)) / 2
        a = self.param("a", cinit, (self.width,))
        c = self.param("c", cinit, (self.width,))
        w = self.param("w", nn.initializers.normal(0.5), (d, self.width))
        return jnp.tanh(x @ w + c) @ a


def test_block_formula_equals_direct_complex_differentiation():
    """For ψ holomorphic in complex z = u + iv: ∂ψ/∂u = ψ', ∂ψ/∂v = iψ', so the complex
    parameters contribute 0 to Θ and 2 J J† to Φ; real parameters contribute J Jᵀ and J J†."""
    model = HoloNet()
    p = init_params(model, 12, key=KEY)
    K = empirical.real_blocks(as_wavefunction(model), p, X)
    qs = theta_phi(K)

    def f_cplx(a, c, x):
        return model.apply({"params": {"a": a, "c": c, "w": p["params"]["w"]}}, x)

    def f_w(w, x):
        return model.apply({"params": {**p["params"], "w": w}}, x)

    pa, pc, pw = (p["params"][k] for k in ("a", "c", "w"))
    Ja, Jc = jax.jacrev(f_cplx, argnums=(0, 1), holomorphic=True)(pa, pc, X)
    Jh = jnp.concatenate([Ja, Jc], axis=1)  # (n, 2N) holomorphic derivatives
    Jw = jax.jacrev(lambda w: f_w(w.astype(complex), X), holomorphic=True)(pw.astype(complex)).reshape(X.shape[0], -1)
    theta = Jw @ Jw.T
    phi = 2 * Jh @ Jh.conj().T + Jw @ Jw.conj().T
    np.testing.assert_allclose(qs.theta, theta, atol=1e-12)
    np.testing.assert_allclose(qs.phi, phi, atol=1e-12)


def test_log_amplitude_model_uses_exp():
    inner = FCNet((10,), activation="tanh")
    model = LogAmplitude(inner)
    p = init_params(model, 12, key=KEY)
    K = empirical.real_blocks(as_wavefunction(model), p, X[:6])
    psi = jnp.exp(inner.apply({"params": p["params"]["model"]}, X[:6]))
    # ψ = exp f with real f: ∂ψ = ψ ∂f, so K11 = ψ ψ' Θ_f and the imaginary blocks vanish.
    Kf = structured.real_blocks(inner, {"params": p["params"]["model"]}, X[:6])[0, 0]
    np.testing.assert_allclose(K[0, 0], psi[:, None] * psi[None, :] * Kf, rtol=1e-10)
    assert np.abs(K[1, 1]).max() == 0


def test_bad_inputs_are_named():
    m = paper_pair(8)
    p = init_params(m, 12, key=KEY)
    psi = as_wavefunction(m)
    with pytest.raises(InputError, match="x2 must have shape"):
        empirical.real_blocks(psi, p, X, Y[:, :5])
    with pytest.raises(InputError, match="finite"):
        empirical.real_blocks(psi, p, X.at[3, 2].set(jnp.nan))
    with pytest.raises(InputError, match="block_size"):
        empirical.real_blocks(psi, p, X, block_size=0)
    with pytest.raises(InputError, match="structured"):
        structured.fc_ntk_blocks(CosNet(4), p, X)
