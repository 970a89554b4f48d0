r"""Quantum-state supervised learning: the analytic losses of an ∞-NNQS (eqs. 13–18).

:func:`analytic_losses` takes the real blocks of the NTK (and optionally of the
NNGP) on all points, a complex target and a train/test split, and returns
:math:`L_\mu`, :math:`L_\gamma` and :math:`L_\Psi = L_\mu + L_\gamma` on both sets at
any times (τ = ∞ included). Losses are per point,
:math:`\frac{1}{|S|}\sum_{x\in S}|\cdot|^2`, as the training loss.

If the kernel is decoupled (:math:`K_{12} = K_{21} = 0` in both NTK and NNGP,
as for independent real and imaginary networks) the real and imaginary parts
are two independent channels, and identical blocks share one
eigendecomposition; otherwise one channel of size :math:`2|B|` uses the full
:math:`\Omega_{RI}` (see :mod:`qsntk.dynamics.linearized`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from qsntk.dynamics import linearized as lin
from qsntk.errors import InputError, check_finite


class Split(NamedTuple):
    """Train and test indices into the full basis."""

    train: np.ndarray
    test: np.ndarray


def random_split(n_states: int, n_train: int, *, seed: int) -> Split:
    """Draw ``n_train`` basis states uniformly without replacement (the paper's split).

    The rest is the test set. Both index arrays are sorted.
    """
    if not 1 <= n_train <= n_states:
        raise InputError(f"train size must be in [1, {n_states}], got {n_train}")
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n_states)
    return Split(np.sort(perm[:n_train]), np.sort(perm[n_train:]))


def is_decoupled(K) -> bool:
    """Whether the off-diagonal real blocks vanish."""
    return not (np.any(np.asarray(K[0, 1])) or np.any(np.asarray(K[1, 0])))


def _sub(A, rows, cols):
    return np.asarray(A)[np.ix_(rows, cols)]


class Analytic(NamedTuple):
    """Precomputed channels of one supervised-learning problem."""

    channels: tuple
    n_train: int
    n_test: int
    lam_max: float
    has_nngp: bool

    @property
    def eta_max(self) -> float:
        """Largest stable GD learning rate, ``|B| / λ_max(Ω_RI)``."""
        return lin.eta_max(self.lam_max, self.n_train)


def prepare(ntk, psi_target, split: Split, *, nngp=None, rcond: float = 1e-12) -> Analytic:
    """Eigendecompose the train kernel and precompute the loss terms.

    Arguments:
        ntk: NTK real blocks on all points, ``(2, 2, n, n)``.
        psi_target: complex target on all points, ``(n,)``.
        split: train/test indices.
        nngp: NNGP real blocks ``(2, 2, n, n)`` for the closed-form L_γ (optional).
        rcond: relative eigenvalue cutoff for test predictions.
    """
    ntk = np.asarray(ntk)
    psi = np.asarray(psi_target)
    n = psi.shape[0]
    if ntk.shape != (2, 2, n, n):
        raise InputError(f"NTK blocks must have shape (2, 2, {n}, {n}), got {ntk.shape}")
    if nngp is not None and np.shape(nngp) != (2, 2, n, n):
        raise InputError(f"NNGP blocks must have shape (2, 2, {n}, {n}), got {np.shape(nngp)}")
    check_finite("target", psi)
    tr, te = split
    y = np.stack([psi.real, psi.imag])
    decoupled = is_decoupled(ntk) and (nngp is None or is_decoupled(nngp))
    if decoupled:
        channels, cache = [], {}
        for a in (0, 1):
            Kbb = _sub(ntk[a, a], tr, tr)
            key = (a == 1 and np.array_equal(Kbb, cache.get("K0"))
                   and (nngp is None or np.array_equal(nngp[1, 1], nngp[0, 0])))
            if key:  # same kernel and NNGP: reuse the whole geometry, only the targets differ
                ch0 = channels[0]
                channels.append(ch0._replace(a=ch0.evecs.T @ y[a, tr], y_test=y[a, te].copy()))
                continue
            eig = lin.eigh(Kbb)
            if a == 0:
                cache.update(K0=Kbb, eig=eig)
            extra = {}
            if nngp is not None:
                N = nngp[a, a]
                extra = dict(nngp_train=_sub(N, tr, tr), nngp_test_train=_sub(N, te, tr),
                             nngp_test_diag=np.asarray(N)[te, te])
            channels.append(lin.make_channel(Kbb, _sub(ntk[a, a], te, tr), y[a, tr], y[a, te],
                                             rcond=rcond, eig=eig, **extra))
    else:
        def joint(B, rows, cols):
            return np.block([[_sub(B[a, b], rows, cols) for b in (0, 1)] for a in (0, 1)])

        extra = {}
        if nngp is not None:
            diag = np.concatenate([np.asarray(nngp[a, a])[te, te] for a in (0, 1)])
            extra = dict(nngp_train=joint(nngp, tr, tr), nngp_test_train=joint(nngp, te, tr),
                         nngp_test_diag=diag)
        channels = [lin.make_channel(joint(ntk, tr, tr), joint(ntk, te, tr),
                                     np.concatenate([y[0, tr], y[1, tr]]),
                                     np.concatenate([y[0, te], y[1, te]]), rcond=rcond, **extra)]
    lam_max = max(float(c.evals[-1]) for c in channels)
    return Analytic(tuple(channels), len(tr), len(te), lam_max, nngp is not None)


def analytic_losses(problem: Analytic, taus, *, eta: float | None = None) -> dict:
    """Per-point losses at times ``taus`` (eqs. 16–18).

    Arguments:
        problem: from :func:`prepare`.
        taus: times τ = η t (``np.inf`` allowed), ``(T,)``.
        eta: learning rate for the exact discrete-GD solution; ``None``: gradient flow.

    Returns:
        dict of ``(T,)`` arrays ``{train,test}_{mu,gamma,psi}`` (γ and Ψ only with the NNGP).
    """
    total: dict = {}
    for ch in problem.channels:
        for k, v in lin.channel_losses(ch, problem.n_train, problem.n_test, taus, eta=eta).items():
            total[k] = total.get(k, 0.0) + v
    out = {}
    for s, n in (("train", problem.n_train), ("test", problem.n_test)):
        out[f"{s}_mu"] = total[f"{s}_mu"] / n
        if problem.has_nngp:
            out[f"{s}_gamma"] = total[f"{s}_gamma"] / n
            out[f"{s}_psi"] = out[f"{s}_mu"] + out[f"{s}_gamma"]
    return out


def ensemble_losses(problem: Analytic, taus, f0, split: Split, psi_target, *,
                    eta: float | None = None) -> dict:
    """Losses of explicit linearized networks ``Ψ_l = μ + γ`` (eq. 17) from their initial outputs.

    Arguments:
        f0: initial complex outputs of ``E`` networks on all points, ``(n, E)``.

    Returns:
        dict of ``(T, E)`` arrays ``train`` and ``test`` (per-member per-point losses).
    """
    f0 = check_finite("initial outputs f0", np.asarray(f0))
    psi = np.asarray(psi_target)
    tr, te = split
    parts = [f0.real, f0.imag]
    targets = [psi.real, psi.imag]
    sums = {"train": 0.0, "test": 0.0}
    if len(problem.channels) == 2:
        for a, ch in enumerate(problem.channels):
            p = lin.predict_channel(ch, problem.n_train, taus, parts[a][tr], parts[a][te], eta=eta)
            for s, idx in (("train", tr), ("test", te)):
                pred = p[f"mu_{s}"][..., None] + p[f"gamma_{s}"]
                sums[s] = sums[s] + np.sum((pred - targets[a][idx][None, :, None]) ** 2, axis=1)
    else:
        ch = problem.channels[0]
        p = lin.predict_channel(ch, problem.n_train, taus, np.concatenate([parts[0][tr], parts[1][tr]]),
                                np.concatenate([parts[0][te], parts[1][te]]), eta=eta)
        for s, idx in (("train", tr), ("test", te)):
            y = np.concatenate([targets[0][idx], targets[1][idx]])
            pred = p[f"mu_{s}"][..., None] + p[f"gamma_{s}"]
            sums[s] = np.sum((pred - y[None, :, None]) ** 2, axis=1)
    return {"train": sums["train"] / problem.n_train, "test": sums["test"] / problem.n_test}
