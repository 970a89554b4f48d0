"""Exact solvers: Lanczos vs dense, Krylov evolution vs dense diagonalization, conservation."""

import numpy as np
import pytest
import scipy.linalg

from qsntk.errors import InputError
from qsntk.physics import (energy, evolve, fix_phase, ground_state, lowest_states, make_system,
                           plus_state)


def test_lanczos_matches_dense():
    # 924 states, non-degenerate ground state (E1 - E0 = 0.91)
    H = make_system("j1j2", lx=4, ly=3, J2=0.3, sz0=True).sparse_hamiltonian()
    w_l, v_l = lowest_states(H, 3, dense_max=0)
    w_d, v_d = lowest_states(H, 3, dense_max=10_000)
    np.testing.assert_allclose(w_l, w_d, atol=1e-10)
    assert abs(abs(np.vdot(v_l[:, 0], v_d[:, 0])) - 1) < 1e-10
    np.testing.assert_allclose(v_l[:, 0], v_d[:, 0], atol=1e-8)  # same phase convention


def test_ground_state_is_eigenvector_with_fixed_phase():
    H = make_system("hubbard", lx=3, ly=2, n_up=2, n_down=2, U=4.0).sparse_hamiltonian()
    e0, psi = ground_state(H)
    assert np.linalg.norm(H @ psi - e0 * psi) < 1e-9
    i = np.argmax(np.abs(psi) >= np.abs(psi).max() * (1 - 1e-8))
    assert psi[i] > 0
    e0b, psib = ground_state(H)
    assert e0b == e0 and np.array_equal(psi, psib)  # bit-for-bit on repeat


def test_fix_phase_complex():
    rng = np.random.default_rng(1)
    psi = rng.normal(size=20) + 1j * rng.normal(size=20)
    out = fix_phase(psi * np.exp(0.7j))
    i = np.argmax(np.abs(out))
    assert out[i].imag == 0 and out[i].real > 0
    np.testing.assert_allclose(out, fix_phase(psi), atol=1e-14)


def test_degenerate_ground_state_is_refused():
    # the 2-site tfim at J = 0 has the degenerate pair |↑↑⟩, |↓↓⟩
    with pytest.raises(InputError, match="degenerate"):
        ground_state(make_system("tfim", lx=2, J=0.0).sparse_hamiltonian())


def test_krylov_evolution_matches_dense_diagonalization():
    system = make_system("tfim", lx=3, ly=2, J=0.8)
    H = system.sparse_hamiltonian()
    w, V = np.linalg.eigh(H.toarray())
    psi0 = plus_state(system.n_sites)
    times = [0.0, 0.3, 1.7, 2.1, 5.0]
    psis = evolve(H, psi0, times)
    for t, psi in zip(times, psis):
        exact = V @ (np.exp(-1j * w * t) * (V.T @ psi0))
        np.testing.assert_allclose(psi, exact, atol=1e-12)
    dense = scipy.linalg.expm(-1j * 2.1 * H.toarray()) @ psi0
    np.testing.assert_allclose(evolve(H, psi0, 2.1), dense, atol=1e-12)


def test_evolution_unordered_times_and_shapes():
    H = make_system("heisenberg", lx=6, sz0=True).sparse_hamiltonian()
    psi0 = np.zeros(H.shape[0], complex)
    psi0[0] = 1
    many = evolve(H, psi0, [1.5, 0.5, 1.0])
    assert many.shape == (3, H.shape[0]) and many.dtype == np.complex128
    for t, psi in zip([1.5, 0.5, 1.0], many):
        np.testing.assert_allclose(psi, evolve(H, psi0, t), atol=1e-12)
    assert np.array_equal(evolve(H, psi0, 0.0), psi0)


@pytest.mark.parametrize("name,kwargs", [
    ("tfim", dict(lx=3, ly=4, J=0.1)),
    ("hubbard", dict(lx=3, ly=4, n_up=2, n_down=2, U=8.0)),
])
def test_norm_and_energy_conservation(name, kwargs):
    system = make_system(name, **kwargs)
    H = system.sparse_hamiltonian()
    rng = np.random.default_rng(0)
    psi0 = rng.normal(size=system.dim) + 1j * rng.normal(size=system.dim)
    psi0 /= np.linalg.norm(psi0)
    e_start = energy(H, psi0)
    for psi in evolve(H, psi0, [0.7, 2.1, 6.0]):
        assert abs(np.linalg.norm(psi) - 1) < 1e-12
        assert energy(H, psi) == pytest.approx(e_start, abs=1e-11)
        assert abs(np.vdot(psi, H @ (H @ psi)) - np.vdot(psi0, H @ (H @ psi0))) < 1e-9


def test_backward_evolution_returns_the_start():
    H = make_system("hubbard", lx=3, ly=2, n_up=2, n_down=1, U=3.0).sparse_hamiltonian()
    psi0 = np.ones(H.shape[0], complex) / np.sqrt(H.shape[0])
    psi = evolve(H, psi0, 2.1)
    back = evolve(-H, psi, 2.1)
    np.testing.assert_allclose(back, psi0, atol=1e-12)


@pytest.mark.parametrize("tau,match", [(-0.5, "tau must be >= 0, got -0.5"),
                                       (float("nan"), "tau must be finite"),
                                       ("soon", "tau must be a number")])
def test_bad_times(tau, match):
    H = make_system("tfim", lx=2).sparse_hamiltonian()
    with pytest.raises(InputError, match=match):
        evolve(H, plus_state(2), tau)


def test_lowest_states_k_validation():
    H = make_system("tfim", lx=2).sparse_hamiltonian()
    with pytest.raises(InputError, match="k=5 exceeds"):
        lowest_states(H, 5)
    w, v = lowest_states(H, 4)
    assert w.shape == (4,) and v.shape == (4, 4)
