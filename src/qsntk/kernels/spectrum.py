r"""Spectra of quantum-state kernels: what gradient descent on them sees.

For the loss :math:`\frac{1}{n}\sum|\psi-\psi_T|^2` the modes of the residual decay as
:math:`e^{-2\lambda\tau/n}` with :math:`\lambda` the eigenvalues of the real kernel
:math:`\Omega_{RI}` (eigenvalues of :math:`\Omega M` are :math:`2\lambda`); see
:mod:`qsntk.dynamics.linearized`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.linalg

from qsntk.errors import InputError, check_finite


def omega_ri_eigenvalues(blocks) -> np.ndarray:
    """Ascending eigenvalues of :math:`\\Omega_{RI}` from real blocks ``(2, 2, n, n)``.

    A decoupled kernel (zero cross blocks) is diagonalized block by block.
    """
    K = np.asarray(blocks, np.float64)
    _check_blocks(K, "kernel")
    if not (np.any(K[0, 1]) or np.any(K[1, 0])):
        parts = [scipy.linalg.eigvalsh(K[a, a], driver="evd", check_finite=False) for a in (0, 1)]
        return np.sort(np.concatenate(parts))
    big = np.block([[K[0, 0], K[0, 1]], [K[1, 0], K[1, 1]]])
    return scipy.linalg.eigvalsh(0.5 * (big + big.T), driver="evd", check_finite=False)


class Summary(NamedTuple):
    """A short description of a kernel spectrum."""

    n: int
    lam_max: float
    lam_min: float
    condition: float
    effective_rank: float
    eta_max: float


def summarize(evals, n: int) -> Summary:
    r"""λ_max, λ_min, condition number, participation-ratio rank
    :math:`(\sum\lambda)^2/\sum\lambda^2` and the GD stability bound :math:`\eta_{\max} = n/\lambda_{\max}`."""
    ev = np.asarray(evals, np.float64)
    lmax, lmin = float(ev[-1]), float(ev[0])
    pos = np.maximum(ev, 0.0)
    rank = float(pos.sum() ** 2 / np.sum(pos**2)) if pos.any() else 0.0
    cond = lmax / lmin if lmin > 0 else float("inf")
    return Summary(n, lmax, lmin, cond, rank, n / lmax if lmax > 0 else float("inf"))


class Drift(NamedTuple):
    r"""How far a kernel moved between two times (e.g. initialization and the end of training).

    Attributes:
        frob: :math:`\|K_1 - K_0\|_F / \|K_0\|_F` of :math:`\Omega_{RI}`.
        rate0, rate1: the Rayleigh quotients :math:`r^\top K r / r^\top r` of a residual
            :math:`r = (\mathrm{Re}\,\delta\psi, \mathrm{Im}\,\delta\psi)` in :math:`K_0` and
            :math:`K_1` (NaN without one): the rate, up to :math:`2/n`, at which gradient
            descent shrinks that residual, :math:`\dot r = -\tfrac{2}{n}\,\Omega_{RI}\,r`.
    """

    frob: float
    rate0: float
    rate1: float

    @property
    def rate_change(self) -> float:
        """:math:`\\mathrm{rate}_1/\\mathrm{rate}_0 - 1`: negative where the kernel softened
        along the residual."""
        return self.rate1 / self.rate0 - 1.0


def _check_blocks(K: np.ndarray, what: str) -> None:
    if K.ndim != 4 or K.shape[:2] != (2, 2) or K.shape[2] != K.shape[3]:
        raise InputError(f"{what} blocks must have shape (2, 2, n, n), got {K.shape}")
    check_finite(what, K)


def _omega_ri(blocks, what: str) -> np.ndarray:
    K = np.asarray(blocks, np.float64)
    _check_blocks(K, what)
    return np.block([[K[0, 0], K[0, 1]], [K[1, 0], K[1, 1]]])


def kernel_drift(blocks0, blocks1, residual=None) -> Drift:
    r"""The relative Frobenius change of :math:`\Omega_{RI}` (eq. 10 of Luo–Halverson) between
    real blocks ``blocks0`` and ``blocks1`` ``(2, 2, n, n)`` and, given a ``residual``
    (complex ``(n,)``, or real ``(2n,)`` stacked as (Re, Im)), the kernel's Rayleigh quotient
    along it in both.

    The Frobenius norm weighs every direction alike and is dominated by the top
    eigenvalues; the Rayleigh quotient of the late train residual asks what matters
    for the loss that is left: whether the kernel still pushes along the directions
    gradient descent has not yet learned.
    """
    K0, K1 = _omega_ri(blocks0, "kernel"), _omega_ri(blocks1, "kernel")
    if K0.shape != K1.shape:
        raise InputError(f"kernels of different sizes: {K0.shape[0] // 2} and {K1.shape[0] // 2} points")
    norm0 = np.linalg.norm(K0)
    if norm0 == 0.0:
        raise InputError("the initial kernel is zero: no relative drift")
    frob = float(np.linalg.norm(K1 - K0) / norm0)
    if residual is None:
        return Drift(frob, float("nan"), float("nan"))
    r = np.asarray(residual)
    n2 = K0.shape[0]
    if np.iscomplexobj(r) and r.shape == (n2 // 2,):
        r = np.concatenate([r.real, r.imag])
    elif np.iscomplexobj(r) or r.shape != (n2,):
        raise InputError(f"residual must be complex ({n2 // 2},) or real ({n2},), got "
                         f"{r.dtype} {r.shape}")
    r = r.astype(np.float64)
    check_finite("residual", r)
    rr = float(r @ r)
    if rr == 0.0:
        raise InputError("the residual is zero: no direction to measure the kernel along")
    return Drift(frob, float(r @ K0 @ r) / rr, float(r @ K1 @ r) / rr)
