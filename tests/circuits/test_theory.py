"""Closed forms (Weingarten calculus, exact finite-D Haar moments) against Monte Carlo with error bars."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from qsntk.circuits import haar, kernel, model, theory
from qsntk.circuits import weingarten as wg
from qsntk.errors import InputError

Z4 = 4.5          # a 4.5-sigma bound: false alarms ~ 1e-5 per check


def _close(samples, exact):
    samples = np.asarray(samples)
    se = samples.std(ddof=1) / np.sqrt(samples.size)
    assert abs(samples.mean() - exact) < Z4 * se, (samples.mean(), exact, se)


def _herm(rng, D):
    A = rng.normal(size=(D, D)) + 1j * rng.normal(size=(D, D))
    return (A + A.conj().T) / 2


def test_weingarten_closed_forms_and_monte_carlo():
    D = 3
    Wg = wg.weingarten(2, D)                                   # k = 2: 1/(D^2-1), -1/(D(D^2-1))
    assert np.isclose(Wg[0, 0], 1 / (D ** 2 - 1)) and np.isclose(Wg[0, 1], -1 / (D * (D ** 2 - 1)))
    rng = np.random.default_rng(0)
    O, A, B, C = (_herm(rng, D) for _ in range(4))
    U = np.asarray(haar.haar_unitary(key=jax.random.PRNGKey(0), dim=D, shape=(20000,)))
    M = U.conj().transpose(0, 2, 1) @ O @ U
    tr = lambda X, Y: np.einsum("ij,nji->n", X, Y)
    _close(np.real(tr(A, M) * tr(B, M)), np.real(wg.haar_expect(O, [A, B])))
    _close(np.real(np.einsum("nij,jk,nki->n", M, C, M)), np.real(wg.haar_expect(O, [C, np.eye(D)], pi=(1, 0))))
    _close(np.real(tr(A, M) ** 2 * tr(C, M) * tr(B, M)), np.real(wg.haar_expect(O, [A, A, C, B])))
    psi = np.asarray(haar.haar_state(key=jax.random.PRNGKey(1), dim=D, shape=(20000,)))
    ev = lambda X: np.einsum("ni,ij,nj->n", psi.conj(), X, psi)
    _close(np.real(ev(A) * ev(B) * ev(O)), np.real(wg.haar_state_moment([A, B, O])))


def test_fourth_moment_constants_closed_form():
    """The Weingarten sums c2, c4 of docs/qntk.md for a Haar-rotated Pauli string."""
    for D in (2, 4, 8, 16):
        X = np.diag(np.r_[np.ones(D // 2), -np.ones(D // 2)]).astype(complex)
        R = np.zeros((D, D), complex)
        R[0, 0], R[1, 1] = 1.0, -1.0
        assert np.isclose(wg.haar_expect(X, [R, R]).real, 2 * D / (D ** 2 - 1), rtol=1e-10)
        assert np.isclose(wg.haar_expect(X, [R] * 4).real, 12 * (D + 2) / ((D ** 2 - 1) * (D + 3)), rtol=1e-9)


@functools.lru_cache(maxsize=None)
def _K_fn(n, L):
    """K for fresh circuits of eq. 20 (fresh W, Paulis and angles each), optionally with a fixed last Pauli."""
    D = 2 ** n
    psi0 = jnp.zeros(D, complex).at[0].set(1.0)

    def one(key, O, last, fix):
        k1, k2 = jax.random.split(key)
        circ = model.random_circuit(key=k1, n_qubits=n, n_layers=L)
        gens = jnp.where(fix, circ.generators.at[-1].set(last), circ.generators)
        th = jax.random.uniform(k2, (L,), maxval=2 * np.pi)
        return kernel.qntk_stats(model.compile_circuit(circ._replace(generators=gens)), O, th, psi0,
                                 with_mu=False).K

    return jax.jit(jax.vmap(one, in_axes=(0, None, None, None)))


def _ensemble_K(n, L, N, O, seed, codes_last=None):
    last = jnp.zeros(n, jnp.int64) if codes_last is None else jnp.asarray(codes_last, jnp.int64)
    keys = jax.random.split(jax.random.PRNGKey(seed), N)
    return np.asarray(_K_fn(n, L)(keys, O, last, codes_last is not None))


@pytest.fixture(scope="module")
def obs2():
    O = model.observable_matrix(model.random_observable(key=jax.random.PRNGKey(11), n_qubits=2))
    return O, theory.observable_traces(np.asarray(O))


def test_exact_mean_and_variance_of_the_qntk(obs2):
    O, tr = obs2
    L, N = 3, 40000
    K = _ensemble_K(2, L, N, O, seed=1)
    mom = theory.qntk_moments_exact(np.asarray(O), L)
    assert np.isclose(mom.mean, theory.kbar_exact(L, 4, tr.t1, tr.t2), rtol=1e-12)
    _close(K, mom.mean)
    dev2 = (K - mom.mean) ** 2                                  # unbiased estimator of Var K
    _close(dev2, mom.var)
    assert abs(K.var() / theory.delta_k_paper(L, tr.t2, tr.t4, 4) ** 2 - 1) > 0.2   # eq. 12 is leading order only


def test_last_layer_is_not_haar(obs2):
    """U_{+,L} = 1: a Z-type last generator on |00> gives no gradient, an X-type one 1 - x^2 = 1."""
    O, tr = obs2
    L, N = 3, 20000
    for codes, x in (([3, 0], 1.0), ([1, 2], 0.0)):
        K = _ensemble_K(2, L, N, O, seed=2, codes_last=codes)
        _close(K, theory.kbar_exact(L, 4, tr.t1, tr.t2, last_overlap=x))
        mom = theory.qntk_moments_exact(np.asarray(O), L, last_overlap=x)
        _close((K - mom.mean) ** 2, mom.var)


def test_factor_two_of_eq9_and_eq17():
    """For exp(i th X) with Pauli X, Kbar -> 2 L Tr(O^2)/D^2 (eq. 17's factor), twice eq. 9."""
    for n in (4, 8, 12):
        D = 2 ** n
        ratio = theory.kbar_exact(10, D, 0.0, D * 3.0) / theory.kbar_paper(10, D * 3.0, D)
        assert abs(ratio - 2) < 3.0 / D
    assert np.isclose(theory.kbar_supervised_paper(10, 3.0 * 256, 1.0, 256), 2 * theory.kbar_paper(10, 3.0 * 256, 256))


def test_supervised_mean_kernel_and_eq21(obs2):
    O, tr = obs2
    for D, A in ((4, 2), (16, 5), (64, 10)):
        direct = theory.lowest_eigenvalue_exact(64, D, 1.3, 7.0, np.eye(A))
        assert np.isclose(direct, theory.lowest_eigenvalue_paper(64, A, 1.3, 7.0, D), rtol=1e-12)
    # Monte Carlo of the kernel matrix over the ensemble, two orthonormal Haar inputs
    L, N = 3, 6000

    @jax.jit
    def one(key):
        k = jax.random.split(key, 3)
        comp = model.compile_circuit(model.random_circuit(key=k[0], n_qubits=2, n_layers=L))
        X = haar.haar_frame(key=k[1], dim=4, count=2)
        return kernel.kernel_matrix(comp, O, jax.random.uniform(k[2], (L,), maxval=2 * np.pi), X)

    Km = np.asarray(jax.vmap(one)(jax.random.split(jax.random.PRNGKey(3), N)))
    want = theory.kernel_mean_exact(L, 4, tr.t1, tr.t2, np.eye(2))
    _close(Km[:, 0, 0], want[0, 0])
    _close(Km[:, 0, 1], want[0, 1])
    assert want[0, 1] < 0


def test_mu_mean_interior_pairs():
    """E[H_ab g_a g_b] = 2 b^2 E kappa_3 for interior layers a < b < L."""
    n, L, N = 2, 3, 20000
    D = 2 ** n
    O = jnp.diag(jnp.array([2.0, 0.3, -0.4, -1.1])).astype(complex)   # Tr O^3 != 0
    psi0 = jnp.zeros(D, complex).at[0].set(1.0)

    @jax.jit
    def one(key):
        k1, k2 = jax.random.split(key)
        circ = model.random_circuit(key=k1, n_qubits=n, n_layers=L)
        th = jax.random.uniform(k2, (L,), maxval=2 * np.pi)
        f = lambda t: jnp.real(jnp.vdot(model.unitary(circ, t) @ psi0, O @ (model.unitary(circ, t) @ psi0)))
        g, H = jax.grad(f)(th), jax.hessian(f)(th)
        return H[0, 1] * g[0] * g[1]

    s = np.asarray(jax.vmap(one)(jax.random.split(jax.random.PRNGKey(4), N)))
    pairs = theory.mu_mean_pairs(np.asarray(O), 4)           # = 2 (L-1)(L-2) b^2 E k3 with L = 4: 12 b^2 E k3
    _close(s, pairs / 12.0 * 2.0)                              # one ordered pair: 2 b^2 E k3
    assert abs(pairs) > 0.1


def test_state_variance_moments_and_bad_input():
    rng = np.random.default_rng(1)
    O = _herm(rng, 4)
    psi = np.asarray(haar.haar_state(key=jax.random.PRNGKey(5), dim=4, shape=(20000,)))
    e1 = np.real(np.einsum("ni,ij,nj->n", psi.conj(), O, psi))
    e2 = np.real(np.einsum("ni,ij,nj->n", psi.conj(), O @ O, psi))
    EV, EV2 = theory.state_variance_moments(O)
    _close(e2 - e1 ** 2, EV)
    _close((e2 - e1 ** 2) ** 2, EV2)
    with pytest.raises(InputError, match="square"):
        theory.observable_traces(np.ones((2, 3)))
    with pytest.raises(InputError, match="eta must be > 0"):
        theory.decay_rate(-1.0, 3.0)
    assert np.allclose(theory.mean_decay_gamma([0, 5, 10], 0.01, 3.0, 1e-9), np.exp(-0.03 * np.array([0, 5, 10])))
    assert theory.mean_decay_gamma(100, 0.01, 3.0, 1.0) > np.exp(-3.0)   # Jensen
