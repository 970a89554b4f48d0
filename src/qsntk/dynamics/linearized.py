r"""The analytic solution of quantum-state supervised learning (eqs. 13–18 of Luo–Halverson).

**Conventions.** The loss is :math:`L = \frac{1}{|B|}\sum_{x\in B}|\psi(x) - \psi_T(x)|^2`
and gradient descent is :math:`\theta_{t+1} = \theta_t - \eta\,\nabla_\theta L`; the
time is :math:`\tau = \eta\, t`. For a linearized model with real parameters the
residual :math:`r = (\mathrm{Re}, \mathrm{Im})(\psi - \psi_T)` on the train set obeys

.. math::  r_{t+1} = \Big(1 - \frac{2\eta}{|B|}\,\Omega_{RI}\Big)\, r_t
           \quad\xrightarrow{\eta\to 0}\quad
           \frac{dr}{d\tau} = -\frac{2}{|B|}\,\Omega_{RI}\, r ,

which is eq. 13, :math:`\frac{d\Psi}{d\tau} = -\frac{1}{|B|}\Omega M(\Psi - \Psi_T)`, written in
the real basis (:math:`\Omega M = T\Omega_{RI}T^\dagger` has eigenvalues :math:`2\lambda(\Omega_{RI})`).
Gradient descent is stable for :math:`\eta < \eta_{\max} = |B|/\lambda_{\max}(\Omega_{RI})`.

**Solution** (eqs. 14–15). With :math:`\Omega_{RI,BB} = V\Lambda V^T` and the per-mode
decay :math:`d_k = e^{-2\lambda_k\tau/|B|}` (continuous time) or
:math:`d_k = (1 - 2\eta\lambda_k/|B|)^t` (discrete steps, exact for GD of the
linearized model), :math:`g_k = (1 - d_k)/\lambda_k`:

.. math::  \mu_x(\tau) = K_{xB} V\, \mathrm{diag}(g)\, V^T y_B, \qquad
           \gamma_x(\tau) = f_0(x) - K_{xB} V\, \mathrm{diag}(g)\, V^T f_0(B),

and on the train set :math:`\mu_B - y_B = -V\,\mathrm{diag}(d)\,V^T y_B`,
:math:`\gamma_B = V\,\mathrm{diag}(d)\,V^T f_0(B)` (no inverse needed).

**Losses** (eqs. 16–18): :math:`L_\mu = \frac{1}{|S|}\|\mu - y\|^2` and, for initial
functions drawn from the NNGP :math:`f_0 \sim \mathcal N(0, \mathcal K)`,
:math:`L_\gamma = \frac{1}{|S|}\mathbb E\|\gamma\|^2` in closed form:

.. math::  \mathbb E\|\gamma_x\|^2 = \mathrm{tr}\,\mathcal K_{xx} - 2\sum_k g_k r_k + g^T M g,\quad
           r_k = (P^T\!\odot Q)_{k\cdot}\mathbf 1,\ M = (P^TP)\odot(V^T\mathcal K_{BB}V),

with :math:`P = K_{xB}V`, :math:`Q = V^T\mathcal K_{Bx}`; on the train set
:math:`\mathbb E\|\gamma_B\|^2 = \sum_k d_k^2 (V^T\mathcal K_{BB}V)_{kk}`.
:math:`L_\Psi \simeq L_\mu + L_\gamma` (eq. 18) for a large ensemble.

**Null modes.** Modes with :math:`\lambda_k \le` ``rcond`` :math:`\cdot\lambda_{\max}` are
the kernel's null space (to round-off): they do not move at any time, on the train set
(:math:`d_k = 1`) nor in test predictions (:math:`g_k = 0`) — the pseudo-inverse
convention. For a positive semi-definite kernel their test coupling vanishes too, and keeping
them would only add round-off. At :math:`\tau = \infty` the learnable modes are fitted
(:math:`d_k = 0`, :math:`g_k = 1/\lambda_k`), so the train loss at :math:`\tau=\infty` is
zero only for a positive-definite kernel; a singular one (repeated inputs, an empirical kernel
with fewer parameters than train points) keeps the residual of its null space.

A complex target with a decoupled kernel (independent real and imaginary
networks, :math:`\Omega_{RI} = \mathrm{diag}(\Theta_1, \Theta_2)`) splits into two real
*channels*; a general kernel is one channel of size :math:`2|B|`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.linalg

from qsntk.errors import InputError, check_finite, check_positive


class Channel(NamedTuple):
    """One real linear-regression problem under gradient flow.

    Attributes:
        evals: kernel eigenvalues on the train set, ``(N,)``.
        evecs: eigenvectors ``V``, ``(N, N)``.
        a: ``V^T y_B``, ``(N,)``.
        P: ``K_xB V``, ``(M, N)`` (test–train kernel in the eigenbasis).
        y_test: test targets, ``(M,)``.
        keep: modes used in test predictions, boolean ``(N,)``.
        W_diag: ``diag(V^T 𝒦_BB V)`` or None (NNGP not given).
        r: see module docstring, ``(N,)`` or None.
        M: see module docstring, ``(N, N)`` or None.
        tr_test: ``tr 𝒦_xx`` or None.
    """

    evals: np.ndarray
    evecs: np.ndarray
    a: np.ndarray
    P: np.ndarray
    y_test: np.ndarray
    keep: np.ndarray
    W_diag: np.ndarray | None
    r: np.ndarray | None
    M: np.ndarray | None
    tr_test: float | None


class Eigh(NamedTuple):
    evals: np.ndarray
    evecs: np.ndarray


def eigh(K: np.ndarray) -> Eigh:
    """Eigendecomposition of a real symmetric train kernel, float64 (LAPACK syevd)."""
    K = np.asarray(K, dtype=np.float64)
    check_finite("kernel", K)
    w, v = scipy.linalg.eigh(0.5 * (K + K.T), driver="evd", overwrite_a=True, check_finite=False)
    return Eigh(w, v)


def make_channel(K_train, K_test_train, y_train, y_test, *, nngp_train=None,
                 nngp_test_train=None, nngp_test_diag=None, rcond: float = 1e-12,
                 eig: Eigh | None = None) -> Channel:
    """Precompute everything one channel's losses need, at any set of times.

    Arguments:
        K_train: NTK on the train set, ``(N, N)``.
        K_test_train: NTK between test and train, ``(M, N)``.
        y_train, y_test: real targets, ``(N,)`` and ``(M,)``.
        nngp_train, nngp_test_train, nngp_test_diag: NNGP blocks ``(N, N)``,
            ``(M, N)``, ``(M,)`` for the closed-form variance term (all or none).
        rcond: relative eigenvalue cutoff for test predictions.
        eig: a precomputed :func:`eigh` of ``K_train`` (reused across channels).
    """
    y_train = np.asarray(y_train, np.float64)
    y_test = np.asarray(y_test, np.float64)
    check_finite("y_train", y_train)
    check_finite("y_test", y_test)
    e = eig if eig is not None else eigh(K_train)
    V = e.evecs
    K_test_train = np.asarray(K_test_train, np.float64)
    check_finite("test-train kernel", K_test_train)
    P = K_test_train @ V
    keep = e.evals > rcond * max(e.evals[-1], 0.0)
    W_diag = r = M = tr = None
    have = [v is not None for v in (nngp_train, nngp_test_train, nngp_test_diag)]
    if any(have) and not all(have):
        raise InputError("give all three NNGP blocks (train, test-train, test diagonal) or none")
    if all(have):
        for name, blk in zip(("NNGP train block", "NNGP test-train block", "NNGP test diagonal"),
                             (nngp_train, nngp_test_train, nngp_test_diag)):
            check_finite(name, np.asarray(blk, np.float64))
        W = V.T @ np.asarray(nngp_train, np.float64) @ V
        Q = V.T @ np.asarray(nngp_test_train, np.float64).T
        W_diag = np.diag(W).copy()
        r = np.einsum("ik,ki->k", P, Q)
        M = (P.T @ P) * W
        tr = float(np.sum(nngp_test_diag))
    return Channel(e.evals, V, V.T @ y_train, P, y_test, keep, W_diag, r, M, tr)


def decay(evals: np.ndarray, n_train: int, taus, *, eta: float | None = None) -> np.ndarray:
    """Per-mode decay factors ``d_k(τ)``, shape ``(T, N)``.

    Continuous time (``eta=None``): ``exp(−2 λ τ / n)``; discrete GD
    (``eta`` given, ``τ = η t``): ``(1 − 2 η λ / n)^t``. Eigenvalues below 0
    (round-off) count as 0. At ``τ = inf``, the limit: 0 for a decaying mode, 1 for
    λ = 0, and for discrete GD at an unstable rate ``inf`` (``|1 − 2ηλ/n| > 1``) or
    ``nan`` (``= 1``: the mode oscillates for ever).
    """
    taus = np.asarray(taus, np.float64).reshape(-1, 1)
    lam = np.maximum(evals, 0.0)[None, :]
    inf = np.isinf(taus)
    if eta is None:
        out = np.exp(-2.0 * lam * np.where(inf, 0.0, taus) / n_train)
        return np.where(inf, np.where(lam > 0, 0.0, 1.0), out)
    base = 1.0 - 2.0 * eta * lam / n_train
    steps = np.where(inf, 0.0, taus / eta)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        mag = np.exp(steps * np.log(np.abs(base)))
        sign = np.where((base < 0) & (np.round(steps) % 2 == 1), -1.0, 1.0)
        out = np.where(base == 0, (steps == 0).astype(float), sign * mag)
    at_inf = np.select([np.abs(base) < 1, base == 1, np.abs(base) > 1], [0.0, 1.0, np.inf], np.nan)
    return np.where(inf, at_inf, out)


def _d_g(ch: Channel, n_train: int, taus, eta) -> tuple[np.ndarray, np.ndarray]:
    """Train decay ``d`` and test gain ``g = (1 − d)/λ``, null modes frozen (d = 1, g = 0)."""
    d = np.where(ch.keep[None, :], decay(ch.evals, n_train, taus, eta=eta), 1.0)
    safe = np.where(ch.keep, ch.evals, 1.0)[None, :]
    return d, np.where(ch.keep[None, :], (1.0 - d) / safe, 0.0)


def channel_losses(ch: Channel, n_train: int, n_test: int, taus, *, eta: float | None = None) -> dict:
    """Sums of squares (not yet divided by the point counts) of one channel at times ``taus``.

    Returns a dict with ``train_mu``, ``test_mu`` and, when the NNGP was given,
    ``train_gamma``, ``test_gamma``; each of shape ``(T,)``.
    """
    d, g = _d_g(ch, n_train, taus, eta)
    out = {"train_mu": (d**2) @ (ch.a**2)}
    mu_test = (g * ch.a[None, :]) @ ch.P.T
    out["test_mu"] = np.sum((mu_test - ch.y_test[None, :]) ** 2, axis=1)
    if ch.M is not None:
        out["train_gamma"] = (d**2) @ ch.W_diag
        out["test_gamma"] = ch.tr_test - 2.0 * g @ ch.r + np.sum((g @ ch.M) * g, axis=1)
    return out


def predict_channel(ch: Channel, n_train: int, taus, f0_train=None, f0_test=None,
                    *, eta: float | None = None) -> dict:
    """μ (and γ for given initial outputs) on train and test at times ``taus``.

    Arguments:
        f0_train, f0_test: initial outputs ``(N, E)`` and ``(M, E)`` of ``E``
            explicit networks (optional).

    Returns:
        dict with ``mu_train`` ``(T, N)``, ``mu_test`` ``(T, M)`` and, with
        initial outputs, ``gamma_train`` ``(T, N, E)``, ``gamma_test`` ``(T, M, E)``.
    """
    d, g = _d_g(ch, n_train, taus, eta)
    V = ch.evecs
    y_train = V @ ch.a
    out = {"mu_train": y_train[None, :] - (d * ch.a[None, :]) @ V.T,
           "mu_test": (g * ch.a[None, :]) @ ch.P.T}
    if f0_train is not None:
        b = V.T @ np.asarray(f0_train, np.float64)  # (N, E)
        out["gamma_train"] = np.einsum("nk,tk,ke->tne", V, d, b)
        out["gamma_test"] = np.asarray(f0_test, np.float64)[None] - np.einsum("mk,tk,ke->tme", ch.P, g, b)
    return out


def eta_max(evals_max: float, n_train: int) -> float:
    """Largest stable GD learning rate, ``|B| / λ_max(Ω_RI)`` (for this loss)."""
    check_positive("largest kernel eigenvalue", float(evals_max))
    return n_train / float(evals_max)
