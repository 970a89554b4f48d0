"""Pauli strings and Haar sampling against dense matrices and known moments."""

import itertools

import jax
import numpy as np
import pytest
import scipy.linalg

from qsntk.circuits import haar, model, paulis
from qsntk.errors import InputError


def test_pauli_action_and_rotation_match_dense_matrices():
    rng = np.random.default_rng(0)
    codes = [np.array(c) for c in itertools.product(range(4), repeat=2)]
    codes += [rng.integers(0, 4, 4) for _ in range(5)]
    for c in codes:
        P = paulis.pauli_matrix(c)
        psi = rng.normal(size=P.shape[0]) + 1j * rng.normal(size=P.shape[0])
        perm, phase = paulis.pauli_action(c)
        np.testing.assert_allclose(paulis.apply_pauli(perm, phase, psi), P @ psi, atol=1e-14)
        rot = paulis.pauli_rotation(perm, phase, 0.37, psi)
        np.testing.assert_allclose(rot, scipy.linalg.expm(0.37j * P) @ psi, atol=1e-13)
        V, s = paulis.pauli_diagonalizer(c)
        np.testing.assert_allclose(V @ np.diag(s) @ V.conj().T, P, atol=1e-14)
        Vj, sj = model._pauli_eig(np.asarray(c)[None])
        np.testing.assert_allclose(np.asarray(Vj[0]) @ np.diag(np.asarray(sj[0])) @ np.asarray(Vj[0]).conj().T,
                                   P, atol=1e-14)
    assert np.allclose(paulis.pauli_matrix([2]), [[0, -1j], [1j, 0]])


def test_sampling_labels_and_bad_input():
    c = np.asarray(paulis.sample_paulis(key=jax.random.PRNGKey(1), n_qubits=1, shape=(6000,),
                                        include_identity=False))
    counts = np.bincount(c[:, 0], minlength=4)
    assert counts[0] == 0
    expected = 2000
    chi2 = np.sum((counts[1:] - expected) ** 2 / expected)
    assert chi2 < 13.8                                   # chi^2, 2 dof, p = 0.001
    assert paulis.pauli_label(paulis.parse_pauli("xIzY")) == "XIZY"
    with pytest.raises(InputError, match="'XQ'"):
        paulis.parse_pauli("XQ")
    with pytest.raises(InputError, match="codes 0..3"):
        paulis.pauli_matrix([0, 5])


def test_haar_unitary_moments():
    D, N = 4, 20000
    U = np.asarray(haar.haar_unitary(key=jax.random.PRNGKey(2), dim=D, shape=(N,)))
    np.testing.assert_allclose(U @ U.conj().transpose(0, 2, 1), np.broadcast_to(np.eye(D), U.shape),
                               atol=1e-13)
    u = U[:, 0, 0]
    a2, a4 = np.abs(u) ** 2, np.abs(u) ** 4
    assert abs(a2.mean() - 1 / D) < 4 * a2.std() / np.sqrt(N)
    assert abs(a4.mean() - 2 / (D * (D + 1))) < 4 * a4.std() / np.sqrt(N)
    # the phase fix: without it QR's positive R diagonal biases the diagonal of Q
    for z in (u, U[:, 1, 1]):
        assert abs(z.mean()) < 4 * np.sqrt(1 / D / N)


def test_haar_states_and_frames():
    F = np.asarray(haar.haar_frame(key=jax.random.PRNGKey(3), dim=8, count=5))
    np.testing.assert_allclose(F.conj() @ F.T, np.eye(5), atol=1e-13)
    s = np.asarray(haar.haar_state(key=jax.random.PRNGKey(4), dim=8, shape=(3000,)))
    np.testing.assert_allclose(np.linalg.norm(s, axis=1), 1.0, atol=1e-13)
    p0 = np.abs(s[:, 0]) ** 2
    assert abs(p0.mean() - 1 / 8) < 4 * p0.std() / np.sqrt(len(p0))
    with pytest.raises(InputError, match="dim must be >= 5"):
        haar.haar_frame(key=jax.random.PRNGKey(0), dim=4, count=5)
