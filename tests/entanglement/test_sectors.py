"""Sector cuts and Hubbard sites: dense embedding, Slater determinants and free-fermion ground states."""

import itertools
import math

import numpy as np
import pytest

from qsntk.entanglement.entropy import basis_cut, entropies, product_cut
from qsntk.entanglement.sectors import fermion_signs, hubbard_labels, system_cut
from qsntk.errors import InputError
from qsntk.physics import make_system
from qsntk.physics.exact import ground_state

RNG = np.random.default_rng(11)


def _embed(system, psi, A, fermionic):
    """Second method: the sector state as a dense 4^N tensor (with the A-first signs)."""
    n = system.n_sites
    labels = hubbard_labels(system.basis(), n)
    idx = (labels * (4 ** np.arange(n - 1, -1, -1))).sum(1)
    full = np.zeros(4**n, dtype=complex)
    sign = fermion_signs(system.basis(), np.r_[np.arange(n), np.arange(n)], A) if fermionic else 1.0
    full[idx] = psi * sign
    return full


def _free_entropies(orbitals, A):
    """Correlation-matrix formula for a Slater determinant: S_1 and S_2 of sites A."""
    s1 = s2 = 0.0
    for U in orbitals:                                       # one block per spin species
        C = U @ np.conj(U.T)
        nu = np.clip(np.linalg.eigvalsh(C[np.ix_(A, A)]), 1e-300, 1 - 1e-16)
        s1 += float(-np.sum(nu * np.log(nu) + (1 - nu) * np.log1p(-nu)))
        s2 += float(-np.sum(np.log(nu**2 + (1 - nu) ** 2)))
    return s1, s2


def _slater(system, orbitals):
    n = system.n_sites
    occ = system.basis()
    dn, up = occ[:, :n].astype(bool), occ[:, n:].astype(bool)
    Ud, Uu = orbitals
    return np.array([np.linalg.det(Ud[d]) * np.linalg.det(Uu[u]) for d, u in zip(dn, up)])


def _orbitals(n, k, rng=RNG):
    q, _ = np.linalg.qr(rng.standard_normal((n, k)) + 1j * rng.standard_normal((n, k)))
    return q


@pytest.mark.parametrize("fermionic", [True, False])
def test_block_cut_equals_dense_embedding(fermionic):
    sys_ = make_system("hubbard", lx=2, ly=2, n_up=1, n_down=2)
    psi = RNG.standard_normal((3, sys_.dim)) + 1j * RNG.standard_normal((3, sys_.dim))
    for A in ([0], [0, 1], [1, 3], [0, 2, 3]):
        S = entropies(psi, system_cut(sys_, A, fermionic=fermionic), (1, 2))
        full = np.stack([_embed(sys_, p, A, fermionic) for p in psi])
        ref = entropies(full, product_cut(A, n_sites=4, local_dim=4), (1, 2))
        for k in S:
            assert np.allclose(S[k], ref[k], atol=1e-12)


def test_slater_determinants_match_the_correlation_matrix():
    sys_ = make_system("hubbard", lx=2, ly=3, n_up=2, n_down=2)
    orbitals = (_orbitals(6, 2), _orbitals(6, 2))
    psi = _slater(sys_, orbitals)
    mismatch = 0.0
    for A in ([0, 1, 2], [0], [0, 2, 5], [1, 4], [1, 2, 4, 5]):
        S = entropies(psi, system_cut(sys_, A), (1, 2))
        s1, s2 = _free_entropies(orbitals, A)
        assert abs(float(S[1.0]) - s1) < 1e-10 and abs(float(S[2.0]) - s2) < 1e-10, A
        bare = float(entropies(psi, system_cut(sys_, A, fermionic=False))[1.0])
        if A == [0, 1, 2] or A == [0]:                     # prefixes: the signs are constant per block
            assert abs(bare - s1) < 1e-10
        else:
            mismatch = max(mismatch, abs(bare - s1))
    assert mismatch > 1e-3                                   # non-contiguous A needs the fermionic signs


def test_free_fermion_ground_state_of_the_physics_module():
    """U = 0 Hubbard chain (closed shell): ground state from qsntk.physics vs its orbitals."""
    sys_ = make_system("hubbard", lx=4, ly=1, pbc=False, n_up=2, n_down=2, U=0.0)
    _, psi = ground_state(sys_.sparse_hamiltonian())
    h = np.zeros((4, 4))
    for i, j in sys_.bonds:
        h[i, j] = h[j, i] = -1.0
    _, vecs = np.linalg.eigh(h)
    orbitals = (vecs[:, :2], vecs[:, :2])
    for A in ([0, 1], [0, 2], [1, 3], [0, 3]):
        s1, s2 = _free_entropies(orbitals, A)
        S = entropies(psi, system_cut(sys_, A), (1, 2))
        assert abs(float(S[1.0]) - s1) < 1e-9 and abs(float(S[2.0]) - s2) < 1e-9, A


def test_sz0_sector_cut_equals_full_space():
    sys_ = make_system("heisenberg", lx=6, sz0=True)
    psi = RNG.standard_normal(sys_.dim)
    codes = sys_.codes
    full = np.zeros(2**6)
    full[(2**6 - 1) - codes] = psi                          # full-basis index of NetKet's order
    for A in ([0, 1, 2], [1, 4], [5]):
        S = entropies(psi, system_cut(sys_, A), (1, 2))
        ref = entropies(full, product_cut(A, n_sites=6), (1, 2))
        assert all(abs(float(S[k]) - float(ref[k])) < 1e-12 for k in S)
    # full spin basis: a product cut, same as building it by hand
    full_sys = make_system("tfim", lx=5)
    assert system_cut(full_sys, [0, 3]) == product_cut([0, 3], n_sites=5)


def test_fermion_signs_count_crossings():
    occ = np.array([list(bits) for bits in itertools.product([0, 1], repeat=4)])
    sites = np.array([0, 1, 0, 1])                          # modes (0,d) (1,d) (0,u) (1,u)
    s = fermion_signs(occ, sites, [1])
    # crossings: occupied B-modes (0,d) before occupied A-mode (1,d); and (0,d),(0,u) before (1,u)
    expect = [(-1) ** (o[0] * o[1] + (o[0] + o[2]) * o[3]) for o in occ]
    assert np.array_equal(s, expect)


def test_basis_cut_rejects_bad_labels():
    with pytest.raises(InputError, match="repeated basis states"):
        basis_cut(np.array([[0, 1], [0, 1]]), [0])
    with pytest.raises(InputError, match="integer array"):
        basis_cut(np.array([[0.5, 1.0]]), [0])
    with pytest.raises(InputError, match="signs must be"):
        basis_cut(np.array([[0, 1], [1, 0]]), [0], signs=[1, 0])
    assert math.isclose(float(entropies(np.array([1.0, 1.0]), basis_cut(np.array([[0, 1], [1, 0]]), [0]))[1.0]),
                        math.log(2))
