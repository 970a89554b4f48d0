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
    return symmetric_eigenvalues(_assemble(K))


def symmetric_eigenvalues(K: np.ndarray) -> np.ndarray:
    """Ascending eigenvalues of the symmetric part of a real square matrix (LAPACK syevd)."""
    return scipy.linalg.eigvalsh(0.5 * (K + K.T), driver="evd", check_finite=False)


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
    r"""How a kernel moved between two times (e.g. initialization and the end of training).

    Attributes:
        frob: :math:`\|K_1 - K_0\|_F / \|K_0\|_F` of :math:`\Omega_{RI}`.
        slow_ratio: the median of :math:`\lambda^{(1)}_k/\lambda^{(0)}_k` (eigenvalues matched
            by rank) over the modes with :math:`\lambda^{(0)}_k <` ``lam_star`` (null modes
            left out): how much the slow end of the spectrum contracted (< 1) or grew (NaN
            without ``lam_star`` or without such a mode).
        rate0, rate1: the Rayleigh quotients :math:`r_0^\top K_0 r_0/r_0^\top r_0` and
            :math:`r_1^\top K_1 r_1/r_1^\top r_1` of the residuals given (NaN without):
            with :math:`\dot r = -\tfrac{2}{n}\,\Omega_{RI}\,r`, the rate (up to
            :math:`2/n`) at which each kernel is removing the residual its own dynamics left.
    """

    frob: float
    slow_ratio: float
    rate0: float
    rate1: float


def _check_blocks(K: np.ndarray, what: str) -> None:
    if K.ndim != 4 or K.shape[:2] != (2, 2) or K.shape[2] != K.shape[3]:
        raise InputError(f"{what} blocks must have shape (2, 2, n, n), got {K.shape}")
    check_finite(what, K)


def omega_ri_matrix(blocks, what: str = "kernel") -> np.ndarray:
    """:math:`\\Omega_{RI}` as one ``(2n, 2n)`` float64 matrix, from real blocks ``(2, 2, n, n)``
    (a ``(2n, 2n)`` matrix is checked and passed through)."""
    K = np.asarray(blocks, np.float64)
    if K.ndim == 2 and K.shape[0] == K.shape[1] and K.shape[0] % 2 == 0:
        check_finite(what, K)
        return K
    _check_blocks(K, what)
    return _assemble(K)


def _assemble(K: np.ndarray) -> np.ndarray:
    return np.block([[K[0, 0], K[0, 1]], [K[1, 0], K[1, 1]]])


def stacked_residual(residual, n: int, what: str = "residual") -> np.ndarray:
    """A residual as the real ``(2n,)`` vector (Re, Im): from complex ``(n,)`` or real ``(2n,)``."""
    r = np.asarray(residual)
    if np.iscomplexobj(r) and r.shape == (n,):
        r = np.concatenate([r.real, r.imag])
    elif np.iscomplexobj(r) or r.shape != (2 * n,):
        raise InputError(f"{what} must be complex ({n},) or real ({2 * n},), got {r.dtype} {r.shape}")
    r = r.astype(np.float64)
    check_finite(what, r)
    if not np.any(r):
        raise InputError(f"the {what} is zero: no direction to measure the kernel along")
    return r


def _rayleigh(K: np.ndarray, r: np.ndarray) -> float:
    r = r / np.max(np.abs(r))            # a residual of 1e-170 still has a direction
    return float(r @ K @ r) / float(r @ r)


def kernel_drift(blocks0, blocks1, residual0=None, residual1=None, *, lam_star=None,
                 evals=None, rcond: float = 1e-12) -> Drift:
    r"""How :math:`\Omega_{RI}` (eq. 10 of Luo–Halverson) moved from real blocks ``blocks0``
    to ``blocks1`` ``(2, 2, n, n)`` (or the ``(2n, 2n)`` matrices, see
    :func:`omega_ri_matrix`); see :class:`Drift`.

    Arguments:
        residual0, residual1: residuals (complex ``(n,)`` or real ``(2n,)`` stacked as
            (Re, Im)) to measure ``blocks0`` and ``blocks1`` along, e.g. the final train
            residual of a member's linearized twin (frozen :math:`K_0`) and of the trained
            network (whose kernel ended at :math:`K_1`).
        lam_star: the eigenvalue below which a mode of :math:`K_0` counts as slow, e.g.
            :math:`|B|/(2\eta t)` after :math:`t` steps (the modes not yet learned).
        evals: ascending eigenvalues of both kernels if already at hand.
        rcond: eigenvalues of :math:`K_0` below ``rcond`` λ_max are null modes, left out of
            ``slow_ratio``.

    Each residual is measured in its own kernel: a residual left by dynamics under a
    kernel lies in that kernel's slow directions, so measuring it in another kernel
    mixes the kernel's change with that selection.
    """
    K0, K1 = omega_ri_matrix(blocks0), omega_ri_matrix(blocks1)
    if K0.shape != K1.shape:
        raise InputError(f"kernels of different sizes: {K0.shape[0] // 2} and {K1.shape[0] // 2} points")
    norm0 = np.linalg.norm(K0)
    if norm0 == 0.0:
        raise InputError("the initial kernel is zero: no relative drift")
    frob = float(np.linalg.norm(K1 - K0) / norm0)
    n = K0.shape[0] // 2
    rates = []
    for K, r, what in ((K0, residual0, "residual0"), (K1, residual1, "residual1")):
        if r is None:
            rates.append(float("nan"))
        else:
            rates.append(_rayleigh(K, stacked_residual(r, n, what)))
    slow = float("nan")
    if lam_star is not None:
        if not np.isfinite(lam_star) or lam_star <= 0:
            raise InputError(f"lam_star must be a positive number, got {lam_star}")
        if evals is None:
            evals = [symmetric_eigenvalues(K) for K in (K0, K1)]
        e0, e1 = (np.asarray(e, np.float64) for e in evals)
        # round-off null modes (rank-deficient K₀: few parameters, repeated inputs) are noise
        below = (e0 < lam_star) & (e0 > rcond * max(e0[-1], 0.0))
        if below.any():
            slow = float(np.median(e1[below] / e0[below]))
    return Drift(frob, slow, *rates)


def residual_split(residual, reference) -> tuple[float, float]:
    r"""``residual`` against ``reference`` (real vectors of one length): the coefficient
    :math:`a = \langle r, s\rangle/\|s\|^2` along it and the orthogonal remainder
    :math:`b = \|r - a s\|/\|s\|`, so that :math:`\|r\|^2/\|s\|^2 = a^2 + b^2`."""
    r, s = np.asarray(residual, np.float64), np.asarray(reference, np.float64)
    if r.shape != s.shape or r.ndim != 1:
        raise InputError(f"residuals of shapes {r.shape} and {s.shape}: give two vectors of one length")
    check_finite("residual", r)
    check_finite("reference residual", s)
    ss = float(s @ s)
    if ss == 0.0:
        raise InputError("the reference residual is zero")
    a = float(r @ s) / ss
    return a, float(np.linalg.norm(r - a * s) / np.sqrt(ss))
