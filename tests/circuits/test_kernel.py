"""Residual, gradient, QNTK and dQNTK against dense unitaries, finite differences and full Hessians."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

from qsntk.circuits import fast, kernel, model
from qsntk.circuits.paulis import pauli_matrix
from qsntk.errors import InputError

N_Q, L = 3, 5
D = 2 ** N_Q


@pytest.fixture(scope="module")
def setup():
    @jax.jit
    def make(key):
        k = jax.random.split(key, 3)
        circ = model.random_circuit(key=k[0], n_qubits=N_Q, n_layers=L)
        O = model.observable_matrix(model.random_observable(key=k[1], n_qubits=N_Q))
        return circ, model.compile_circuit(circ), O, jax.random.uniform(k[2], (L,), maxval=2 * np.pi)

    circ, comp, O, theta = make(jax.random.PRNGKey(0))
    psi0 = jnp.zeros(D, complex).at[3].set(1.0)
    return circ, comp, kernel.prepare(comp), O, theta, psi0


def _dense_U(circ, theta):
    """Eq. 1 left to right with scipy's expm, independent of qsntk's rotation code."""
    U = np.eye(D, dtype=complex)
    for W, c, t in zip(np.asarray(circ.W), np.asarray(circ.generators), np.asarray(theta)):
        U = U @ W @ scipy.linalg.expm(1j * t * pauli_matrix(c))
    return U


def _eps_dense(circ, O, psi0):
    def f(t):
        psi = model.unitary(circ, t) @ psi0
        return jnp.real(jnp.vdot(psi, O @ psi))
    return f


def test_ordering_and_compiled_form(setup):
    circ, comp, _, O, theta, psi0 = setup
    U = _dense_U(circ, theta)
    np.testing.assert_allclose(model.unitary(circ, theta), U, atol=1e-13)
    np.testing.assert_allclose(model.unitary_compiled(comp, theta), U, atol=1e-13)
    # layer L acts first: with L = 2, U psi = W1 e^{i t1 X1} W2 e^{i t2 X2} psi
    two = model.PauliCircuit(circ.W[:2], circ.generators[:2])
    W1, W2 = np.asarray(circ.W[:2])
    X1, X2 = (pauli_matrix(c) for c in np.asarray(circ.generators[:2]))
    want = W1 @ scipy.linalg.expm(0.3j * X1) @ W2 @ scipy.linalg.expm(1.1j * X2) @ np.asarray(psi0)
    np.testing.assert_allclose(model.unitary(two, jnp.array([0.3, 1.1])) @ psi0, want, atol=1e-13)


def test_general_hermitian_generators():
    rng = np.random.default_rng(5)
    W = np.asarray(model.haar_unitary(key=jax.random.PRNGKey(7), dim=4, shape=(3,)))
    A = rng.normal(size=(3, 4, 4)) + 1j * rng.normal(size=(3, 4, 4))
    X = (A + A.conj().transpose(0, 2, 1)) / 2
    t = np.array([0.2, -0.9, 1.7])
    U = np.eye(4)
    for Wl, Xl, tl in zip(W, X, t):
        U = U @ Wl @ scipy.linalg.expm(1j * tl * Xl)
    comp = model.compile_generators(W, X)
    np.testing.assert_allclose(model.unitary_compiled(comp, t), U, atol=1e-12)
    assert kernel.prepare(comp) is comp                      # four-level spectra: general path
    with pytest.raises(InputError, match="two eigenvalues"):
        fast.two_level(comp)
    with pytest.raises(InputError, match="shape"):
        model.compile_generators(W, X[:2])


def test_residual_and_gradient(setup):
    circ, comp, tl, O, theta, psi0 = setup
    f = _eps_dense(circ, O, psi0)
    psi = _dense_U(circ, theta) @ np.asarray(psi0)
    eps_ref = np.real(psi.conj() @ np.asarray(O) @ psi) - 0.25
    h = 1e-6
    shifts = jnp.concatenate([theta + h * jnp.eye(L), theta - h * jnp.eye(L)])
    vals = np.asarray(jax.jit(jax.vmap(f))(shifts))
    fd = (vals[:L] - vals[L:]) / (2 * h)

    @jax.jit
    def ours(c):
        eps, g = kernel.residual_and_grad(c, O, theta, psi0, 0.25)
        return eps, g, jax.grad(lambda t: kernel.residual(c, O, t, psi0))(theta), kernel.qntk(c, O, theta, psi0)

    for c in (comp, tl):
        eps, g, g2, K = ours(c)
        assert np.isclose(eps, eps_ref, atol=1e-13)
        np.testing.assert_allclose(g, fd, atol=1e-8)
        np.testing.assert_allclose(g2, g, atol=1e-13)
        assert np.isclose(K, np.dot(fd, fd), rtol=1e-7)


def test_gradient_is_eq8_commutator(setup):
    """Eq. 8: de/dth_l = -i <psi0| U_+^dag [X_l, U_-^dag O U_-] U_+ |psi0>."""
    circ, comp, _, O, theta, psi0 = setup
    Ws, Xs = np.asarray(circ.W), [pauli_matrix(c) for c in np.asarray(circ.generators)]
    A = [Ws[k] @ scipy.linalg.expm(1j * float(theta[k]) * Xs[k]) for k in range(L)]
    _, g = kernel.residual_and_grad(comp, O, theta, psi0)
    for l in range(L):
        Um = np.linalg.multi_dot([np.eye(D)] + A[:l + 1])
        Up = np.linalg.multi_dot([np.eye(D), np.eye(D)] + A[l + 1:])
        M = Um.conj().T @ np.asarray(O) @ Um
        chi = Up @ np.asarray(psi0)
        want = np.real(-1j * chi.conj() @ (Xs[l] @ M - M @ Xs[l]) @ chi)
        assert np.isclose(g[l], want, atol=1e-13)


def test_dqntk_three_ways(setup):
    circ, comp, tl, O, theta, psi0 = setup
    f = _eps_dense(circ, O, psi0)
    H = np.asarray(jax.jit(jax.hessian(f))(theta))           # full Hessian, tiny case only
    g = np.asarray(jax.grad(f)(theta))
    mu_ref = g @ H @ g
    @jax.jit
    def ours(c):
        a = kernel.qntk_stats(c, O, theta, psi0, method="taylor")
        b = kernel.qntk_stats(c, O, theta, psi0, method="hvp")
        return a.mu, b.mu, a.K, kernel.hvp(lambda s: kernel.residual(c, O, s, psi0), theta, a.grad)

    for c in (comp, tl):
        mu_t, mu_h, K, hv = ours(c)
        assert np.isclose(mu_t, mu_ref, rtol=1e-11, atol=1e-12)
        assert np.isclose(mu_h, mu_ref, rtol=1e-11, atol=1e-12)
        assert np.isclose(K, g @ g, rtol=1e-12)
        np.testing.assert_allclose(hv, H @ g, atol=1e-11)


def test_batches_and_non_pauli_two_level():
    keys = jax.random.split(jax.random.PRNGKey(3), 4)
    comps = jax.jit(jax.vmap(lambda k: model.compile_circuit(model.random_circuit(key=k, n_qubits=2, n_layers=3))))(keys)
    O = model.observable_matrix(model.random_observable(key=jax.random.PRNGKey(4), n_qubits=2))
    th = jax.random.uniform(jax.random.PRNGKey(5), (4, 3))
    psi0 = jnp.zeros(4, complex).at[0].set(1.0)
    st = kernel.qntk_batch(comps, O, th, psi0)
    stats = jax.jit(kernel.qntk_stats)
    for i in range(4):
        one = jax.tree_util.tree_map(lambda a: a[i], comps)
        ref = stats(one, O, th[i], psi0)
        assert np.isclose(st.K[i], ref.K, rtol=1e-12) and np.isclose(st.mu[i], ref.mu, rtol=1e-10)
    # rotation-style generators X/2 (spectrum +-1/2) take the fast path too
    W = np.asarray(model.haar_unitary(key=jax.random.PRNGKey(8), dim=4, shape=(3,)))
    X = np.stack([pauli_matrix(c) / 2 + 0.3 * np.eye(4) for c in ([1, 0], [3, 2], [2, 2])])
    comp = model.compile_generators(W, X)
    tlev = kernel.prepare(comp)
    assert isinstance(tlev, fast.TwoLevel)
    a, b = stats(comp, O, th[0], psi0), stats(tlev, O, th[0], psi0)
    assert np.isclose(a.eps, b.eps, atol=1e-13) and np.allclose(a.grad, b.grad, atol=1e-13)
    assert np.isclose(a.mu, b.mu, rtol=1e-11)


def test_kernel_matrix_is_jacobian_gram(setup):
    circ, comp, tl, O, theta, psi0 = setup
    X = np.asarray(model.haar_unitary(key=jax.random.PRNGKey(9), dim=D))[:, :3].T
    J = np.stack([np.asarray(jax.grad(_eps_dense(circ, O, jnp.asarray(x)))(theta)) for x in X])
    Km = np.asarray(kernel.kernel_matrix(tl, O, theta, jnp.asarray(X)))
    np.testing.assert_allclose(Km, J @ J.T, atol=1e-12)
    # two outputs O_i: the (delta, i) kernel, input-major
    O2 = jnp.stack([O, O @ O])
    Km2 = np.asarray(kernel.kernel_matrix(comp, O2, theta, jnp.asarray(X)))
    assert Km2.shape == (6, 6)
    np.testing.assert_allclose(Km2[::2, ::2], Km, atol=1e-12)


@pytest.mark.parametrize("n_q, L, rot", [(1, 1, False), (2, 7, True), (3, 12, False)])
def test_unrolled_batch_equals_dense_path(n_q, L, rot):
    """qntk_batch's unrolled one-mat-vec-per-layer kernel (fast.unrolled) against the general
    complex path (dense Compiled gates, vmapped qntk_stats) on random circuits: eps, grad, K, mu."""
    k = jax.random.split(jax.random.PRNGKey(10 * n_q + L), 4)
    D = 2 ** n_q
    if rot:       # PennyLane-style rotations: generator P/2 + shift (spectrum m +- 1/2)
        W = np.asarray(model.haar_unitary(key=k[0], dim=D, shape=(L,)))
        codes = np.asarray(model.sample_paulis(key=k[1], n_qubits=n_q, shape=(L,), include_identity=False))
        X = np.stack([pauli_matrix(c) / 2 + 0.7 * np.eye(D) for c in codes])
        comp = model.compile_generators(W, X)
    else:
        comp = model.compile_circuit(model.random_circuit(key=k[0], n_qubits=n_q, n_layers=L))
    O = model.observable_matrix(model.random_observable(key=k[2], n_qubits=n_q))
    th = jax.random.uniform(k[3], (9, L), maxval=2 * np.pi)
    psi0 = jnp.asarray(np.asarray(model.haar_unitary(key=k[1], dim=D))[:, 0])
    tlev = kernel.prepare(comp)
    assert isinstance(tlev, fast.TwoLevel) and L <= fast.UNROLL_MAX_LAYERS
    st = kernel.qntk_batch(tlev, O, th, psi0, 0.1, native=False)   # the pure-JAX kernel itself
    ref = jax.jit(jax.vmap(lambda t: kernel.qntk_stats(comp, O, t, psi0, 0.1)))(th)   # dense complex
    assert not isinstance(comp, fast.TwoLevel)
    np.testing.assert_allclose(st.eps, ref.eps, atol=1e-12)
    np.testing.assert_allclose(st.grad, ref.grad, atol=1e-12)
    np.testing.assert_allclose(st.K, ref.K, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(st.mu, ref.mu, rtol=1e-11, atol=1e-12)
    noK = kernel.qntk_batch(comp, O, th, psi0, with_mu=False, native=False)
    np.testing.assert_allclose(noK.K, ref.K, rtol=1e-12, atol=1e-13)
    assert np.all(np.isnan(noK.mu))


_SPLIT = """
from qsntk.hostdevices import expose_host_cores
assert expose_host_cores(2) == 2
import jax, jax.numpy as jnp, numpy as np
jax.config.update("jax_enable_x64", True)
from qsntk.circuits import kernel, model
assert len(jax.devices()) == 2
k = jax.random.split(jax.random.PRNGKey(3), 4)
comp = model.compile_circuit(model.random_circuit(key=k[0], n_qubits=3, n_layers=7))
O = model.observable_matrix(model.random_observable(key=k[2], n_qubits=3))
psi0 = jnp.zeros(8, jnp.complex128).at[0].set(1.0)
assert kernel._sample_mesh(kernel.SPLIT_MIN_SAMPLES).devices.size == 2
assert kernel._sample_mesh(kernel.SPLIT_MIN_SAMPLES - 1) is None
kernel.SPLIT_MIN_SAMPLES = 2                       # split the small test batches too
assert kernel._sample_mesh(7).devices.size == 2 and kernel._sample_mesh(1) is None
seen = []
orig = kernel.fast.scaled_angle_columns
kernel.fast.scaled_angle_columns = lambda t, **k: (seen.append(len(t.sharding.device_set)), orig(t, **k))[1]
worst = 0.0
for B in (10, 7):                                  # even, and odd (padded to 8)
    th = jax.random.uniform(jax.random.fold_in(k[3], B), (B, 7), maxval=2 * np.pi)
    target = jax.device_put(jnp.asarray(0.1), jax.devices()[0])    # committed inputs are fine
    st = kernel.qntk_batch(comp, O, np.asarray(th), psi0, target)
    assert all(a.shape[0] == B and not a.committed for a in st)  # ordinary arrays come back
    ref = jax.jit(jax.vmap(lambda t: kernel.qntk_stats(comp, O, t, psi0, 0.1)))(th)
    worst = max(worst, *(float(jnp.abs(a - b).max()) for a, b in zip(st, ref)))
