"""The lens: sample-space QS-NTK against NetKet's QGT, the gradient-flow identity, closed forms."""

import warnings

import jax
import jax.numpy as jnp
import netket as nk
import numpy as np
import pytest

from qsntk.physics import make_system
from qsntk.vmc import lens


def _state(system, model, n_samples=64, seed=3):
    sampler = nk.sampler.MetropolisLocal(system.hilbert, n_chains=8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vs = nk.vqs.MCState(sampler, model, n_samples=n_samples, seed=seed, sampler_seed=seed + 1)
    return vs


def _jac(vs):
    x = vs.samples.reshape(-1, vs.samples.shape[-1])
    return x, lens.centered_jacobian(vs._apply_fun, vs.parameters, vs.model_state, x)


@pytest.mark.parametrize("param_dtype, n_samples", [
    (complex, 64),                                         # 2 N_s > N_p: Ω_RI has zeros
    pytest.param(complex, 8, marks=pytest.mark.slow),      # 2 N_s < N_p: S has zeros
    pytest.param(float, 64, marks=pytest.mark.slow)])
def test_spectrum_equals_netket_qgt(param_dtype, n_samples):
    """Nonzero spectrum of Ω_RI on the samples == spectrum of NetKet's dense QGT S."""
    system = make_system("heisenberg", lx=2, ly=2)
    vs = _state(system, nk.models.RBM(alpha=1, param_dtype=param_dtype), n_samples)
    x, Ob = _jac(vs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        S = np.asarray(vs.quantum_geometric_tensor(nk.optimizer.qgt.QGTJacobianDense()).to_dense())
    wS = np.sort(np.linalg.eigvalsh(S))[::-1]
    n_p = S.shape[0]
    assert Ob.shape[-1] == n_p
    # Ω_RI built from the real blocks through qsntk.kernels.qs (eq. 10)
    Om = np.asarray(lens.omega_ri_of(Ob))
    wO = np.sort(np.linalg.eigvalsh(Om))[::-1]
    k = min(len(wO), n_p)
    np.testing.assert_allclose(wO[:k], wS[:k], atol=1e-10 * wS[0])
    # the zeros beyond the rank on the larger side
    assert np.all(np.abs(wS[k:]) < 1e-10 * wS[0]) and np.all(np.abs(wO[k:]) < 1e-10 * wS[0])
    # the smaller-Gram route used by the driver
    w = lens.spectrum(Ob)
    np.testing.assert_allclose(w[:k], wS[:k], atol=1e-10 * wS[0])
    # Φ_s is Hermitian PSD with tr Φ_s = tr S (eq. 7)
    qs = lens.sample_qs_ntk(Ob)
    Phi = np.asarray(qs.phi)
    np.testing.assert_allclose(Phi, Phi.conj().T, atol=1e-12)
    assert np.linalg.eigvalsh(Phi).min() > -1e-10
    np.testing.assert_allclose(np.trace(Phi).real, np.trace(S), rtol=1e-10)


def test_real_model_blocks():
    """A real log ψ has Ō_I = 0: Θ_s = Φ_s = K_11 and the spectrum is that of the real S."""
    system = make_system("tfim", lx=2, ly=2)
    vs = _state(system, nk.models.RBM(alpha=1, param_dtype=float))
    x, Ob = _jac(vs)
    assert not np.any(np.asarray(Ob[1]))
    qs = lens.sample_qs_ntk(Ob)
    np.testing.assert_allclose(np.asarray(qs.theta), np.asarray(qs.phi), atol=1e-14)
    S = np.asarray(vs.quantum_geometric_tensor(nk.optimizer.qgt.QGTJacobianDense()).to_dense())
    w = lens.spectrum(Ob)
    np.testing.assert_allclose(w, np.sort(np.linalg.eigvalsh(S))[::-1][:len(w)], atol=1e-12)


def test_gradient_flow_through_the_kernel():
    """GD on L = <H>: δ log ψ(x_i) = −η Σ_j [Φ_s ε_j + Θ_s ε_j*] (+const), eq. 6 of Luo–Halverson.

    The left side is the Jacobian times NetKet's own parameter gradient on the same
    samples; the right side uses only the kernel and the local energies.
    """
    system = make_system("heisenberg", lx=2, ly=2)
    vs = _state(system, nk.models.RBM(alpha=1, param_dtype=complex), n_samples=128)
    x, Ob = _jac(vs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, grad = vs.expect_and_grad(system.operator)
    eloc = np.asarray(vs.local_estimators(system.operator).data).reshape(-1)
    eps = eloc - eloc.mean()
    qs = lens.sample_qs_ntk(Ob)
    rhs = -(np.asarray(qs.phi) @ eps + np.asarray(qs.theta) @ eps.conj())
    # left: Ō δθ with δθ = −grad over the real parameters (NetKet's order: Re, Im)
    flat = jnp.concatenate([jnp.concatenate([jnp.real(g).ravel(), jnp.imag(g).ravel()])
                            for g in jax.tree_util.tree_leaves(grad)])
    # for complex θ NetKet's gradient is ∂L/∂Reθ + i ∂L/∂Imθ: (Re, Im) is the real-parameter one
    dtheta = -np.asarray(flat)
    Oc = np.asarray(Ob[0]) + 1j * np.asarray(Ob[1])
    lhs = Oc @ _netket_order(vs.parameters, dtheta) * np.sqrt(len(eloc))
    lhs, rhs = lhs - lhs.mean(), rhs - rhs.mean()       # the additive constant
    np.testing.assert_allclose(lhs, rhs, rtol=1e-8, atol=1e-10 * np.abs(rhs).max())


def _netket_order(params, vec):
    """Reorder (Re leaf0, Im leaf0, Re leaf1, …) into NetKet's dense 'complex' order."""
    leaves = jax.tree_util.tree_leaves(params)
    sizes = [p.size for p in leaves]
    re, im, pos = [], [], 0
    for n in sizes:
        re.append(vec[pos:pos + n])
        im.append(vec[pos + n:pos + 2 * n])
        pos += 2 * n
    return np.concatenate(re + im)


def test_effective_rank_and_condition_closed_forms():
    w = np.array([4.0, 1.0, 1.0, 0.0])
    p = np.array([4, 1, 1]) / 6
    assert lens.effective_rank(w) == pytest.approx(np.exp(-np.sum(p * np.log(p))))
    assert lens.effective_rank(np.ones(7)) == pytest.approx(7.0)
    assert lens.condition_number(w) == pytest.approx(4.0)
    assert lens.condition_number(w, shift=0.5, n_total=10) == pytest.approx(4.5 / 0.5)
    assert lens.condition_number(np.array([3.0, 1.0]), shift=1.0) == pytest.approx(2.0)
    # a rank-2 Jacobian: participation ratio and rank
    O = np.zeros((2, 3, 5))
    O[0, 0, 0], O[0, 1, 1] = 1.0, 2.0
    v = lens.lens_spectrum(O, diag_shift=0.1).values
    assert v["lens_rank"] == 2 and v["lens_trace"] == pytest.approx(5.0)
    assert v["lens_participation"] == pytest.approx(25 / 17)
    assert v["lens_cond"] == pytest.approx(4.0)
    assert v["lens_cond_shifted"] == pytest.approx(4.1 / 0.1)
