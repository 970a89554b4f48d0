"""Exact energies against published numbers and closed forms."""

import itertools
import math

import numpy as np
import pytest

from qsntk.physics import lowest_states, make_system
from qsntk.physics.basis import CodeIndex


def _e0(system, k=1):
    return lowest_states(system.sparse_hamiltonian(), k)[0]


def test_heisenberg_4x4_periodic():
    """E0 = −11.228483 for J = 1 (e.g. Schulz, Ziman & Poilblanc, J. Phys. I 6, 675 (1996))."""
    e0 = _e0(make_system("heisenberg", lx=4, ly=4, sz0=True))[0]
    assert e0 == pytest.approx(-11.228483, abs=5e-7)


def test_j1j2_4x4_periodic_at_half():
    """E0/N = −0.528620 at J2/J1 = 0.5 (Schulz, Ziman & Poilblanc 1996)."""
    system = make_system("j1j2", lx=4, ly=4, sz0=True, J1=1.0, J2=0.5)
    assert _e0(system)[0] / 16 == pytest.approx(-0.528620, abs=5e-7)


def test_small_heisenberg_closed_forms():
    # two spins: singlet −3J/4; four-site ring: −2J; open 3-site chain: −J
    assert _e0(make_system("heisenberg", lx=2, J=1.7))[0] == pytest.approx(-0.75 * 1.7)
    assert _e0(make_system("heisenberg", lx=4, sz0=True))[0] == pytest.approx(-2.0)
    assert _e0(make_system("heisenberg", lx=3, pbc=False))[0] == pytest.approx(-1.0)


def test_sz0_sector_holds_the_antiferromagnetic_ground_state():
    full = _e0(make_system("j1j2", lx=3, ly=2, J2=0.3))[0]
    sector = _e0(make_system("j1j2", lx=3, ly=2, J2=0.3, sz0=True))[0]
    assert sector == pytest.approx(full, abs=1e-10)


# -- transverse-field Ising chain: Jordan–Wigner / Bogoliubov ------------------

def tfim_chain_sector_energies(n: int, J: float) -> tuple[float, float]:
    """Lowest energies of H = −Σ σᶻσᶻ − J Σ σˣ on a periodic n-chain, per parity sector.

    With the parity P = Π σˣ = (−1)^(fermion number) after Jordan–Wigner, the
    P = +1 sector has antiperiodic fermions (k = π(2m+1)/n), P = −1 periodic ones
    (k = 2πm/n). Paired modes (sin k ≠ 0) cost ε_k = 2√(1 + J² − 2J cos k) each
    and contribute −ε_k/2 to the vacuum; the unpaired k ∈ {0, π} modes have
    ξ_k = 2(J − cos k) and contribute ξ_k (n_k − 1/2). The sector's parity is
    enforced by paying the cheapest single excitation when the vacuum has the
    wrong one.

    Returns:
        (E_even, E_odd).
    """
    def sector(ks, parity):
        energy, occ = 0.0, 0
        excitations = []
        for k in ks:
            if abs(math.sin(k)) < 1e-12:
                xi = 2.0 * (J - math.cos(k))
                energy += -abs(xi) / 2
                occ ^= int(xi < 0)
                excitations.append(abs(xi))
            else:
                eps = 2.0 * math.sqrt(1.0 + J * J - 2.0 * J * math.cos(k))
                energy -= eps / 2
                excitations.append(eps)
        if occ != parity:
            energy += min(excitations)
        return energy

    anti = [math.pi * (2 * m + 1) / n for m in range(n)]
    peri = [2 * math.pi * m / n for m in range(n)]
    return sector(anti, 0), sector(peri, 1)


@pytest.mark.parametrize("n", [3, 4, 5, 8, 11])
@pytest.mark.parametrize("J", [0.3, 1.0, 1.7])
def test_tfim_periodic_chain_against_free_fermions(n, J):
    system = make_system("tfim", lx=n, J=J)
    w, v = lowest_states(system.sparse_hamiltonian(), 4)
    e_even, e_odd = tfim_chain_sector_energies(n, J)
    assert w[0] == pytest.approx(min(e_even, e_odd), abs=1e-9)
    # the parity P = Π σˣ maps each configuration to its global flip
    flip = CodeIndex(system.codes)(system.codes ^ ((1 << n) - 1))
    parity = np.einsum("ij,ij->j", v.conj(), v[flip])
    for sign, expected in ((1, e_even), (-1, e_odd)):
        mine = w[np.abs(parity - sign) < 1e-6]
        if len(mine):  # the lowest of a sector among the 4 lowest states
            assert mine[0] == pytest.approx(expected, abs=1e-9)


def test_tfim_both_parity_sectors_appear():
    """Ordered phase: the two lowest states are the even and odd sector ground states."""
    n, J = 8, 0.5
    w = _e0(make_system("tfim", lx=n, J=J), k=2)
    assert sorted(w) == pytest.approx(sorted(tfim_chain_sector_energies(n, J)), abs=1e-9)


# -- non-interacting Hubbard ------------------------------------------------------

def _tight_binding(system):
    h = np.zeros((system.n_sites, system.n_sites))
    for i, j in system.bonds:
        h[i, j] = h[j, i] = -system.couplings["t"]
    return np.linalg.eigvalsh(h)


@pytest.mark.parametrize("lx,ly,pbc,n_up,n_down", [
    (3, 4, True, 2, 2), (3, 4, False, 2, 2), (4, 1, True, 2, 2), (6, 1, True, 3, 1),
    (2, 3, True, 1, 2), (3, 3, False, 4, 2),
])
def test_hubbard_u0_ground_energy_fills_single_particle_levels(lx, ly, pbc, n_up, n_down):
    system = make_system("hubbard", lx=lx, ly=ly, pbc=pbc, n_up=n_up, n_down=n_down,
                         U=0.0, t=1.3)
    eps = _tight_binding(system)
    assert _e0(system)[0] == pytest.approx(eps[:n_up].sum() + eps[:n_down].sum(), abs=1e-9)


@pytest.mark.parametrize("lx,ly,pbc,n_up,n_down", [(4, 1, True, 2, 2), (2, 3, True, 2, 1),
                                                   (5, 1, True, 2, 3), (2, 2, False, 2, 1)])
def test_hubbard_u0_full_spectrum_is_sums_of_levels(lx, ly, pbc, n_up, n_down):
    """Every many-body level is a sum over occupied orbitals — this checks the JW signs."""
    system = make_system("hubbard", lx=lx, ly=ly, pbc=pbc, n_up=n_up, n_down=n_down, U=0.0)
    eps = _tight_binding(system)
    ups = [sum(c) for c in itertools.combinations(eps, n_up)]
    downs = [sum(c) for c in itertools.combinations(eps, n_down)]
    expected = np.sort(np.add.outer(ups, downs).ravel())
    got = np.linalg.eigvalsh(system.sparse_hamiltonian().toarray())
    np.testing.assert_allclose(got, expected, atol=1e-10)


def test_hubbard_atomic_limit_counts_double_occupancies():
    system = make_system("hubbard", lx=2, ly=2, n_up=3, n_down=2, t=0.0, U=5.0)
    diag = system.sparse_hamiltonian().diagonal()
    b = system.basis()
    assert np.array_equal(diag, 5.0 * (b[:, :4] & b[:, 4:]).sum(axis=1))
