r"""Closed forms of Liu et al. (PRL 130, 150601) and their exact finite-D versions.

Notation: :math:`D = 2^n`, :math:`t_k = \mathrm{Tr}\,O^k`,
:math:`v(O) = D\,\mathrm{Tr}\,O^2 - (\mathrm{Tr}\,O)^2`, ``L`` layers with Haar
``W`` and uniformly random non-identity Pauli generators (eq. 20). For that
ensemble :math:`P_\ell = W_1U_1\cdots W_\ell U_\ell` are i.i.d. Haar, so with
:math:`\rho = U|\psi_0\rangle\langle\psi_0|U^\dagger` and
:math:`Y_\ell = P_\ell X_\ell P_\ell^\dagger`, :math:`\partial_\ell\varepsilon = -i\,\mathrm{Tr}(\rho[Y_\ell, O])`
(eq. 8), where :math:`Y_1,\dots,Y_{L-1}` are independent Haar rotations of a
Pauli string, independent of the Haar-random state :math:`\rho`, and only the
last layer is tied to :math:`\rho`. The derivations are in ``docs/qntk.md``.

``*_paper`` functions are the formulas as printed; the others are exact at finite D.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from qsntk.circuits import weingarten as wg
from qsntk.errors import InputError, check_int_at_least, check_positive

__all__ = ["Traces", "observable_traces", "kbar_paper", "gamma_paper", "delta_k_paper",
           "delta_mu_paper", "kbar_supervised_paper", "lowest_eigenvalue_paper", "kbar_exact",
           "kernel_mean_exact", "lowest_eigenvalue_exact", "QNTKMoments", "qntk_moments_exact",
           "mu_mean_pairs",
           "decay_rate", "mean_decay_gamma", "state_variance_moments"]


class Traces(NamedTuple):
    """Traces of an observable: ``D`` and :math:`t_k = \\mathrm{Tr}\\,O^k`, k = 1..4."""

    D: int
    t1: float
    t2: float
    t3: float
    t4: float

    @property
    def v(self) -> float:
        """:math:`v(O) = D\\,\\mathrm{Tr}\\,O^2 - (\\mathrm{Tr}\\,O)^2`."""
        return self.D * self.t2 - self.t1 ** 2


def observable_traces(O) -> Traces:
    """:class:`Traces` of a dense Hermitian ``(D, D)`` observable."""
    O = np.asarray(O)
    if O.ndim != 2 or O.shape[0] != O.shape[1]:
        raise InputError(f"observable must be a square matrix, got shape {O.shape}")
    P, ts = np.eye(O.shape[0]), []
    for _ in range(4):
        P = P @ O
        ts.append(float(np.real(np.trace(P))))
    return Traces(O.shape[0], *ts)


# ---------------------------------------------------------------- as printed
def kbar_paper(L, tr_O2, D):
    """Eq. 9 of Liu et al.: :math:`\\bar K \\approx L\\,\\mathrm{Tr}(O^2)/D^2` (a factor 2 too small, see :func:`kbar_exact`)."""
    return np.asarray(L) * tr_O2 / D ** 2


def gamma_paper(eta, L, tr_O2, D):
    """Eq. 11 of Liu et al.: :math:`\\gamma = \\eta L\\,\\mathrm{Tr}(O^2)/D^2`."""
    return eta * kbar_paper(L, tr_O2, D)


def delta_k_paper(L, tr_O2, tr_O4, D):
    """Eq. 12 of Liu et al.: :math:`\\Delta K \\approx \\sqrt{L}\\sqrt{8\\,\\mathrm{Tr}^2(O^2) + 12\\,\\mathrm{Tr}(O^4)}/D^2`."""
    return np.sqrt(np.asarray(L, dtype=float)) * np.sqrt(8 * tr_O2 ** 2 + 12 * tr_O4) / D ** 2


def delta_mu_paper(L, tr_O2, D, eta=1.0):
    """Eq. 15 of Liu et al.: :math:`\\Delta\\mu \\approx \\sqrt{32}\\,\\eta L\\,\\mathrm{Tr}^{3/2}(O^2)/D^3`.

    ``eta=1`` gives the standard deviation of μ of eq. 14 (which has no η)."""
    return np.sqrt(32.0) * eta * np.asarray(L) * tr_O2 ** 1.5 / D ** 3


def kbar_supervised_paper(L, tr_OiOj, sigma, D):
    """Eq. 17 of Liu et al.: :math:`\\bar K_{\\delta_1\\delta_2} \\approx 2L\\,\\mathrm{Tr}(O_{i_1}O_{i_2})\\sigma_{\\delta_1\\delta_2}/D^2`."""
    return 2.0 * L * tr_OiOj * np.asarray(sigma) / D ** 2


def lowest_eigenvalue_paper(L, n_data, tr_O, tr_O2, D):
    """Eq. 21 of Liu et al.: :math:`2L(D-|A|)(D\\,\\mathrm{Tr}O^2 - \\mathrm{Tr}^2O)/(D^2-1)^2`."""
    return 2.0 * L * (D - np.asarray(n_data)) * (D * tr_O2 - tr_O ** 2) / (D ** 2 - 1) ** 2


# ---------------------------------------------------------------- exact means
def kbar_exact(L, D, tr_O, tr_O2, *, last_overlap=None):
    """Exact Haar-ensemble mean of the QNTK at finite D.

    .. math:: \\bar K = \\frac{2 v(O)}{D^2-1}\\Big[\\frac{L-1}{D+1} + \\frac{1 - x_L^2}{D}\\Big]
       \\;\\xrightarrow{\\ \\mathbb E_{X_L}\\ }\\; \\frac{2L\\,(D\\,\\mathrm{Tr}O^2 - \\mathrm{Tr}^2 O)}{(D^2-1)(D+1)}

    Arguments:
        L: number of layers; D: Hilbert-space dimension; tr_O, tr_O2: traces of O.
        last_overlap: :math:`x_L = \\langle\\psi_0|X_L|\\psi_0\\rangle` of the last
            (first-applied) generator, whose :math:`U_{+,L} = 1` is not Haar; ``None``
            averages over a uniformly random non-identity Pauli (:math:`\\mathbb E[1-x_L^2] = D/(D+1)`).
    """
    v = D * tr_O2 - tr_O ** 2
    L = np.asarray(L, dtype=float)
    w = D / (D + 1.0) if last_overlap is None else 1.0 - np.asarray(last_overlap) ** 2
    return 2.0 * v / (D ** 2 - 1.0) * ((L - 1.0) / (D + 1.0) + w / D)


def kernel_mean_exact(L, D, tr_O, tr_O2, sigma):
    """Exact ensemble-mean supervised QNTK, :math:`\\bar K_{\\delta_1\\delta_2} = 2L(D\\sigma_{\\delta_1\\delta_2} - 1)\\,v(O)/(D^2-1)^2`.

    ``sigma`` is the ``(N, N)`` matrix :math:`|\\langle\\Psi_{\\delta_1}|\\Psi_{\\delta_2}\\rangle|^2`
    (eq. 19); the last generator is averaged over random Pauli strings.
    Its leading order in 1/D is eq. 17; for orthonormal inputs its lowest
    eigenvalue is eq. 21 (:func:`lowest_eigenvalue_exact`).
    """
    v = D * tr_O2 - tr_O ** 2
    return 2.0 * L * (D * np.asarray(sigma) - 1.0) * v / (D ** 2 - 1.0) ** 2


def lowest_eigenvalue_exact(L, D, tr_O, tr_O2, sigma):
    """Lowest eigenvalue of :func:`kernel_mean_exact` (equals eq. 21 for orthonormal inputs)."""
    return float(np.linalg.eigvalsh(kernel_mean_exact(L, D, tr_O, tr_O2, sigma))[0])


# ---------------------------------------------------------------- exact variance
def state_variance_moments(O) -> tuple[float, float]:
    """:math:`(\\mathbb E\\,V, \\mathbb E\\,V^2)` of :math:`V = \\langle O^2\\rangle_\\psi - \\langle O\\rangle_\\psi^2` for Haar ψ."""
    O = np.asarray(O)
    O2 = O @ O
    m = wg.haar_state_moment
    ev = m([O2]) - m([O, O])
    ev2 = m([O2, O2]) - 2 * m([O2, O, O]) + m([O, O, O, O])
    return float(np.real(ev)), float(np.real(ev2))


class QNTKMoments(NamedTuple):
    """Exact ensemble moments of K: ``mean``, ``var``, ``std`` and the per-layer constants."""

    mean: float
    var: float
    std: float
    parts: dict


def qntk_moments_exact(O, L, *, last_overlap=None) -> QNTKMoments:
    """Exact mean and variance of the QNTK over the Haar ensemble of eq. 20 (4th moments).

    With :math:`V = \\mathrm{Var}_\\rho(O)` of the Haar-random output state,
    interior layers give :math:`\\mathbb E[g_\\ell^2|\\rho] = c_2 V`,
    :math:`\\mathbb E[g_\\ell^4|\\rho] = c_4 V^2` (Weingarten, 2nd and 4th moments of
    :math:`Y_\\ell`); the last layer is computed with 4th moments of :math:`U`. Then

    .. math:: \\mathbb E K^2 = (L-1) c_4\\,\\mathbb E V^2 + (L-1)(L-2)\\,c_2^2\\,\\mathbb E V^2
              + 2(L-1)\\,c_2\\,\\mathbb E[g_L^2 V] + \\mathbb E g_L^4 .

    The :math:`L^2` term makes :math:`\\Delta K/\\bar K \\to \\sqrt{\\mathrm{Var}\\,V}/\\mathbb E V`
    as :math:`L \\to \\infty` at fixed D, which eq. 12 of Liu et al. omits.

    Arguments:
        O: ``(D, D)`` Hermitian observable; L: number of layers (>= 1).
        last_overlap: :math:`x_L` as in :func:`kbar_exact`; ``None`` averages over a
            random last Pauli for an input with :math:`x_L \\in \\{0, \\pm 1\\}` (e.g. a
            computational basis state), where :math:`\\mathbb E(1-x_L^2)^2 = \\mathbb E(1-x_L^2) = D/(D+1)`.

    Returns:
        :class:`QNTKMoments`.
    """
    O = np.asarray(O, dtype=complex)
    D = O.shape[0]
    L = check_int_at_least("L", L, 1)
    if D < 2:
        raise InputError(f"observable dimension must be >= 2, got {D}")
    X = np.diag(np.r_[np.ones(D // 2), -np.ones(D - D // 2)]).astype(complex)   # any non-identity Pauli
    R1 = np.zeros((D, D), complex)
    R1[0, 0], R1[1, 1] = 1.0, -1.0                                              # spectrum of -i[O, rho]/sqrt(V)
    c2 = float(np.real(wg.haar_expect(X, [R1, R1])))
    c4 = float(np.real(wg.haar_expect(X, [R1] * 4)))
    EV, EV2 = state_variance_moments(O)
    Pi = np.zeros((D, D), complex)
    Pi[0, 0] = 1.0
    Rl = np.zeros((D, D), complex)
    Rl[0, 1], Rl[1, 0] = -1j, 1j                                                # -i[Pi, X_L] for x_L = 0
    I = np.eye(D, dtype=complex)
    eg2 = float(np.real(wg.haar_expect(O, [Rl, Rl])))
    eg4 = float(np.real(wg.haar_expect(O, [Rl] * 4)))
    eg2V = float(np.real(wg.haar_expect(O, [Rl, Rl, Pi, I], pi=(0, 1, 3, 2))
                         - wg.haar_expect(O, [Rl, Rl, Pi, Pi])))
    if last_overlap is None:          # x_L in {0, +-1}: stabilizer input, random Pauli X_L
        w1 = w2 = D / (D + 1.0)
    else:
        w1 = 1.0 - float(last_overlap) ** 2
        w2 = w1 ** 2
    n = L - 1
    mean = n * c2 * EV + w1 * eg2
    second = n * c4 * EV2 + n * (n - 1) * c2 ** 2 * EV2 + 2 * n * c2 * w1 * eg2V + w2 * eg4
    var = max(second - mean ** 2, 0.0)
    parts = dict(c2=c2, c4=c4, EV=EV, EV2=EV2, Eg2_last=eg2, Eg4_last=eg4, Eg2V_last=eg2V,
                 weight_last=w1, floor=float(np.sqrt(max(EV2 - EV ** 2, 0.0)) / EV) if EV > 0 else np.nan)
    return QNTKMoments(mean, var, float(np.sqrt(var)), parts)


def mu_mean_pairs(O, L):
    """Interior-pair part of :math:`\\mathbb E\\mu` (eq. 14), exact: :math:`2(L-1)(L-2)\\,b^2\\,\\mathbb E_\\rho\\kappa_3(\\rho)`.

    For layers :math:`a < b < L`, :math:`H_{ab} = -\\mathrm{Tr}(\\rho[Y_b,[Y_a,O]])` and two
    second-moment twirls give :math:`\\mathbb E[H_{ab}g_ag_b|\\rho] = 2b^2\\kappa_3(\\rho)` with
    :math:`b = D/(D^2-1)` and :math:`\\kappa_3 = \\langle O^3\\rangle - 3\\langle O\\rangle\\langle O^2\\rangle + 2\\langle O\\rangle^3`
    the third cumulant of O in the output state. This :math:`O(L^2)` term dominates
    :math:`\\mathbb E\\mu` at large L (the remaining diagonal and last-layer terms are
    :math:`O(L)`); it vanishes when :math:`\\mathbb E\\kappa_3 = 0` (e.g. :math:`\\mathrm{Tr}O = \\mathrm{Tr}O^3 = 0`),
    the case in which Liu et al. state :math:`\\mathbb E\\mu = 0`. Leading order:
    :math:`2L^2\\,\\mathrm{Tr}(O^3)/D^3` for traceless O. An :math:`\\mathbb E\\kappa_3` below :math:`64 D\\epsilon\\,\\|O\\|^3`
    (:math:`\\epsilon` the double-precision epsilon) counts as zero (round-off, which the :math:`L^2`
    would otherwise amplify).
    """
    O = np.asarray(O, dtype=complex)
    D = O.shape[0]
    L = check_int_at_least("L", L, 1)
    O2 = O @ O
    m = wg.haar_state_moment
    parts = (m([O2 @ O]), -3 * m([O, O2]), 2 * m([O, O, O]))
    k3 = float(np.real(sum(parts)))
    # E kappa_3 is a difference of Haar moments; where it cancels to within their round-off
    # it is zero (else the L^2 below turns 1e-16 into e.g. 505 at L = 1e9)
    scale = np.linalg.norm(O, 2) ** 3 + sum(abs(x) for x in parts)
    if abs(k3) <= 64 * D * np.finfo(float).eps * scale:
        k3 = 0.0
    b = D / (D ** 2 - 1.0)
    return 2.0 * (L - 1) * (L - 2) * b * b * k3


# ---------------------------------------------------------------- dynamics
def decay_rate(eta, K):
    """Per-step rate of a frozen kernel, :math:`-\\log(1 - \\eta K)` (eq. 7); :math:`\\approx \\eta K` (eq. 11)."""
    check_positive("eta", eta)
    return -np.log1p(-eta * np.asarray(K))


def mean_decay_gamma(t, eta, kbar, dk):
    """:math:`\\mathbb E[e^{-\\eta K t}]` for K Gamma-distributed with mean ``kbar`` and std ``dk``.

    :math:`(1 + \\eta t\\,\\Delta K^2/\\bar K)^{-\\bar K^2/\\Delta K^2}`: the average of frozen-kernel
    exponentials over a fluctuating QNTK; tends to :math:`e^{-\\eta\\bar K t}` as ``dk -> 0``.
    """
    t = np.asarray(t, dtype=float)
    if dk <= 0:
        return np.exp(-eta * kbar * t)
    shape, scale = kbar ** 2 / dk ** 2, dk ** 2 / kbar
    return np.exp(-shape * np.log1p(eta * t * scale))
