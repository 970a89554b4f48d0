"""The fused CPU kernel (qsntk.circuits.native) against the pure-JAX paths it replaces."""

import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import qsntk.native as lib
from qsntk.circuits import fast, kernel, model, native
from qsntk.errors import InputError

jax.config.update("jax_enable_x64", True)

needs_native = pytest.mark.skipif(not native.available(),
                                  reason=f"native QNTK kernel not built: {native.why_not()}")


def _problem(n_q, L, B, *, seed=0, rot=False):
    k = jax.random.split(jax.random.PRNGKey(seed), 4)
    D = 2 ** n_q
    if rot:                 # Pauli rotations with a shift: half gap 1/2, spectrum m +- 1/2
        W = np.asarray(model.haar_unitary(key=k[0], dim=D, shape=(L,)))
        codes = np.asarray(model.sample_paulis(key=k[1], n_qubits=n_q, shape=(L,),
                                               include_identity=False))
        from qsntk.circuits.paulis import pauli_matrix
        X = np.stack([pauli_matrix(c) / 2 + 0.3 * np.eye(D) for c in codes])
        comp = model.compile_generators(W, X)
    else:
        comp = model.compile_circuit(model.random_circuit(key=k[0], n_qubits=n_q, n_layers=L))
    O = model.observable_matrix(model.random_observable(key=k[2], n_qubits=n_q))
    th = jax.random.uniform(k[3], (B, L), maxval=2 * np.pi)
    psi0 = jnp.asarray(np.asarray(model.haar_unitary(key=k[1], dim=D))[:, 0])
    return comp, O, th, psi0


@needs_native
@pytest.mark.parametrize("n_q, L, B, rot", [(1, 1, 1, False), (2, 7, 13, True), (3, 12, 16, False),
                                            (4, 60, 9, False)])
def test_native_equals_the_pure_jax_and_dense_paths(n_q, L, B, rot):
    """ε, ∇ε, K and μ: native kernel = pure-JAX kernel = dense complex path, float64, for
    batches that are not a multiple of the SIMD block and for depths past the unrolled limit."""
    comp, O, th, psi0 = _problem(n_q, L, B, seed=n_q + L, rot=rot)
    nat = kernel.qntk_batch(comp, O, th, psi0, 0.1, native=True)
    jx = kernel.qntk_batch(comp, O, th, psi0, 0.1, native=False)
    ref = jax.jit(jax.vmap(lambda t: kernel.qntk_stats(comp, O, t, psi0, 0.1)))(th)
    for a, b, c in zip(nat, jx, ref):
        assert a.shape == c.shape and a.dtype == jnp.float64
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-12)
        np.testing.assert_allclose(a, c, rtol=1e-11, atol=1e-12)
    noK = kernel.qntk_batch(comp, O, th, psi0, with_mu=False, native=True)
    np.testing.assert_allclose(noK.K, ref.K, rtol=1e-12, atol=1e-13)
    assert np.all(np.isnan(noK.mu))


@needs_native
def test_native_single_precision_and_threads():
    comp, O, th, psi0 = _problem(4, 40, 37, seed=5)
    d64 = kernel.qntk_batch(comp, O, th, psi0, native=True)
    d32 = kernel.qntk_batch(comp, O, th, psi0, native=True, dtype="float32")
    assert all(a.dtype == jnp.float32 for a in d32)
    for a, b in zip(d32, d64):
        rel = float(jnp.max(jnp.abs(a - b)) / jnp.max(jnp.abs(b)))
        assert 1e-9 < rel < 2e-5           # really single precision, and accurate to it
    tl = kernel.prepare(comp)
    c, s = fast.angle_rows(tl.h, th)
    args = (tl, fast.realmat(O), fast.real_state(psi0), c, s)
    one, two = native.sweep(*args, threads=1), native.sweep(*args, threads=3)
    for a, b in zip(one, two):             # each block is computed alone: bit for bit
        assert bool(jnp.all(a == b))


