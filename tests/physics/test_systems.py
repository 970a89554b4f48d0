"""The registry: validation, couplings and derived systems."""

import math

import numpy as np
import pytest

from qsntk.errors import InputError
from qsntk.physics import SYSTEMS, System, make_system


def test_registry_names_and_defaults():
    assert set(SYSTEMS) == {"tfim", "heisenberg", "j1j2", "hubbard"}
    s = make_system("j1j2", lx=4, ly=4)
    assert dict(s.couplings) == {"J1": 1.0, "J2": 0.5} and s.pbc is True
    assert s.n_sites == 16 and s.n_cols == 16
    h = make_system("hubbard", lx=3, ly=4, n_up=2, n_down=2)
    assert h.couplings["U"] == 4.0 and h.n_cols == 24 and h.is_fermionic


def test_system_is_frozen_and_hashable():
    s = make_system("tfim", lx=3, ly=4, J=0.1)
    assert isinstance(s, System) and hash(s) == hash(make_system("tfim", lx=3, ly=4, J=0.1))
    with pytest.raises(AttributeError):
        s.lx = 5


def test_with_couplings_and_describe():
    h = make_system("hubbard", lx=3, ly=4, n_up=2, n_down=2, U=4.0)
    h8 = h.with_couplings(U=8.0)
    assert h8.couplings == {"t": 1.0, "U": 8.0} and h.couplings["U"] == 4.0
    d = h8.describe()
    assert d == {"system": "hubbard", "lx": 3, "ly": 4, "n_sites": 12, "pbc": True,
                 "couplings": {"t": 1.0, "U": 8.0}, "n_up": 2, "n_down": 2, "dim": 4356}
    with pytest.raises(InputError, match="coupling U must be finite, got nan"):
        h.with_couplings(U=float("nan"))


@pytest.mark.parametrize("name,kwargs,match", [
    ("ising", dict(lx=3), "unknown system 'ising'"),
    ("tfim", dict(lx=0), "lx must be >= 1, got 0"),
    ("tfim", dict(lx=3, ly=-1), "ly must be >= 1, got -1"),
    ("tfim", dict(lx=2.5), "lx must be an integer, got 2.5"),
    ("tfim", dict(lx=3, J=float("nan")), "coupling J must be finite, got nan"),
    ("tfim", dict(lx=3, U=1.0), "system 'tfim' has no coupling 'U'; its couplings are J"),
    ("tfim", dict(lx=4, sz0=True), "tfim does not conserve total Sz"),
    ("heisenberg", dict(lx=3, sz0=True), "sz0 needs an even number of sites, got 3"),
    ("heisenberg", dict(lx=4, n_up=2), "n_up/n_down apply to hubbard only"),
    ("hubbard", dict(lx=3, ly=4), "needs the particle numbers"),
    ("hubbard", dict(lx=3, ly=4, n_up=13, n_down=2), "n_up=13 does not fit on 12 sites"),
    ("hubbard", dict(lx=2, ly=2, n_up=1, n_down=-1), "n_down must be >= 0, got -1"),
    ("hubbard", dict(lx=2, ly=2, n_up=1, n_down=1, sz0=True), "sz0 applies to spin systems"),
    ("tfim", dict(lx=5, ly=5), "has 33554432 states"),
])
def test_bad_systems(name, kwargs, match):
    with pytest.raises(InputError, match=match):
        make_system(name, **kwargs)


def test_error_messages_are_one_line():
    with pytest.raises(InputError) as info:
        make_system("hubbard", lx=3, ly=4, n_up=13, n_down=2)
    assert "\n" not in str(info.value)


def test_systems_beyond_exact_methods():
    """exact=False builds any size for Monte Carlo; exact methods then refuse, one line."""
    with pytest.raises(InputError, match="too large for exact methods"):
        make_system("heisenberg", lx=10, ly=10, sz0=True)
    s = make_system("heisenberg", lx=10, ly=10, sz0=True, exact=False)
    assert not s.has_exact_methods and s.n_sites == 100 and s.dim == math.comb(100, 50)
    for call in (s.basis, s.sparse_hamiltonian):
        with pytest.raises(InputError, match="needs exact methods; heisenberg on 10x10") as info:
            call()
        assert "\n" not in str(info.value)
    assert s.hilbert.size == 100 and len(s.bonds) == 200 == s.graph.n_edges
    # the operator acts: the Néel state's diagonal energy is -J/4 per bond
    neel = np.array([[1 if (x + y) % 2 else -1 for x in range(10) for y in range(10)]], float)
    xp, mels = s.operator.get_conn_padded(neel)
    diag = np.all(xp == neel[:, None, :], axis=-1)
    assert np.isclose(np.sum(mels[diag]), -200 / 4)
    # a small system built with exact=False keeps its exact methods
    small = make_system("heisenberg", lx=4, ly=2, sz0=True, exact=False)
    assert small.has_exact_methods and small.basis().shape == (70, 8)
