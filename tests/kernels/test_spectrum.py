"""Kernel spectra and kernel drift (qsntk.kernels.spectrum)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from qsntk.errors import InputError
from qsntk.kernels.spectrum import kernel_drift, omega_ri_eigenvalues, residual_split

jax.config.update("jax_enable_x64", True)


def _blocks(n, seed):
    """Random positive semi-definite Ω_RI as real blocks (2, 2, n, n)."""
    a = np.random.default_rng(seed).normal(size=(2 * n, 3 * n))
    K = a @ a.T / (3 * n)
    return np.stack([np.stack([K[:n, :n], K[:n, n:]]), np.stack([K[n:, :n], K[n:, n:]])])


def test_drift_in_closed_form():
    K0 = _blocks(5, 0)
    r = np.arange(1.0, 11.0)
    d = kernel_drift(K0, 3.0 * K0, r, r, lam_star=1e9)
    assert d.frob == pytest.approx(2.0, rel=1e-14)
    assert d.rate1 == pytest.approx(3.0 * d.rate0, rel=1e-14)
    assert d.slow_ratio == pytest.approx(3.0, rel=1e-12)        # every mode is "slow" here
    same = kernel_drift(K0, K0)
    assert same.frob == 0.0 and np.isnan(same.rate0) and np.isnan(same.slow_ratio)
    ev = np.linalg.eigvalsh(np.block([[K0[0, 0], K0[0, 1]], [K0[1, 0], K0[1, 1]]]))
    half = kernel_drift(K0, 0.5 * K0, lam_star=ev[3] * 1.0001)  # the four smallest modes
    assert half.slow_ratio == pytest.approx(0.5, rel=1e-12)
    # no mode below lam_star: nothing to report
    assert np.isnan(kernel_drift(K0, 0.5 * K0, lam_star=ev[0] * 0.5).slow_ratio)


def test_rate_along_an_eigenvector_is_its_eigenvalue():
    K0, K1 = _blocks(6, 1), _blocks(6, 2)
    big = np.block([[K1[0, 0], K1[0, 1]], [K1[1, 0], K1[1, 1]]])
    lam, vec = np.linalg.eigh(big)
    d = kernel_drift(K0, K1, residual1=5.0 * vec[:, 2])
    assert d.rate1 == pytest.approx(lam[2], rel=1e-12) and np.isnan(d.rate0)
    assert omega_ri_eigenvalues(K1)[2] == pytest.approx(lam[2], rel=1e-12)
    # a complex residual is the stacked (Re, Im) one
    r = np.random.default_rng(3).normal(size=12)
    a, b = kernel_drift(K0, K1, r, r), kernel_drift(K0, K1, r[:6] + 1j * r[6:], r[:6] + 1j * r[6:])
    assert (a.frob, a.rate0, a.rate1) == pytest.approx((b.frob, b.rate0, b.rate1), rel=1e-14)


def test_residual_split():
    rng = np.random.default_rng(4)
    s = rng.normal(size=20)
    t = rng.normal(size=20)
    t -= (t @ s) / (s @ s) * s                                   # orthogonal to s
    a, b = residual_split(2.0 * s + t, s)
    assert a == pytest.approx(2.0, rel=1e-13)
    assert b == pytest.approx(np.linalg.norm(t) / np.linalg.norm(s), rel=1e-13)
    r = rng.normal(size=20)
    a, b = residual_split(r, s)
    assert a**2 + b**2 == pytest.approx((r @ r) / (s @ s), rel=1e-13)
    with pytest.raises(InputError, match="reference residual is zero"):
        residual_split(r, np.zeros(20))
    with pytest.raises(InputError, match="one length"):
        residual_split(r, s[:5])


@pytest.mark.parametrize("args, kw, match", [
    ((np.zeros((2, 2, 3, 3)), np.zeros((2, 2, 3, 3))), {}, "initial kernel is zero"),
    ((_blocks(3, 0), _blocks(4, 0)), {}, "different sizes"),
    ((_blocks(3, 0), _blocks(3, 1), np.zeros(6)), {}, "residual0 is zero"),
    ((_blocks(3, 0), _blocks(3, 1), None, np.ones(5)), {}, r"residual1 must be complex \(3,\) or real \(6,\)"),
    ((_blocks(3, 0), _blocks(3, 1), np.array([np.nan] * 6)), {}, "residual0"),
    ((np.ones((2, 3, 3)), _blocks(3, 1)), {}, r"shape \(2, 2, n, n\)"),
    ((_blocks(3, 0), _blocks(3, 1)), {"lam_star": -1.0}, "lam_star must be a positive number, got -1.0"),
])
def test_drift_rejects_bad_input(args, kw, match):
    with pytest.raises(InputError, match=match):
        kernel_drift(*args, **kw)


def test_trained_networks_kernels_move_less_as_width_grows():
    """Lazy training: the empirical QS-NTK of the paper's pair, trained by GD on a
    random complex target, moves ≈ 1/N (mean-field-free NTK scaling, at least 1/√N)."""
    from qsntk.dynamics import ensemble as ens
    from qsntk.kernels import real_blocks
    from qsntk.nets import paper_pair

    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.choice([-1.0, 1.0], size=(48, 8)))
    y = jnp.asarray(0.3 * (rng.normal(size=48) + 1j * rng.normal(size=48)))
    frob = {}
    for width in (64, 1024):
        model = paper_pair(width)
        p0 = ens.init_ensemble(model, 8, 2, key=jax.random.PRNGKey(7), dtype=jnp.float64)
        p1 = ens.gd_fn(model.apply, x, y, 0.5)(p0, 300)
        d = []
        for e in range(2):
            pick = lambda p: jax.tree_util.tree_map(lambda a: a[e], p)  # noqa: E731
            d.append(kernel_drift(real_blocks(model, pick(p0), x), real_blocks(model, pick(p1), x)).frob)
        frob[width] = np.mean(d)
    assert frob[64] > 1e-3                                # the narrow kernel does move
    assert frob[1024] < frob[64] / 4.0                    # 16× the width: at least 1/√N
