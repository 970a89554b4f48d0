"""The fast sparse builders equal NetKet's operators in the same basis order.

NetKet's fermion export is slow (JIT compilation per constrained Hilbert space
and operator, 3-20 s even for 100 states), so the reference here is the NetKet
operator on the *unconstrained* Hilbert space (one numba compilation per
process), exported with ``to_sparse()`` and restricted to our sector's rows via
NetKet's own ``states_to_numbers``. The operator on the constrained space, as
``System.operator`` builds it, is checked under ``-m slow``.
"""

import warnings

import numpy as np
import pytest

from qsntk.physics import make_system, netket_ops

CASES = [
    dict(name="tfim", lx=3, ly=2, J=0.7),
    dict(name="tfim", lx=5, ly=1, pbc=False, J=0.3),
    dict(name="tfim", lx=4, ly=1, J=1.0),
    dict(name="heisenberg", lx=2, ly=3, J=1.3),
    dict(name="heisenberg", lx=6, ly=1, sz0=True),
    dict(name="heisenberg", lx=3, ly=2, pbc=False, sz0=True, J=-0.8),
    dict(name="j1j2", lx=3, ly=3, J1=0.9, J2=0.4),
    dict(name="j1j2", lx=8, ly=1, sz0=True, J2=0.3),
    dict(name="j1j2", lx=2, ly=4, pbc=False, J2=0.6),
    dict(name="hubbard", lx=2, ly=3, n_up=2, n_down=1, U=3.0, t=0.7),
    dict(name="hubbard", lx=4, ly=1, n_up=2, n_down=2, U=3.0),           # wrap bond, even N
    dict(name="hubbard", lx=5, ly=1, n_up=3, n_down=2, U=-1.0),          # odd chain
    dict(name="hubbard", lx=7, ly=1, n_up=3, n_down=2, U=2.0),           # wrap, odd N↑
    dict(name="hubbard", lx=3, ly=2, pbc=False, n_up=3, n_down=2, U=2.5),
    dict(name="hubbard", lx=2, ly=2, n_up=0, n_down=3, U=1.0),
    dict(name="hubbard", lx=3, ly=2, n_up=1, n_down=1, U=8.0, t=1.2),
]


def _id(case):
    return "-".join(f"{k}={v}" for k, v in case.items())


def _netket_reference(system):
    """NetKet's matrix of the same H on the full space, restricted to our basis rows."""
    import netket as nk

    c = system.couplings
    if system.is_fermionic:
        hi = nk.hilbert.SpinOrbitalFermions(system.n_sites, s=0.5)
        op = netket_ops.hubbard_operator(hi, system.bonds, c["t"], c["U"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            full = op.to_numba_operator().to_sparse()
    else:
        hi = nk.hilbert.Spin(0.5, system.n_sites)
        if system.name == "tfim":
            op = netket_ops.tfim_operator(hi, system.bonds, c["J"])
        else:
            op = netket_ops.heisenberg_operator(hi, system._bond_sets())
        full = op.to_sparse()
    rows = np.asarray(hi.states_to_numbers(system.basis()))
    return full[rows][:, rows]


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_fast_builder_equals_netket(case):
    case = dict(case)
    system = make_system(case.pop("name"), **case)
    H = system.sparse_hamiltonian()
    assert H.shape == (system.dim, system.dim) and H.dtype == np.float64
    assert abs(H - H.T).max() == 0.0
    assert abs(H - _netket_reference(system)).max() < 1e-13


def test_tfim_equals_netket_ising():
    import netket as nk

    system = make_system("tfim", lx=3, ly=3, J=0.45)
    ising = nk.operator.Ising(system.hilbert, system.graph, h=0.45, J=-1.0)
    assert abs(system.sparse_hamiltonian() - ising.to_sparse()).max() < 1e-13


def test_heisenberg_sector_equals_netket_heisenberg_quarter():
    """On NetKet's constrained Sz = 0 space: S·S = σ·σ / 4, no sign rule."""
    import netket as nk

    system = make_system("heisenberg", lx=2, ly=4, sz0=True, J=1.0)
    heis = nk.operator.Heisenberg(system.hilbert, system.graph, J=0.25, sign_rule=False)
    assert abs(system.sparse_hamiltonian() - heis.to_sparse()).max() < 1e-13
    assert abs(system.sparse_hamiltonian() - system.operator.to_sparse()).max() < 1e-13


@pytest.mark.slow
@pytest.mark.parametrize("kwargs", [dict(lx=2, ly=3, n_up=2, n_down=1, U=3.0, t=0.7),
                                    dict(lx=4, ly=1, n_up=2, n_down=2, U=3.0)])
def test_hubbard_equals_system_operator_on_constrained_space(kwargs):
    system = make_system("hubbard", **kwargs)
    assert abs(system.sparse_hamiltonian() - system.operator.to_sparse()).max() < 1e-13
