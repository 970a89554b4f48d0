"""TDVP quench (NetKet) against exact Krylov evolution (qsntk.physics.evolve)."""

import numpy as np
import pytest

from qsntk.errors import InputError
from qsntk.physics import make_system
from qsntk.vmc.dynamics import tdvp_quench


def test_tdvp_quench_tracks_exact_evolution_at_short_times():
    """TFIM chain N=4, J=0.5, from |+>: the Jastrow TDVP state stays on the exact one at
    short times (fidelity ~ 1), conserves the energy <H> = -J N, and its error grows with t."""
    s = make_system("tfim", lx=4, J=0.5)
    r = tdvp_quench(s, t_final=0.6, dt=0.02, n_record=4)
    assert r["fidelity"][0] == pytest.approx(1.0, abs=1e-12)
    assert r["energy_exact"] == pytest.approx(-0.5 * 4, abs=1e-12)
    np.testing.assert_allclose(r["energy_tdvp"], r["energy_exact"], atol=1e-6)
    assert np.all(r["fidelity"][:3] > 0.999)
    np.testing.assert_allclose(r["sx_tdvp"][:3], r["sx_exact"][:3], atol=2e-3)
    np.testing.assert_allclose(r["zz_tdvp"][:3], r["zz_exact"][:3], atol=2e-3)
    assert r["sx_exact"][-1] < 0.9          # the quench does move <sx>
    infid = 1 - r["fidelity"]
    assert infid[-1] >= infid[1] - 1e-12    # error grows


def test_tdvp_validation():
    with pytest.raises(InputError, match="full space"):
        tdvp_quench(make_system("heisenberg", lx=4, sz0=True))
    with pytest.raises(InputError, match="dt must be > 0"):
        tdvp_quench(make_system("tfim", lx=3), dt=0.0)
    with pytest.raises(InputError, match="unknown model"):
        tdvp_quench(make_system("tfim", lx=3), model="gcnn")