@needs_native
def test_native_inside_jit_and_vmap():
    comp, O, th, psi0 = _problem(3, 9, 10, seed=7)
    ref = kernel.qntk_batch(comp, O, th, psi0, native=False)
    jitted = jax.jit(lambda t: kernel.qntk_batch(comp, O, t, psi0, native=True))(th)
    np.testing.assert_allclose(jitted.mu, ref.mu, rtol=1e-11)
    stacked = jnp.stack([th, th[::-1]])
    both = jax.vmap(lambda t: kernel.qntk_batch(comp, O, t, psi0, native=True).K)(stacked)
    np.testing.assert_allclose(both[0], ref.K, rtol=1e-12)
    np.testing.assert_allclose(both[1], ref.K[::-1], rtol=1e-12)


def test_native_refuses_what_it_cannot_run(monkeypatch):
    comp, O, th, psi0 = _problem(2, 3, 4)
    with pytest.raises(InputError, match="one shared two-level circuit"):
        kernel.qntk_batch(comp, O, th, psi0, method="hvp", native=True)
    monkeypatch.setitem(lib._state, "ok", False)
    monkeypatch.setitem(lib._state, "why", "RuntimeError: no C++ compiler found")
    with pytest.raises(InputError, match="not available: RuntimeError: no C"):
        kernel.qntk_batch(comp, O, th, psi0, native=True)
    st = kernel.qntk_batch(comp, O, th, psi0)                      # falls back to pure JAX
    ref = kernel.qntk_batch(comp, O, th, psi0, native=False)
    np.testing.assert_allclose(st.K, ref.K, rtol=0, atol=0)


def test_native_can_be_switched_off(tmp_path):
    """QSNTK_NATIVE=0: not available, the reason named, nothing built (fresh process)."""
    env = dict(os.environ, QSNTK_NATIVE="0", QSNTK_CACHE_DIR=str(tmp_path), JAX_PLATFORMS="cpu")
    code = ("from qsntk import native; "
            "print(native.available(), '|', native.why_not())")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "False | RuntimeError: disabled by QSNTK_NATIVE=0"
    assert not any(tmp_path.rglob("*.so"))


@needs_native
def test_native_build_is_cached_by_source_and_cpu(tmp_path, monkeypatch):
    """A fresh cache directory gets one whole library, named by the key of what built it."""
    monkeypatch.setenv("QSNTK_CACHE_DIR", str(tmp_path))
    cxx = lib._compiler()
    path = lib._build()
    assert path == lib.library_path(cxx) and path.is_file() and path.parent.parent == tmp_path
    assert [p.name for p in path.parent.iterdir()] == [path.name]          # no temporary left
    assert lib._build() == path                                            # built once


@needs_native
def test_native_with_angles_outside_the_polynomial_range():
    """Angles of 1e7 take libm's sin/cos (as on the pure-JAX path) and still agree."""
    comp, O, th, psi0 = _problem(3, 10, 11, seed=2)
    big = th + 1e7
    nat = kernel.qntk_batch(comp, O, big, psi0, native=True)
    ref = jax.jit(jax.vmap(lambda t: kernel.qntk_stats(comp, O, t, psi0)))(big)
    for a, b in zip(nat, ref):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-11)


def _ffi(name, tl, RO, p0, cos, sin):
    """The FFI target called directly, with no Python-side checks."""
    dt = jnp.float64
    n2 = tl.first.shape[-1]
    L, B = cos.shape
    s = jax.ShapeDtypeStruct
    call = jax.ffi.ffi_call(name, (s((B,), dt), s((B, L), dt), s((B,), dt), s((B,), dt)),
                            vmap_method="sequential")
    GT = jnp.swapaxes(tl.fold[..., :n2], -1, -2)
    return call(GT, tl.sign, tl.h, RO, p0, cos, sin, with_mu=np.int32(1), threads=np.int32(1))


