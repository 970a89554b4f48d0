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
    if K.ndim != 4 or K.shape[:2] != (2, 2) or K.shape[2] != K.shape[3]:
        raise InputError(f"kernel blocks must have shape (2, 2, n, n), got {K.shape}")
    check_finite("kernel", K)
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
