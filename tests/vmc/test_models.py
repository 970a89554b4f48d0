"""Models: closed forms (U = 0 Hubbard from one determinant), symmetry, normalization, validation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from qsntk.errors import InputError
from qsntk.physics import make_system
from qsntk.vmc.models import ModelSpec, SlaterBackflow, make_model, n_parameters


def _tight_binding_orbitals(system):
    """The N↓ + N↑ lowest single-particle orbitals, as columns over the 2N spin-orbitals."""
    n = system.n_sites
    T = np.zeros((n, n))
    for i, j in system.bonds:
        T[i, j] = T[j, i] = -system.couplings["t"]
    e, v = np.linalg.eigh(T)
    M = np.zeros((2 * n, system.n_down + system.n_up))
    M[:n, :system.n_down] = v[:, :system.n_down]                  # ↓ block: columns 0..N-1
    M[n:, system.n_down:] = v[:, :system.n_up]                    # ↑ block: columns N..2N-1
    return M, 2 * (e[:system.n_up].sum()) if system.n_up == system.n_down else None


@pytest.mark.parametrize("lx, ly, pbc, nf", [pytest.param(3, 2, False, 1, marks=pytest.mark.slow),
                                             (2, 3, True, 2)])
def test_backflow_at_zero_backflow_is_the_free_fermion_ground_state(lx, ly, pbc, nf):
    """With F = 0 and the filled tight-binding orbitals, SlaterBackflow is the exact U = 0
    ground state: its energy equals the sum of the occupied levels (NetKet's fermion signs)."""
    from qsntk.vmc.driver import full_sum_energy

    s = make_system("hubbard", lx=lx, ly=ly, pbc=pbc, n_up=nf, n_down=nf, U=0.0)
    model, spec = make_model("backflow", s, alpha=0.5)
    x = jnp.asarray(s.basis())
    params = model.init(jax.random.PRNGKey(0), x[:2])["params"]
    M, e_exact = _tight_binding_orbitals(s)
    params = dict(params, M=jnp.asarray(M))
    res = _full_sum(s, model, params)
    assert res == pytest.approx(e_exact, abs=1e-10)
    from qsntk.physics import lowest_states

    assert e_exact == pytest.approx(lowest_states(s.sparse_hamiltonian(), 1)[0][0], abs=1e-10)
    assert spec.complex is False and n_parameters(params) > M.size


def _full_sum(system, model, params):
    psi = np.exp(np.asarray(model.apply({"params": params}, jnp.asarray(system.basis()))))
    psi = psi / np.linalg.norm(psi)
    return float(np.real(np.vdot(psi, system.sparse_hamiltonian() @ psi)))


@pytest.mark.slow
def test_backflow_equals_netket_slater_determinant():
    """At zero backflow our determinant equals nk.models.Slater2nd(generalized=True) with the
    same orbital matrix, configuration by configuration (same rows, same signs)."""
    import netket as nk

    s = make_system("hubbard", lx=2, ly=2, n_up=1, n_down=2)
    model, _ = make_model("backflow", s)
    x = jnp.asarray(s.basis())
    params = model.init(jax.random.PRNGKey(1), x[:2])["params"]
    ref = nk.models.Slater2nd(s.hilbert, generalized=True, restricted=False)
    ours = model.apply({"params": params}, x)
    theirs = ref.apply({"params": {"M": params["M"]}}, x)
    np.testing.assert_allclose(np.exp(ours), np.exp(theirs), rtol=1e-10, atol=1e-12)


def _assert_space_group_invariant(model, s, **tol):
    """log ψ of 12 basis states equals that of every space-group image of them."""
    x = jnp.asarray(s.basis()[:12], dtype=jnp.float64)
    variables = model.init(jax.random.PRNGKey(0), x)
    ref = np.asarray(model.apply(variables, x))
    for perm in np.asarray(s.graph.space_group()):
        np.testing.assert_allclose(np.asarray(model.apply(variables, x[:, perm])), ref, **tol)


def test_gcnn_is_invariant_under_the_space_group():
    s = make_system("heisenberg", lx=4, ly=2, sz0=True)
    model, spec = make_model("gcnn", s, layers=1, features=2)
    _assert_space_group_invariant(model, s, rtol=1e-9, atol=1e-10)
    assert spec.complex is True


def test_rbmsymm_is_invariant_and_starts_near_uniform():
    """rbmsymm is invariant under the space group, and at 10x10 its log-amplitudes start
    within a few units of each other (NetKet's std-0.1 init spread them over ~100, and the
    first local energies reached 1e10)."""
    s = make_system("heisenberg", lx=4, ly=2, sz0=True)
    model, spec = make_model(ModelSpec(name="rbmsymm", alpha=2.0), s)
    _assert_space_group_invariant(model, s, rtol=1e-12, atol=1e-12)
    big = make_system("heisenberg", lx=10, ly=10, sz0=True, exact=False)
    model, _ = make_model(ModelSpec(name="rbmsymm", alpha=8.0), big)
    rng = np.random.default_rng(0)
    x = np.array([rng.permutation([1.0] * 50 + [-1.0] * 50) for _ in range(64)])
    variables = model.init(jax.random.PRNGKey(0), jnp.asarray(x[:1]))
    logpsi = np.asarray(model.apply(variables, jnp.asarray(x))).real
    assert np.ptp(logpsi) < 5.0, np.ptp(logpsi)


def test_autoregressive_model_is_normalized():
    """ARNN conditionals multiply to a normalized |ψ|², the property direct sampling needs."""
    s = make_system("tfim", lx=5)
    model, _ = make_model("ar", s, layers=2, features=3)
    x = jnp.asarray(s.basis(), dtype=jnp.float64)
    variables = model.init(jax.random.PRNGKey(2), x[:2])
    logpsi = np.asarray(model.apply(variables, x))
    assert np.sum(np.exp(2 * logpsi.real)) == pytest.approx(1.0, abs=1e-12)


def test_rbm_and_ffnn_build_and_count_parameters():
    s = make_system("tfim", lx=3, ly=2)
    for name, n_real in (("rbm", 6 * 6 + 6 + 6), ("ffnn", 6 * 6 + 6 + 6 + 1)):
        model, spec = make_model(ModelSpec(name=name, alpha=1.0), s)
        params = model.init(jax.random.PRNGKey(0), jnp.ones((1, 6)))["params"]
        assert n_parameters(params) == n_real and spec.complex is False
    model, spec = make_model("rbm", s, complex=True)
    params = model.init(jax.random.PRNGKey(0), jnp.ones((1, 6)))["params"]
    assert n_parameters(params) == 2 * 48


def test_model_validation():
    spin = make_system("heisenberg", lx=4, sz0=True)
    ferm = make_system("hubbard", lx=2, n_up=1, n_down=1)
    for spec, system, msg in [("nope", spin, "unknown model"), ("slater", spin, "fermionic"),
                              ("rbm", ferm, "for spins"), ("ar", spin, "drop sz0")]:
        with pytest.raises(InputError, match=msg):
            make_model(spec, system)
    with pytest.raises(InputError, match="alpha must be > 0"):
        make_model("rbm", spin, alpha=0)
    with pytest.raises(InputError, match="layers must be >= 1"):
        make_model("gcnn", spin, layers=0)


def test_slater_backflow_direct():
    m = SlaterBackflow(n_orbitals=4, n_fermions=2, hidden=3)
    x = jnp.array([[1, 0, 1, 0], [0, 1, 1, 0]], dtype=jnp.int8)
    params = m.init(jax.random.PRNGKey(0), x)["params"]
    M = np.asarray(params["M"])
    out = np.exp(np.asarray(m.apply({"params": params}, x)))
    np.testing.assert_allclose(out, [np.linalg.det(M[[0, 2]]), np.linalg.det(M[[1, 2]])],
                               rtol=1e-12)


def test_marshall_sign_is_the_sign_of_the_exact_heisenberg_ground_state():
    """Marshall's theorem on the bipartite 4x2 lattice: sign ψ0(σ) = (−1)^{N↓(A)} for every σ,
    and MarshallSign applies exactly that factor."""
    from qsntk.physics import ground_state

    s = make_system("heisenberg", lx=4, ly=2, sz0=True)
    _, psi0 = ground_state(s.sparse_hamiltonian())
    model, spec = make_model("rbm", s, marshall=True)
    assert spec.complex is False and spec.marshall is True
    x = jnp.asarray(s.basis(), dtype=jnp.float64)
    variables = model.init(jax.random.PRNGKey(0), x[:2])
    sign = np.exp(1j * np.imag(np.asarray(model.apply(variables, x))))
    np.testing.assert_allclose(sign.imag, 0, atol=1e-12)
    ref = np.sign(psi0) * np.sign(psi0[np.argmax(np.abs(psi0))])
    np.testing.assert_array_equal(np.sign(sign.real) * np.sign(sign.real[np.argmax(np.abs(psi0))]),
                                  ref)
    with pytest.raises(InputError, match="bipartite"):
        make_model("rbm", make_system("heisenberg", lx=3, ly=4), marshall=True)
