"""Quench targets of Luo–Halverson sec. 6 and custom quenches."""

import numpy as np
import pytest

from qsntk.errors import InputError
from qsntk.physics import (energy, evolve, ground_state, load_target, make_system, make_target,
                           plus_state)


@pytest.fixture(scope="module")
def hubbard_pbc():
    return make_target("hubbard-quench")


def test_tfim_quench_preset():
    t = make_target("tfim-quench")
    assert t.x.shape == (4096, 12) and t.x.dtype == np.float64
    assert t.psi.shape == (4096,) and t.psi.dtype == np.complex128
    assert t.basis.shape == (4096, 12) and t.basis.dtype == np.int8
    assert np.linalg.norm(t.psi) == pytest.approx(1.0, abs=1e-14)
    assert t.meta["pbc"] is True and t.meta["couplings"] == {"J": 0.1}
    assert t.meta["tau"] == 2.1 and t.meta["initial"] == {"state": "plus"}
    assert np.array_equal(t.x, t.basis)  # spins encode as ±1
    # <H> is conserved and equals <+|H_s|+> = −J N
    assert t.meta["energy"] == pytest.approx(-0.1 * 12, abs=1e-10)
    assert np.abs(t.psi.imag).max() > 0.01  # complex-valued, as the paper wants
    # evolve back under H_s: the start |+>^12
    H = make_system("tfim", lx=3, ly=4, J=0.1).sparse_hamiltonian()
    np.testing.assert_allclose(evolve(-H, t.psi, 2.1), plus_state(12), atol=1e-12)


def test_hubbard_quench_preset(hubbard_pbc):
    t = hubbard_pbc
    assert t.x.shape == (4356, 12) and t.basis.shape == (4356, 24)
    assert set(np.unique(t.x)) == {-1.5, -0.5, 0.5, 1.5}
    assert np.linalg.norm(t.psi) == pytest.approx(1.0, abs=1e-14)
    assert t.meta["couplings"] == {"t": 1.0, "U": 8.0}
    assert t.meta["initial"]["couplings"] == {"t": 1.0, "U": 4.0}
    assert (t.meta["n_up"], t.meta["n_down"], t.meta["pbc"]) == (2, 2, True)
    # evolving back under U = 8 gives the U = 4 ground state
    sys4 = make_system("hubbard", lx=3, ly=4, n_up=2, n_down=2, U=4.0)
    sys8 = sys4.with_couplings(U=8.0)
    psi0 = evolve(-sys8.sparse_hamiltonian(), t.psi, 2.1)
    H4 = sys4.sparse_hamiltonian()
    e0 = t.meta["initial"]["E0"]
    assert np.linalg.norm(H4 @ psi0 - e0 * psi0) < 1e-8
    assert energy(H4, psi0) == pytest.approx(ground_state(H4)[0], abs=1e-10)
    assert t.meta["energy"] == pytest.approx(t.meta["energy_initial"], abs=1e-10)


def test_targets_are_reproducible_bit_for_bit(hubbard_pbc):
    again = make_target("hubbard-quench")
    assert np.array_equal(again.psi, hubbard_pbc.psi)
    assert np.array_equal(again.x, hubbard_pbc.x)


def test_open_boundaries_give_another_target(hubbard_pbc):
    obc = make_target("hubbard-quench", pbc=False)
    assert obc.meta["pbc"] is False and obc.psi.shape == (4356,)
    assert np.array_equal(obc.basis, hubbard_pbc.basis)
    assert np.abs(np.vdot(obc.psi, hubbard_pbc.psi)) < 0.99


def test_save_and_load_roundtrip(tmp_path, hubbard_pbc):
    path = tmp_path / "sub" / "h.npz"
    hubbard_pbc.save(path)
    back = load_target(path)
    assert np.array_equal(back.psi, hubbard_pbc.psi) and np.array_equal(back.x, hubbard_pbc.x)
    assert np.array_equal(back.basis, hubbard_pbc.basis)
    assert back.meta["preset"] == "hubbard-quench" and back.meta["dim"] == 4356
    with np.load(path, allow_pickle=False) as data:
        assert set(data.files) == {"x", "psi", "basis", "meta"}
    assert [p.name for p in path.parent.iterdir()] == ["h.npz"]  # no temp file left


