r"""Cuts of symmetry sectors and of Hubbard sites (4-level sites with fermionic signs).

**Hubbard sites as 4-level sites.** Each site of the Fermi–Hubbard model has
four local states, labelled like the network inputs of Luo–Halverson sec. 6
(``x = 2 n↑ + n↓ − 1.5``):

====  ======  ======
label  state   input x
====  ======  ======
0      hole    −1.5
1      ↓       −0.5
2      ↑       +0.5
3      ↑↓      +1.5
====  ======  ======

so ``label = x + 1.5``. The basis of a fixed (N↑, N↓) sector is a subset of the
product basis of these 4-level sites; :func:`qsntk.entanglement.entropy.basis_cut`
splits its Schmidt matrix into blocks of fixed (N↑_A, N↓_A).

**Fermionic signs.** A basis state of :class:`qsntk.physics.System` is
:math:`|n\rangle = \prod_m (c^\dagger_m)^{n_m}|0\rangle` with the modes ``m`` in
NetKet's order ``[↓_0 … ↓_{N-1}, ↑_0 … ↑_{N-1}]``. The reduced density matrix of
a set of sites A (fermionic partial trace over the modes of B) equals the
ordinary partial trace of the coefficient tensor *once the modes of A come
first* (Bañuls, Cirac, Wolf, PRA 76, 022311 (2007); the state has a definite
parity in every number sector). Moving the creation operators of A in front of
those of B, keeping the order within each, multiplies :math:`|n\rangle` by

.. math::  s(n) = (-1)^{\#\{(m, m') : m < m',\ m \in B,\ m' \in A,\ n_m = n_{m'} = 1\}},

which :func:`fermion_signs` computes. Reorderings inside A or inside B would
only add signs that depend on ``n_A`` or ``n_B`` alone -- local unitaries that
leave the spectrum unchanged. ``fermionic=False`` gives the entropies of the
bare 4-level coefficient tensor instead. The two coincide whenever A is a prefix
of the sites (0 … k−1): the sign is then :math:`(-1)^{N↓_B N↑_A}`, constant on
every block; they differ in general for non-contiguous A. Tests check the
fermionic entropies of Slater determinants against the correlation-matrix
formula :math:`S_1 = -\sum_\nu [\nu\log\nu + (1-\nu)\log(1-\nu)]`.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from qsntk.entanglement.entropy import Cut, _check_sites, basis_cut, product_cut
from qsntk.errors import InputError

__all__ = ["HUBBARD_LOCAL_STATES", "fermion_signs", "hubbard_labels", "system_cut",
           "system_local_dim"]

HUBBARD_LOCAL_STATES = ("hole", "down", "up", "updown")


def fermion_signs(occupations, mode_sites, A: Iterable[int]) -> np.ndarray:
    """Signs :math:`s(n)` that bring the modes of the sites in A in front (module doc).

    Arguments:
        occupations: 0/1 array ``(dim, n_modes)``, modes in creation-operator order.
        mode_sites: ``(n_modes,)`` site of each mode.
        A: sites of subsystem A.

    Returns:
        float64 array ``(dim,)`` of ±1.
    """
    occ = np.asarray(occupations, dtype=np.int64)
    mode_sites = np.asarray(mode_sites, dtype=np.int64)
    if occ.ndim != 2 or mode_sites.shape != (occ.shape[1],):
        raise InputError(f"occupations {occ.shape} and mode_sites {mode_sites.shape} do not match")
    n_sites = int(mode_sites.max()) + 1
    A = _check_sites(A, n_sites)
    in_a = np.isin(mode_sites, A)
    occ_b = occ * (~in_a)
    before_b = np.cumsum(occ_b, axis=1) - occ_b          # occupied B-modes strictly before m
    count = np.sum(occ * in_a * before_b, axis=1)
    return np.where(count % 2 == 0, 1.0, -1.0)


def hubbard_labels(basis, n_sites: int) -> np.ndarray:
    """4-level site labels ``2 n↑ + n↓`` (0 hole, 1 ↓, 2 ↑, 3 ↑↓) of Hubbard basis states.

    Arguments:
        basis: occupations ``(dim, 2 n_sites)`` with columns ``[n↓_0 … n↓_{N-1}, n↑_0 … n↑_{N-1}]``.

    Returns:
        int64 array ``(dim, n_sites)``.
    """
    basis = np.asarray(basis, dtype=np.int64)
    return 2 * basis[:, n_sites:] + basis[:, :n_sites]


def system_local_dim(system) -> int:
    """States per site of a system: 4 for Hubbard, 2 for spins."""
    return 4 if system.is_fermionic else 2


def system_cut(system, A: Iterable[int], *, fermionic: bool = True) -> Cut:
    """The cut A|B of a :class:`qsntk.physics.System`'s basis (in its ``basis()`` order).

    Arguments:
        system: from :func:`qsntk.physics.make_system`.
        A: sites of subsystem A (site ``x * ly + y``).
        fermionic: Hubbard only: apply the fermionic signs (module doc).

    Returns:
        a product cut for a full spin basis, a block cut for sectors.
    """
    n = system.n_sites
    if system.is_fermionic:
        basis = system.basis()
        labels = hubbard_labels(basis, n)
        signs = None
        if fermionic:
            signs = fermion_signs(basis, np.concatenate([np.arange(n), np.arange(n)]), A)
        return basis_cut(labels, A, signs=signs)
    if not system.sz0:
        return product_cut(A, n_sites=n, local_dim=2)
    return basis_cut((system.basis() < 0).astype(np.int64), A)
