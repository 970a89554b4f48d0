"""The same systems as NetKet objects (graph, Hilbert space, operator), for VMC.

Imported lazily by :class:`qsntk.physics.System`; everything here imports NetKet.
The operators are written term by term so that ``operator.to_sparse()`` equals
our fast builders in :mod:`qsntk.physics.hamiltonians` (tested).
"""

from __future__ import annotations

import numpy as np

__all__ = ["spin_hilbert", "fermion_hilbert", "tfim_operator", "heisenberg_operator",
           "hubbard_operator"]


def spin_hilbert(n_sites: int, sz0: bool):
    """``nk.hilbert.Spin(1/2, N)``, restricted to total Sᶻ = 0 when ``sz0``."""
    import netket as nk

    return nk.hilbert.Spin(0.5, n_sites, total_sz=0 if sz0 else None)


def fermion_hilbert(n_sites: int, n_up: int, n_down: int):
    """``SpinOrbitalFermions(N, s=1/2, n_fermions_per_spin=(n_down, n_up))``.

    NetKet orders the spin blocks by sᶻ: block 0 (columns 0 … N−1) is ↓,
    block 1 (columns N … 2N−1) is ↑.
    """
    import netket as nk

    return nk.hilbert.SpinOrbitalFermions(n_sites, s=0.5, n_fermions_per_spin=(n_down, n_up))


def tfim_operator(hilbert, bonds, J: float):
    """H_s = −Σ_⟨ij⟩ σᶻσᶻ − J Σ σˣ (eq. 19) as a NetKet ``LocalOperator``."""
    from netket.operator.spin import sigmax, sigmaz

    ham = 0.0 * sigmaz(hilbert, 0)
    for i, j in bonds:
        ham = ham - sigmaz(hilbert, int(i)) @ sigmaz(hilbert, int(j))
    for i in range(hilbert.size):
        ham = ham - float(J) * sigmax(hilbert, i)
    return ham


def heisenberg_operator(hilbert, bond_sets):
    """Σ J_b S_i·S_j with S = σ/2 as a NetKet ``LocalOperator`` (real, no sign rule).

    S_i·S_j = ¼ σᶻσᶻ + ½ (σ⁺σ⁻ + σ⁻σ⁺).
    """
    from netket.operator.spin import sigmam, sigmap, sigmaz

    ham = 0.0 * sigmaz(hilbert, 0)
    for bonds, coupling in bond_sets:
        for i, j in bonds:
            i, j = int(i), int(j)
            ham = ham + (0.25 * coupling) * sigmaz(hilbert, i) @ sigmaz(hilbert, j)
            ham = ham + (0.5 * coupling) * (sigmap(hilbert, i) @ sigmam(hilbert, j)
                                             + sigmam(hilbert, i) @ sigmap(hilbert, j))
    return ham


def hubbard_operator(hilbert, bonds, t: float, U: float):
    """H_f (eq. 20) as a NetKet ``FermionOperator2nd`` (sz = −1 is ↓, +1 is ↑)."""
    from netket.operator.fermion import create, destroy, number

    n = hilbert.n_orbitals
    ham = 0.0 * number(hilbert, 0, sz=1)
    for sz in (-1, 1):
        for i, j in np.asarray(bonds).tolist():
            ham = ham - float(t) * (create(hilbert, i, sz=sz) @ destroy(hilbert, j, sz=sz)
                                    + create(hilbert, j, sz=sz) @ destroy(hilbert, i, sz=sz))
    for i in range(n):
        ham = ham + float(U) * (number(hilbert, i, sz=1) @ number(hilbert, i, sz=-1))
    return ham
