"""Infinite-width kernels against finite networks, Monte-Carlo and a second method."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from qsntk.errors import InputError
from qsntk.kernels import infinite, kernel_fn_for, real_blocks
from qsntk.nets import CosNet, FCNet, GaussNet, init_params, paper_net

KEY = jax.random.PRNGKey(0)
X = jnp.sign(jax.random.normal(KEY, (14, 12))).at[:, :3].multiply(0.5)

ARCHS = {
    "paper-relu": lambda N: paper_net(N),
    "erf-2layer": lambda N: FCNet((N, N), activation="erf", W_std=1.3, b_std=0.2),
    "tanh-quadrature": lambda N: FCNet((N,), activation="tanh", W_std=1.5, b_std=0.3),
    "relu-standard": lambda N: FCNet((N,), activation="relu", W_std=1.4, b_std=0.1,
                                     parameterization="standard"),
    "sin": lambda N: FCNet((N,), activation="sin"),
    "cosnet": lambda N: CosNet(N, sigma_a=1.0, sigma_w=2.0),
    "gaussnet-standard": lambda N: GaussNet(N, sigma_w=1.0, sigma_b=0.3, sigma_out=0.2,
                                            parameterization="standard"),
}


def _convergence(name, widths, seeds=2):
    errs = []
    for N in widths:
        model = ARCHS[name](N)
        ntk = np.asarray(kernel_fn_for(model)(X, get="ntk"))
        sq = [np.linalg.norm(np.asarray(real_blocks(model, init_params(model, 12, key=jax.random.PRNGKey(s)), X)[0, 0]) - ntk) ** 2
              / np.linalg.norm(ntk) ** 2 for s in range(seeds)]
        errs.append(np.sqrt(np.mean(sq)))  # rms relative error over seeds
    slope = np.polyfit(np.log(widths), np.log(errs), 1)[0]
    assert errs[-1] < 8.0 / np.sqrt(widths[-1]), errs
    assert -0.7 < slope < -0.3, (slope, errs)


ONE_LAYER = [n for n in ARCHS if n != "erf-2layer"]


@pytest.mark.parametrize("name", ONE_LAYER)
def test_empirical_ntk_converges_like_inverse_sqrt_width(name):
    _convergence(name, [2**10, 2**12, 2**14])


def test_deep_empirical_ntk_converges_like_inverse_sqrt_width():
    _convergence("erf-2layer", [2**8, 2**10, 2**12])


@pytest.mark.slow
def test_deep_empirical_ntk_converges_up_to_2_14():
    _convergence("erf-2layer", [2**10, 2**12, 2**14], seeds=3)


@pytest.mark.parametrize("name", ["paper-relu", "tanh-quadrature", "cosnet", "gaussnet-standard"])
def test_monte_carlo_nngp_within_sampling_error(name):
    """One hidden layer with independent readout: E[f(x)f(x')] equals the NNGP at any width."""
    model = ARCHS[name](64)
    n_nets = 2000
    keys = jax.random.split(jax.random.PRNGKey(3), n_nets)
    f = jax.vmap(lambda k: model.apply(init_params(model, 12, key=k), X))(keys)  # (E, n)
    prod = f[:, :, None] * f[:, None, :]
    est, se = prod.mean(0), prod.std(0) / np.sqrt(n_nets)
    nngp = np.asarray(kernel_fn_for(model)(X, get="nngp"))
    z = np.abs(np.asarray(est) - nngp) / np.asarray(se)
    assert z.max() < 4.5, z.max()
    assert np.mean(z**2) < 1.5  # chi-square per entry ~ 1 (entries are correlated)


@pytest.mark.parametrize("act", ["erf", "sin", "cos", "identity"])
def test_closed_forms_equal_quadrature(act):
    rng = np.random.default_rng(0)
    q1 = rng.uniform(0.2, 2.0, 50)
    q2 = rng.uniform(0.2, 2.0, 50)
    c = rng.uniform(-0.95, 0.95, 50) * np.sqrt(q1 * q2)
    E, Ed = infinite.CLOSED_FORMS[act](jnp.asarray(q1), jnp.asarray(q2), jnp.asarray(c))
    Eq, Edq = infinite.gauss_hermite_moments(
        infinite.get_activation(act), jnp.asarray(q1), jnp.asarray(q2), jnp.asarray(c), order=96)
    np.testing.assert_allclose(E, Eq, atol=1e-10)
    np.testing.assert_allclose(Ed, Edq, atol=1e-10)


def test_relu_arccos_kernel_equals_conditional_quadrature():
    """ReLU's kink defeats Gauss–Hermite; integrate instead over u > 0 the closed-form
    conditional moments of v | u (a smooth one-dimensional integral, scipy.quad)."""
    from scipy import integrate, stats

    rng = np.random.default_rng(1)
    q1, q2 = rng.uniform(0.2, 2.0, 12), rng.uniform(0.2, 2.0, 12)
    c = rng.uniform(-0.95, 0.95, 12) * np.sqrt(q1 * q2)
    E, Ed = infinite.CLOSED_FORMS["relu"](jnp.asarray(q1), jnp.asarray(q2), jnp.asarray(c))
    for i in range(12):
        s1 = np.sqrt(q1[i])
        m = lambda u: c[i] / q1[i] * u                       # E[v | u]
        s = np.sqrt(q2[i] - c[i] ** 2 / q1[i])               # sd[v | u]
        pdf = lambda u: stats.norm.pdf(u, scale=s1)
        relu_v = lambda u: m(u) * stats.norm.cdf(m(u) / s) + s * stats.norm.pdf(m(u) / s)
        e = integrate.quad(lambda u: u * relu_v(u) * pdf(u), 0, 12 * s1, epsabs=1e-13)[0]
        ed = integrate.quad(lambda u: stats.norm.cdf(m(u) / s) * pdf(u), 0, 12 * s1, epsabs=1e-13)[0]
        assert abs(float(E[i]) - e) < 1e-10 and abs(float(Ed[i]) - ed) < 1e-10, (i, E[i], e, Ed[i], ed)


def test_cosnet_nngp_is_eq4():
    model = CosNet(10, sigma_a=1.7, sigma_w=2.3)
    nngp = np.asarray(kernel_fn_for(model)(X, get="nngp"))
    d2 = np.sum((np.asarray(X)[:, None] - np.asarray(X)[None]) ** 2, -1)
    np.testing.assert_allclose(nngp, 1.7**2 / 2 * np.exp(-2.3**2 * d2 / 24), rtol=1e-13)


def test_kernel_fn_call_shape_and_errors():
    kf = kernel_fn_for(paper_net(1))
    both = kf(X, X[:5], get=("nngp", "ntk"))
    assert both.nngp.shape == (14, 5) and both.ntk.shape == (14, 5)
    np.testing.assert_allclose(kf(X, get="ntk"), kf(X, X, get="ntk"))
    with pytest.raises(InputError, match="kernel"):
        kf(X, get="foo")
    with pytest.raises(InputError, match="x2 must have shape"):
        kf(X, X[:, :3])
    with pytest.raises(InputError, match="finite"):
        kf(X.at[0, 0].set(jnp.inf))
