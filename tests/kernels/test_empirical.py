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


class RBM(nn.Module):
    """log ψ = Σ_j log cosh(x·W_j + b_j) + a·x with complex W, b, a (NetKet's RBM, param_dtype=complex)."""

    alpha: int = 2

    @nn.compact
    def __call__(self, x):
        init = nn.initializers.normal(0.1)
        h = nn.Dense(self.alpha * x.shape[-1], param_dtype=jnp.complex128, kernel_init=init,
                     bias_init=init)(x)
        a = self.param("visible_bias", init, (x.shape[-1],), jnp.complex128)
        return jnp.sum(jnp.log(jnp.cosh(h)), axis=-1) + x @ a


def test_holomorphic_complex_parameters_give_theta_zero_and_phi_twice_jjdagger():
    """Each complex z = u + iv counts as u and v: ∂ψ/∂u = J, ∂ψ/∂v = iJ, so Θ = JJᵀ + (iJ)(iJ)ᵀ = 0
    and Φ = JJ† + (iJ)(iJ)† = 2JJ† (eq. 7 of Luo–Halverson over real parameters)."""
    from jax.flatten_util import ravel_pytree

    from qsntk.kernels import qs_ntk

    model, x = RBM(), X[:9]
    p = model.init(KEY, x)
    assert all(leaf.dtype == jnp.complex128 for leaf in jax.tree_util.tree_leaves(p))
    z, unravel = ravel_pytree(p)
    J = jax.jacfwd(lambda z: jnp.exp(model.apply(unravel(z), x)), holomorphic=True)(z)  # (n, P_c)
    qs = qs_ntk(model, p, x, log=True)
    jjt = J @ J.T
    assert np.abs(jjt).max() > 0.1                       # Θ is not zero for a trivial reason
    np.testing.assert_allclose(qs.theta, 0, atol=1e-13 * np.abs(jjt).max())
    np.testing.assert_allclose(qs.phi, 2 * J @ J.conj().T, rtol=1e-12, atol=1e-13)
    assert empirical.parameter_count(p) == 2 * z.size


class Float32Net(nn.Module):
    """A plain flax network: nn.Dense makes float32 parameters; output (batch, 1)."""

    @nn.compact
    def __call__(self, x):
        return nn.Dense(1)(jnp.tanh(nn.Dense(8)(x))) * (1 + 0.5j)


def _to(tree, dtype):
    return jax.tree_util.tree_map(lambda a: a.astype(dtype), tree)