@needs_native
def test_native_kernel_refuses_mismatched_buffers():
    """Audit: the C++ kernel read O and psi0 with the circuit's dimensions whatever their size
    (garbage or a read past the buffer); it now returns an FFI error for any buffer whose
    dimensions do not match, and sweep() refuses them in one line before dispatch."""
    comp, O, th, psi0 = _problem(2, 3, 5)
    tl = kernel.prepare(comp)
    n2 = tl.first.shape[-1]
    cos, sin = jnp.cos(th.T), jnp.sin(th.T)
    RO = fast.realmat(O)
    p0 = fast.real_state(psi0) @ tl.first
    good = _ffi("qsntk_qntk_sweep_f64", tl, RO.T, p0, cos, sin)
    assert np.all(np.isfinite(good[2]))
    bad = [(RO.T[:4, :4], p0, cos, sin), (jnp.zeros((2 * n2, 2 * n2)), p0, cos, sin),
           (RO.T, p0[:4], cos, sin), (RO.T, jnp.zeros(2 * n2), cos, sin),
           (RO.T, p0, cos, sin[:, :3])]
    for args in bad:
        with pytest.raises(Exception, match="qsntk sweep"):
            jax.block_until_ready(_ffi("qsntk_qntk_sweep_f64", tl, *args))
    for RO_, p0_, c_, s_, what in [(RO[:4, :4], p0, cos, sin, "RO must have shape"),
                                   (RO, p0[:4], cos, sin, "p0 must have shape"),
                                   (RO, p0, cos[:2], sin[:2], "cos and sin"),
                                   (RO, p0, cos, sin[:, :2], "cos and sin")]:
        with pytest.raises(InputError, match=what):
            native.sweep(tl, RO_, p0_, c_, s_)


@pytest.mark.parametrize("native_", [None, False])
def test_qntk_batch_refuses_observable_state_and_angles_that_do_not_fit(native_):
    """Audit: O of the wrong size gave K = 0.7588 / 0.3767 from the native kernel and a raw JAX
    shape error elsewhere; wrong L a raw ValueError. Now one-line InputErrors naming the value,
    also for a non-Hermitian O and a psi0 that is not normalized (K scales as |psi0|^4)."""
    c = model.random_circuit(key=jax.random.PRNGKey(0), n_qubits=2, n_layers=3)
    comp = kernel.prepare(model.compile_circuit(c))
    psi0 = jnp.zeros(4, complex).at[0].set(1)
    th = jnp.ones((4, 3))
    cases = [((jnp.eye(2), th, psi0), r"O must have shape \(4, 4\).*got \(2, 2\)"),
             ((jnp.eye(8), th, psi0), r"O must have shape \(4, 4\).*got \(8, 8\)"),
             ((jnp.eye(4), jnp.ones((4, 2)), psi0), r"angles must have shape \(B, 3\).*got \(4, 2\)"),
             ((jnp.eye(4), jnp.ones(3), psi0), r"angles must have shape \(B, 3\).*got \(3,\)"),
             ((jnp.eye(4), th, psi0[:3]), r"psi0 must have shape \(4,\).*got \(3,\)"),
             ((jnp.eye(4), th, 2 * psi0), "psi0 must have unit norm.*got norm 2"),
             ((jnp.eye(4).at[0, 1].set(1.0), th, psi0), "O must be Hermitian.*= 1"),
             ((jnp.eye(4).at[0, 0].set(jnp.nan), th, psi0), "O must be finite")]
    for args, msg in cases:
        with pytest.raises(InputError, match=msg) as exc:
            kernel.qntk_batch(comp, *args, native=native_)
        assert "\n" not in str(exc.value)
    with pytest.raises(InputError, match=r"O must have shape \(4, 4\)"):
        kernel.qntk_stats(comp, jnp.eye(2), jnp.ones(3), psi0)
    with pytest.raises(InputError, match=r"angles must have shape \(3,\)"):
        kernel.qntk_stats(comp, jnp.eye(4), jnp.ones(2), psi0)
    # Hermitian to rounding and normalized to rounding pass; under jit (tracers) only the
    # shapes are checked
    O = jnp.eye(4).at[0, 1].set(1e-14)
    kernel.qntk_batch(comp, O, th, psi0 * (1 + 1e-13), native=native_)
    K = jax.jit(lambda O: kernel.qntk_batch(comp, O, th, psi0, native=native_).K)(jnp.eye(4))
    assert K.shape == (4,)