def test_custom_target_matches_dense_evolution():
    t = make_target("j1j2", lx=6, sz0=True, J2=0.5, tau=1.3, initial="ground",
                    initial_couplings={"J2": 0.0})
    start = make_system("j1j2", lx=6, sz0=True, J2=0.0).sparse_hamiltonian().toarray()
    H = make_system("j1j2", lx=6, sz0=True, J2=0.5).sparse_hamiltonian().toarray()
    w0, v0 = np.linalg.eigh(start)
    w, V = np.linalg.eigh(H)
    psi = V @ (np.exp(-1j * w * 1.3) * (V.T @ v0[:, 0]))
    assert abs(abs(np.vdot(psi, t.psi)) - 1) < 1e-10
    assert t.meta["preset"] is None and t.meta["sz0"] is True


def test_preset_overrides():
    t = make_target("tfim-quench", lx=2, ly=2, tau=0.5, J=0.7)
    assert t.psi.shape == (16,) and t.meta["couplings"] == {"J": 0.7} and t.meta["tau"] == 0.5


@pytest.mark.parametrize("name,kwargs,match", [
    ("nope", {}, "unknown target 'nope'"),
    ("hubbard-quench", dict(tau=-2.0), "tau must be >= 0, got -2.0"),
    ("hubbard-quench", dict(n_up=13), "n_up=13 does not fit on 12 sites"),
    ("hubbard-quench", dict(lx=0), "lx must be >= 1, got 0"),
    ("hubbard-quench", dict(initial="plus"), "initial state 'plus' needs the full spin space"),
    ("hubbard-quench", dict(initial_couplings={"J": 1.0}), "has no coupling 'J'"),
    ("tfim-quench", dict(J=float("inf")), "coupling J must be finite"),
    ("tfim", dict(lx=3), "needs tau"),
    ("tfim", dict(tau=1.0), "needs the lattice side lx"),
    ("tfim", dict(lx=3, tau=1.0, initial="excited"), "unknown initial state 'excited'"),
])
def test_bad_target_requests(name, kwargs, match):
    with pytest.raises(InputError, match=match):
        make_target(name, **kwargs)


def test_a_target_of_your_own_needs_only_x_and_psi(tmp_path):
    """np.savez(path, x=..., psi=...) is a target: basis and meta are optional."""
    from qsntk.physics.targets import load_target

    rng = np.random.default_rng(0)
    psi = rng.normal(size=8) + 1j * rng.normal(size=8)
    x = rng.choice([-1.0, 1.0], size=(8, 3)).astype(np.float32)
    np.savez(tmp_path / "mine.npz", x=x, psi=psi / np.linalg.norm(psi))
    t = load_target(tmp_path / "mine.npz")
    assert t.x.dtype == np.float64 and t.psi.dtype == np.complex128
    assert np.array_equal(t.x, x) and t.basis.shape == (8, 0) and t.meta == {}
    t.save(tmp_path / "again.npz")                         # and it round-trips
    assert np.array_equal(load_target(tmp_path / "again.npz").psi, t.psi)


def _one_array(f):
    with open(f, "wb") as h:
        np.save(h, np.ones(3))


@pytest.mark.parametrize("make, message", [
    (lambda f: None, "target file '{f}' does not exist"),
    (lambda f: f.write_text("not an archive"), "target '{f}' is not an .npz archive of arrays"),
    (lambda f: _one_array(f), "target '{f}' is one array, not an .npz archive"),
    (lambda f: np.savez(f, x=np.ones((2, 2))), "target '{f}' has no array 'psi' (it has x;"),
    (lambda f: np.savez(f, x=np.ones((2, 2)), psi=np.ones(2)), "psi has norm 1.4142136, not 1"),
    (lambda f: np.savez(f, x=np.ones((2, 2)), psi=np.ones(2) / 2**0.5, meta=np.array(["[1]"])),
     "meta must hold a JSON object, got list"),
])
def test_a_file_that_is_not_a_target_is_named(tmp_path, make, message):
    from qsntk.physics.targets import load_target

    f = tmp_path / "t.npz"
    make(f)
    with pytest.raises(InputError) as err:
        load_target(f)
    assert message.format(f=f) in str(err.value) and "\n" not in str(err.value)


def test_the_digest_follows_x_and_psi(tmp_path):
    from qsntk.physics.targets import load_target

    t = make_target("tfim", lx=3, ly=1, tau=0.5)
    t.save(tmp_path / "a.npz")
    assert load_target(tmp_path / "a.npz").digest() == t.digest()       # survives the file
    other = make_target("tfim", lx=3, ly=1, tau=0.6)
    assert other.digest() != t.digest() and len(t.digest()) == 16