assert seen == [2, 2], seen                        # the samples were split over both devices
leaves = jax.tree_util.tree_leaves((kernel.prepare(comp), O, psi0))   # the packed transfer
layout = (jax.tree_util.tree_structure((kernel.prepare(comp), O, psi0)),
          tuple((tuple(x.shape), str(x.dtype)) for x in leaves))
back = jax.tree_util.tree_leaves(kernel._unpack(kernel._pack(leaves), layout))
assert all(a.dtype == b.dtype and bool((a == b).all()) for a, b in zip(leaves, back))
st = kernel.qntk_batch(comp, np.asarray(O), np.asarray(th) + 1e7, psi0, 0.1)  # libm sin/cos
ref = jax.jit(jax.vmap(lambda t: kernel.qntk_stats(comp, O, t, psi0, 0.1)))(th + 1e7)
worst = max(worst, *(float(jnp.abs(a - b).max()) for a, b in zip(st, ref)))
jitted = jax.jit(lambda t: kernel.qntk_batch(comp, O, t, psi0, 0.1))(th)  # traced: one device
ref = jax.jit(jax.vmap(lambda t: kernel.qntk_stats(comp, O, t, psi0, 0.1)))(th)
worst = max(worst, *(float(jnp.abs(a - b).max()) for a, b in zip(jitted, ref)))
assert seen == [2, 2, 2], seen                     # the jitted call did not split
s32 = kernel.qntk_batch(comp, O, np.asarray(th), psi0, 0.1, dtype="float32")   # split, single
assert seen == [2, 2, 2, 2] and all(a.dtype == jnp.float32 for a in s32), seen
rel32 = max(float(jnp.max(jnp.abs(a - b)) / jnp.max(jnp.abs(b))) for a, b in zip(s32, ref))
print(rel32, worst)
"""


def test_unrolled_batch_split_over_devices_equals_dense_path():
    """Angle samples split over two XLA CPU devices (fresh process) give the dense path's numbers."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env["JAX_PLATFORMS"] = "cpu"          # the split is a CPU feature (a CUDA install sees one GPU)
    env["QSNTK_NATIVE"] = "0"             # the split is the pure-JAX path's (the native kernel threads)
    out = subprocess.run([sys.executable, "-c", _SPLIT], env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    rel32, worst = map(float, out.stdout.split()[-2:])
    assert worst < 1e-11
    assert 1e-9 < rel32 < 1e-5          # single precision on the split path, and really single


def test_single_precision_matches_double_on_every_path():
    """``dtype="float32"``: the unrolled kernel, the ``lax.scan`` sweeps (a batch of
    circuits) and the general complex path (three-level generators) agree with double
    precision to single-precision rounding, and really run in single precision."""
    from qsntk.errors import InputError

    k = jax.random.split(jax.random.PRNGKey(11), 5)
    comp = model.compile_circuit(model.random_circuit(key=k[0], n_qubits=3, n_layers=12))
    O = model.observable_matrix(model.random_observable(key=k[1], n_qubits=3))
    psi0 = jnp.zeros(8, jnp.complex128).at[0].set(1.0)
    th = jax.random.uniform(k[2], (16, 12), maxval=2 * np.pi)
    batch = jax.tree_util.tree_map(lambda x: jnp.broadcast_to(x, (16,) + x.shape), comp)
    codes = np.asarray(jax.random.randint(k[3], (12, 3), 0, 4))
    W = model.haar_unitary(key=k[4], dim=8, shape=(12,))
    three = model.compile_generators(W, np.stack([pauli_matrix(c) + np.diag(np.arange(8.0) % 3)
                                                  for c in codes]))
    assert not fast.is_two_level(three)
    for circuit in (comp, batch, three):
        ref = kernel.qntk_batch(circuit, O, th, psi0, 0.1)
        got = kernel.qntk_batch(circuit, O, th, psi0, 0.1, dtype="float32")
        for a, b in zip(got, ref):
            assert a.dtype == jnp.float32
            err = float(jnp.max(jnp.abs(a - b)) / jnp.max(jnp.abs(b)))
            assert 1e-9 < err < 2e-5, err
    same = kernel.qntk_batch(comp, O, th, psi0, 0.1, dtype=np.float64)
    assert same.K.dtype == jnp.float64
    np.testing.assert_array_equal(same.K, kernel.qntk_batch(comp, O, th, psi0, 0.1).K)
    for bad in ("float16", "complex64", "double!", int):
        with pytest.raises(InputError, match="dtype must be float32 or float64"):
            kernel.qntk_batch(comp, O, th, psi0, dtype=bad)


def test_angle_columns_in_range_out_of_range_and_traced():
    """The per-sample cos/sin rows: polynomial (concrete angles in range), libm (out of
    range), checked inside the program (traced): all equal numpy's to ~1 ulp."""
    from qsntk.circuits import fast

    h = jnp.asarray([1.0, 0.5, 1.0])
    for th in (np.random.default_rng(0).uniform(-7, 7, (5, 3)), np.full((2, 3), 3e6)):
        ref_c, ref_s = np.cos(th * np.asarray(h)).T, np.sin(th * np.asarray(h)).T
        for c, s in (fast.angle_columns(h, jnp.asarray(th)),
                     jax.jit(lambda t: fast.angle_columns(h, t))(jnp.asarray(th))):
            np.testing.assert_allclose(np.concatenate(c), ref_c, rtol=0, atol=3e-16 * np.abs(th).max())
            np.testing.assert_allclose(np.concatenate(s), ref_s, rtol=0, atol=3e-16 * np.abs(th).max())
    assert fast.angles_in_range(h, np.ones((2, 3))) and not fast.angles_in_range(h, np.full((1, 3), 3e6))
    assert not fast.angles_in_range(h, np.array([[0.0, np.nan, 0.0]]))