def test_float32_parameters_are_computed_in_float64():
    from qsntk.kernels import qs_ntk

    model, x = Float32Net(), X[:7]
    p32 = model.init(KEY, x)
    assert all(leaf.dtype == jnp.float32 for leaf in jax.tree_util.tree_leaves(p32))
    qs = qs_ntk(model, p32, x.astype(jnp.float32))
    assert qs.theta.dtype == jnp.complex128 and qs.phi.dtype == jnp.complex128
    p64 = _to(p32, jnp.float64)
    ref = qs_ntk(model, p64, x)
    np.testing.assert_allclose(qs.theta, ref.theta, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(qs.phi, ref.phi, rtol=1e-14, atol=1e-15)
    # and against an independent float64 Jacobian (forward mode, by hand)
    from jax.flatten_util import ravel_pytree

    th, unravel = ravel_pytree(p64)
    J = jax.jacfwd(lambda t: model.apply(unravel(t), x)[:, 0])(th)
    np.testing.assert_allclose(qs.theta, J @ J.T, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(qs.phi, J @ J.conj().T, rtol=1e-13, atol=1e-15)
    # the structured path too: float32 FCNet parameters give the float64 kernel
    fc = FCNet((16,), activation="tanh")
    q32 = _to(init_params(fc, 12, key=KEY), jnp.float32)
    K = structured.real_blocks(fc, q32, X)
    assert K.dtype == jnp.float64
    np.testing.assert_allclose(K, structured.real_blocks(fc, _to(q32, jnp.float64), X), rtol=1e-14)


def test_float32_precision_leaves_float32_parameters():
    import qsntk
    from qsntk.kernels import qs_ntk

    model, x = Float32Net(), X[:5].astype(jnp.float32)
    p32 = model.init(KEY, x)
    qsntk.set_precision("float32")
    try:
        qs = qs_ntk(model, p32, x)
        assert empirical.at_precision(p32)["params"]["Dense_0"]["kernel"].dtype == jnp.float32
    finally:
        qsntk.set_precision("float64")
    assert qs.phi.dtype == jnp.complex64


class Head(nn.Module):
    """Dense(features) on top of tanh features; ``squeeze`` gives (batch,)."""

    features: int = 1
    squeeze: bool = False

    @nn.compact
    def __call__(self, x):
        out = nn.Dense(self.features, param_dtype=jnp.float64)(jnp.tanh(x))
        return out[:, 0] if self.squeeze else out


def test_batch_by_one_output_is_read_as_batch():
    from qsntk.kernels import qs_ntk

    p = Head().init(KEY, X)
    K = qs_ntk(Head(), p, X)                         # (batch, 1): accepted
    ref = qs_ntk(Head(squeeze=True), p, X)
    np.testing.assert_allclose(K.phi, ref.phi, rtol=1e-14)
    np.testing.assert_allclose(empirical.real_blocks(as_wavefunction(Head()), p, X, block_size=4),
                               empirical.real_blocks(as_wavefunction(Head(squeeze=True)), p, X),
                               rtol=1e-12, atol=1e-14)
    bad = Head(features=3)
    with pytest.raises(InputError, match=r"shape \(29,\) or \(29, 1\), got \(29, 3\)"):
        qs_ntk(bad, bad.init(KEY, X), X)


def test_memory_bounds_refuse_before_work(monkeypatch):
    import qsntk.errors
    from qsntk.kernels import infinite, kernel_fn_for, memory_lower_bound, real_blocks

    cases = [(CosNet(40), False), (paper_pair(30), True), (ComplexFCNet((20, 12)), True)]
    for model, is_structured in cases:
        p = init_params(model, 12, key=KEY)
        need = memory_lower_bound(model, p, X.shape[0])
        P = empirical.parameter_count(p)
        assert need >= 8 * (P + 4 * X.shape[0] ** 2)          # parameters and the output, at least
        assert structured.supports(model) == is_structured
        monkeypatch.setattr(qsntk.errors, "physical_memory_bytes", lambda: need - 1)
        with pytest.raises(InputError, match="needs at least"):
            real_blocks(model, p, X)
        monkeypatch.setattr(qsntk.errors, "physical_memory_bytes", lambda: need)
        real_blocks(model, p, X)
    need = infinite.memory_lower_bound(29, 17, real_blocks=True)
    assert need == 6 * 29 * 17 * 8
    monkeypatch.setattr(qsntk.errors, "physical_memory_bytes", lambda: need - 1)
    with pytest.raises(InputError, match="infinite-width real blocks of 29 x 17 inputs needs at least"):
        infinite.infinite_real_blocks(paper_pair(1), X, Y)
    kernel_fn_for(FCNet((1,)))(X, Y)                         # 2 n1 n2: fits
    monkeypatch.setattr(qsntk.errors, "physical_memory_bytes", lambda: 100)
    with pytest.raises(InputError, match="infinite-width kernel of 29 x 17"):
        kernel_fn_for(FCNet((1,)))(X, Y)


def test_memory_bound_from_shapes_alone():
    """A width of 10^8 is priced from jax.eval_shape, without allocating its parameters."""
    from qsntk.kernels import memory_lower_bound

    for model in (paper_pair(10**8), CosNet(10**8)):
        shapes = jax.eval_shape(lambda: init_params(model, 12, key=KEY))
        assert memory_lower_bound(model, shapes, 10) > 10 * 2**30
