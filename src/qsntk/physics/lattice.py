"""The Lx × Ly square lattice: site numbering and bond lists.

Sites are numbered row-major, ``site = x * ly + y`` for ``0 <= x < lx`` and
``0 <= y < ly`` — the numbering of NetKet's ``nk.graph.Grid([lx, ly])`` (and of
``nk.graph.Chain(lx)`` when ``ly == 1``). A lattice with ``ly == 1`` (or
``lx == 1``) is a chain.

Boundary conditions follow NetKet: with ``pbc=True`` a side of length ``L > 2``
gets the wrap-around bond ``(L-1) -> 0``; a side of length 2 is periodic and
open at once (its wrap bond coincides with the direct bond, which is kept once,
never doubled); a side of length 1 has no bonds. The bond lists are computed
here with numpy (no NetKet import) and tested equal to NetKet's graph edges.
"""

from __future__ import annotations

import numpy as np

__all__ = ["site_index", "nearest_bonds", "next_nearest_bonds", "netket_graph"]


def site_index(x: int, y: int, ly: int) -> int:
    """Index of site ``(x, y)``: ``x * ly + y`` (row-major, as NetKet's Grid)."""
    return x * ly + y


def _bonds(lx: int, ly: int, pbc: bool, shifts) -> set[tuple[int, int]]:
    """Pairs ``(i, j)`` with ``i < j`` joined by one of the displacements ``shifts``."""
    wrap = (pbc and lx > 2, pbc and ly > 2)
    pairs: set[tuple[int, int]] = set()
    for x in range(lx):
        for y in range(ly):
            for dx, dy in shifts:
                nx, ny = x + dx, y + dy
                if not 0 <= nx < lx:
                    if not wrap[0]:
                        continue
                    nx %= lx
                if not 0 <= ny < ly:
                    if not wrap[1]:
                        continue
                    ny %= ly
                i, j = site_index(x, y, ly), site_index(nx, ny, ly)
                if i != j:
                    pairs.add((min(i, j), max(i, j)))
    return pairs


def nearest_bonds(lx: int, ly: int, pbc: bool) -> np.ndarray:
    """Nearest-neighbour bonds ⟨ij⟩ of the Lx × Ly lattice.

    Arguments:
        lx, ly: lattice sides (>= 1).
        pbc: periodic (True) or open (False) boundaries.

    Returns:
        int64 array, shape (n_bonds, 2), rows ``(i, j)`` with ``i < j``, sorted.
    """
    pairs = _bonds(lx, ly, pbc, [(1, 0), (0, 1)])
    return np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)


def next_nearest_bonds(lx: int, ly: int, pbc: bool) -> np.ndarray:
    """Next-nearest-neighbour bonds ⟨⟨ij⟩⟩ (the J2 bonds of the J1–J2 model).

    On a 2D lattice (both sides >= 2) these are the diagonals ``(x±1, y±1)``;
    on a chain they are the pairs ``(i, i+2)``. Pairs that are already nearest
    neighbours (possible on small periodic lattices) are left out, as in
    NetKet's ``max_neighbor_order=2`` edge colour 1.

    Returns:
        int64 array, shape (n_bonds, 2), rows ``(i, j)`` with ``i < j``, sorted.
    """
    if lx >= 2 and ly >= 2:
        shifts = [(1, 1), (1, -1)]
    else:
        shifts = [(2, 0), (0, 2)]
    nn = _bonds(lx, ly, pbc, [(1, 0), (0, 1)])
    pairs = _bonds(lx, ly, pbc, shifts) - nn
    return np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)


def netket_graph(lx: int, ly: int, pbc: bool, *, max_neighbor_order: int = 1):
    """The NetKet graph with the same sites and bonds (imports NetKet).

    Returns ``nk.graph.Chain`` for a chain and ``nk.graph.Grid`` otherwise; edge
    colour 0 is ⟨ij⟩, colour 1 (with ``max_neighbor_order=2``) is ⟨⟨ij⟩⟩.
    """
    import netket as nk

    if ly == 1 or lx == 1:
        length = max(lx, ly)
        return nk.graph.Chain(length, pbc=pbc and length > 2,
                              max_neighbor_order=max_neighbor_order)
    return nk.graph.Grid([lx, ly], pbc=[pbc and lx > 2, pbc and ly > 2],
                         max_neighbor_order=max_neighbor_order)
