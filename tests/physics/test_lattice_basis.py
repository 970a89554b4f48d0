"""Lattice bonds, basis order and encodings against NetKet's own graphs and Hilbert spaces."""

import warnings

import numpy as np
import pytest

from qsntk.physics import basis as B
from qsntk.physics import make_system
from qsntk.physics.lattice import nearest_bonds, netket_graph, next_nearest_bonds

SHAPES = [(1, 1), (2, 1), (3, 1), (4, 1), (6, 1), (1, 5), (2, 2), (2, 3), (3, 3), (3, 4), (4, 4)]


def _edges(g, color):
    return sorted(tuple(sorted(e)) for e in g.edges(filter_color=color))


@pytest.mark.parametrize("lx,ly", SHAPES)
@pytest.mark.parametrize("pbc", [True, False])
def test_bonds_equal_netket_edges(lx, ly, pbc):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = netket_graph(lx, ly, pbc, max_neighbor_order=2)
    nn = _edges(g, 0)
    assert nearest_bonds(lx, ly, pbc).tolist() == [list(e) for e in nn]
    nnn = _edges(g, 1)
    # NetKet repeats a nearest-neighbour pair as a colour-1 edge on the 3-site ring;
    # we never double a bond, so compare what is not already a nearest neighbour.
    assert next_nearest_bonds(lx, ly, pbc).tolist() == [list(e) for e in nnn if e not in nn]


def test_bond_counts_of_square_lattices():
    assert len(nearest_bonds(4, 4, True)) == 32 and len(next_nearest_bonds(4, 4, True)) == 32
    assert len(nearest_bonds(3, 4, True)) == 24 and len(nearest_bonds(3, 4, False)) == 17
    assert len(nearest_bonds(2, 4, True)) == 12  # a periodic side of 2 is not doubled


@pytest.mark.parametrize("kwargs", [
    dict(name="tfim", lx=3, ly=2), dict(name="heisenberg", lx=4, ly=1),
    dict(name="heisenberg", lx=3, ly=2, sz0=True),
    dict(name="hubbard", lx=2, ly=3, n_up=2, n_down=1, pbc=False),
    dict(name="hubbard", lx=3, ly=4, n_up=2, n_down=2),
])
def test_basis_is_netket_all_states(kwargs):
    system = make_system(kwargs.pop("name"), **kwargs)
    basis = system.basis()
    assert basis.dtype == np.int8 and basis.shape == (system.dim, system.n_cols)
    assert np.array_equal(basis, np.asarray(system.hilbert.all_states()))


def test_sector_dimensions():
    assert make_system("tfim", lx=3, ly=4).dim == 4096
    assert make_system("hubbard", lx=3, ly=4, n_up=2, n_down=2).dim == 4356
    assert make_system("heisenberg", lx=4, ly=4, sz0=True).dim == 12870
    assert make_system("hubbard", lx=3, ly=4, n_up=2, n_down=2).basis().sum(axis=1).tolist() \
        == [4] * 4356


def test_fixed_weight_codes_and_popcount():
    codes = B.fixed_weight_codes(10, 4)
    assert len(codes) == 210 and np.all(np.diff(codes) > 0)
    assert np.all(B.popcount(codes) == 4)
    a = np.array([0, 1, 2**40 + 7, 2**62 - 1], dtype=np.int64)
    assert B.popcount(a).tolist() == [0, 1, 4, 62]
    assert B._popcount_bytes(a).tolist() == [0, 1, 4, 62]
    rng = np.random.default_rng(0)
    r = rng.integers(0, 2**62, size=1000)
    assert np.array_equal(B._popcount_bytes(r), [bin(int(v)).count("1") for v in r])
    bits = B.codes_to_bits(codes, 10)
    assert np.array_equal(B.bits_to_codes(bits), codes)


def test_spin_encoding_is_sigma_z():
    system = make_system("tfim", lx=2, ly=2)
    x = system.encode()
    assert x.dtype == np.float64 and x.shape == (16, 4)
    assert x[0].tolist() == [1, 1, 1, 1] and x[-1].tolist() == [-1, -1, -1, -1]


def test_hubbard_encoding_values():
    # one configuration on 4 sites: site0 hole, site1 down, site2 up, site3 double
    down = [0, 1, 0, 1]
    up = [0, 0, 1, 1]
    system = make_system("hubbard", lx=4, ly=1, n_up=2, n_down=2)
    x = system.encode(np.array([down + up], dtype=np.int8))
    assert x.tolist() == [[-1.5, -0.5, 0.5, 1.5]]
    xs = system.encode()
    assert xs.shape == (36, 4) and set(np.unique(xs)) == {-1.5, -0.5, 0.5, 1.5}
    # every encoded row decodes back to its occupations
    b = system.basis()
    assert np.array_equal(((xs + 1.5) // 2).astype(int), b[:, 4:])
    assert np.array_equal(((xs + 1.5) % 2).astype(int), b[:, :4])
