"""Θ, Φ, Ω and Ω_RI: algebraic identities that must hold for any model."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from qsntk.kernels import omega, omega_ri, qs_ntk, real_blocks, real_blocks_from, theta_phi
from qsntk.nets import ComplexFCNet, init_params, paper_pair

KEY = jax.random.PRNGKey(0)


@pytest.fixture(scope="module")
def blocks():
    m = ComplexFCNet((48,), activation="tanh")
    p = init_params(m, 8, key=KEY)
    x = jax.random.normal(jax.random.PRNGKey(1), (25, 8))
    return np.asarray(real_blocks(m, p, x))


def test_phi_hermitian_theta_symmetric(blocks):
    qs = theta_phi(blocks)
    np.testing.assert_allclose(qs.phi, np.conj(qs.phi).T, atol=1e-14)
    np.testing.assert_allclose(qs.theta, qs.theta.T, atol=1e-14)


def test_real_blocks_round_trip(blocks):
    np.testing.assert_allclose(real_blocks_from(theta_phi(blocks)), blocks, atol=1e-14)


def test_omega_m_is_unitarily_equivalent_to_twice_omega_ri(blocks):
    qs = theta_phi(blocks)
    n = blocks.shape[-1]
    M = np.block([[np.zeros((n, n)), np.eye(n)], [np.eye(n), np.zeros((n, n))]])
    om = np.asarray(omega(qs.theta, qs.phi)) @ M
    np.testing.assert_allclose(om, om.conj().T, atol=1e-13)
    T = np.block([[np.eye(n), 1j * np.eye(n)], [np.eye(n), -1j * np.eye(n)]])
    np.testing.assert_allclose(om, T @ np.asarray(omega_ri(blocks)) @ T.conj().T, atol=1e-13)
    ev_om = np.linalg.eigvalsh(om)
    ev_ri = np.linalg.eigvalsh(np.asarray(omega_ri(blocks)))
    np.testing.assert_allclose(ev_om, 2 * ev_ri, atol=1e-12)
    assert ev_ri.min() > -1e-12  # positive semi-definite


def test_decoupled_pair_gives_theta_difference_phi_sum():
    m = paper_pair(32)
    p = init_params(m, 6, key=KEY)
    x = jnp.sign(jax.random.normal(KEY, (10, 6)))
    K = np.asarray(real_blocks(m, p, x))
    assert not K[0, 1].any() and not K[1, 0].any()
    qs = qs_ntk(m, p, x)
    np.testing.assert_allclose(qs.theta, K[0, 0] - K[1, 1], atol=1e-15)
    np.testing.assert_allclose(qs.phi, K[0, 0] + K[1, 1], atol=1e-15)
