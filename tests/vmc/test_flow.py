"""Infinite-width energy flow (eq. 9 with L = <H>) against finite-width full-sum GD and closed forms."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from qsntk.errors import InputError
from qsntk.kernels import infinite_real_blocks, theta_phi
from qsntk.nets import paper_pair
from qsntk.physics import ground_state, make_system
from qsntk.vmc.flow import (energy_gradient, finite_energy_gd, infinite_energy_flow,
                            trajectory_summary)


@pytest.fixture(scope="module")
def tfim4():
    s = make_system("tfim", lx=4, J=1.0)
    H = s.sparse_hamiltonian()
    E0, g = ground_state(H)
    return s, H, E0, g, s.encode()


def test_energy_gradient_closed_form(tfim4):
    """∂L/∂ψ* = (Hψ − Lψ)/<ψ|ψ>: orthogonal to ψ, zero on an eigenvector, matches finite differences."""
    s, H, E0, g, _ = tfim4
    rng = np.random.default_rng(0)
    psi = rng.normal(size=16) + 1j * rng.normal(size=16)
    L, grad = energy_gradient(H, psi)
    assert abs(np.vdot(psi, grad)) < 1e-12
    assert np.abs(energy_gradient(H, 3 * g)[1]).max() < 1e-12
    d = rng.normal(size=16) + 1j * rng.normal(size=16)
    h = 1e-6
    Lp = energy_gradient(H, psi + h * d)[0]
    Lm = energy_gradient(H, psi - h * d)[0]
    assert (Lp - Lm) / (2 * h) == pytest.approx(2 * np.real(np.vdot(grad, d)), rel=1e-6)


def test_flow_decreases_energy_at_the_closed_form_rate(tfim4):
    """dL/dτ = −2η Re g†Φg ≤ 0 at τ = 0 (Θ = 0 for the decoupled pair), and L(τ) decreases."""
    s, H, E0, g, x = tfim4
    model = paper_pair(64)
    qs = theta_phi(infinite_real_blocks(model, x))
    Phi = np.asarray(qs.phi)
    assert np.abs(np.asarray(qs.theta)).max() == 0
    rng = np.random.default_rng(1)
    psi0 = rng.normal(size=16) + 1j * rng.normal(size=16)
    L0, grad = energy_gradient(H, psi0)
    eta, h = 0.7, 1e-5
    psis = infinite_energy_flow(H, Phi, psi0, [0.0, h, 0.5, 2.0, 8.0], eta=eta)
    E = trajectory_summary(H, psis, g)["energy"]
    assert (E[1] - E[0]) / h == pytest.approx(-2 * eta * np.real(np.vdot(grad, Phi @ grad)),
                                              rel=1e-4)
    assert np.all(np.diff(E) < 0) and E[-1] >= E0 - 1e-10


def test_real_kernel_path_equals_complex(tfim4):
    """A real Φ is applied as a real product (no complex copy of Φ); same trajectory."""
    s, H, E0, g, x = tfim4
    Phi = np.real(np.asarray(theta_phi(infinite_real_blocks(paper_pair(64), x)).phi))
    psi0 = np.random.default_rng(2).normal(size=16) + 1j * np.random.default_rng(3).normal(size=16)
    taus = [0.0, 0.3, 1.0]
    a = infinite_energy_flow(H, Phi, psi0, taus)
    b = infinite_energy_flow(H, Phi.astype(complex), psi0, taus)
    assert not np.iscomplexobj(Phi) and np.abs(a - b).max() < 1e-9 * np.abs(a).max()
    assert np.abs(a[-1] - a[0]).max() > 1e-3          # the flow moved


def test_wide_networks_follow_the_infinite_flow(tfim4):
    """Full-sum GD of finite pairs approaches the frozen infinite-width flow from the same
    initial function as the width grows (NTK regime of sec. 4.1)."""
    s, H, E0, g, x = tfim4
    errs = []
    for width in (64, 4096):
        model = paper_pair(width)
        params = model.init(jax.random.PRNGKey(3), jnp.asarray(x[:2]))
        taus, psis = finite_energy_gd(model, params, x, H, eta=0.05, steps=40, record_every=10)
        K = np.asarray(theta_phi(infinite_real_blocks(model, x)).phi)
        inf = infinite_energy_flow(H, K, psis[0], taus)
        a = trajectory_summary(H, psis, g)
        b = trajectory_summary(H, inf, g)
        assert a["energy"][-1] < a["energy"][0]
        errs.append(np.abs(a["energy"] - b["energy"]).max())
    assert errs[1] < errs[0] / 3, errs
    assert errs[1] < 2e-2


def test_flow_validation(tfim4):
    s, H, E0, g, x = tfim4
    with pytest.raises(InputError, match="increasing"):
        infinite_energy_flow(H, np.eye(16), g, [1.0, 0.5])
    with pytest.raises(InputError, match="eta must be > 0"):
        infinite_energy_flow(H, np.eye(16), g, [0.0, 1.0], eta=0.0)
