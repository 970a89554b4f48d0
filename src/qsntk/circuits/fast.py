r"""Fast real-arithmetic kernels for circuits whose generators have two eigenvalues.

Every Pauli string (spectrum ±1), and every Pauli rotation of PennyLane or
Qiskit (±1/2), has a two-level spectrum :math:`s = m + h\sigma`, :math:`\sigma = \pm 1`.
Then :math:`e^{i\theta S} = e^{i\theta m}(\cos h\theta + i \sin h\theta\,\Sigma)`;
the global phase :math:`e^{i\theta m}` drops out of every expectation value and
derivative, and each layer of the compiled circuit folds into two fixed matrices,

.. math:: G_{\ell-1} e^{i\theta_\ell S_\ell} \simeq \cos(h_\ell\theta_\ell)\,G_{\ell-1}
          + \sin(h_\ell\theta_\ell)\,G_{\ell-1} i\Sigma_\ell ,

so one layer is one real matrix product ``psi @ [A | B]`` plus a fused
elementwise combination. States are real ``(2D,)`` vectors ``[Re ψ, Im ψ]``
and a complex matrix ``M`` acts as ``psi @ R(M)`` with
``R(M) = [[Re M^T, Im M^T], [-Im M^T, Re M^T]]``; then
:math:`\mathrm{Re}\langle a|b\rangle` is the real dot product and
:math:`R(M^\dagger) = R(M)^T`.

Gradient (adjoint method, eq. 8 of Liu et al.): with :math:`Z_\ell = G_{\ell-1}i\Sigma_\ell\chi_\ell`
stored in the forward sweep and :math:`\tilde\lambda_\ell` the backward adjoint,
:math:`\partial_\ell\varepsilon = 2h_\ell\,\mathrm{Re}\langle\tilde\lambda_\ell|Z_\ell\rangle`.
dQNTK (eq. 14): :math:`\mu = \frac{d^2}{ds^2}\varepsilon(\theta + s g)|_0`, propagating the
first two directional derivatives of the state (one more sweep of the same cost).
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from qsntk.errors import InputError

__all__ = ["TwoLevel", "two_level", "fold", "is_two_level", "realmat", "real_state",
           "fwd", "grad", "taylor2", "angle_columns", "scaled_angle_columns", "angles_in_range",
           "angle_rows", "unrolled", "UNROLL_MAX_LAYERS"]


class TwoLevel(NamedTuple):
    """Real folded form of a compiled circuit with two-level generators.

    Attributes:
        first: ``(2D, 2D)`` ``R(G_L)``, applied to the input state.
        fold: ``(L, 2D, 4D)`` ``[R(G_{l-1}) | R(G_{l-1} i Σ_l)]``, paper order.
        fold_t: ``(L, 2D, 4D)`` ``[R(G_{l-1})^T | R(G_{l-1} i Σ_l)^T]`` (adjoint sweep).
        h: ``(L,)`` half gaps :math:`h_\\ell` of the generator spectra.
        sign: ``(L, 2D)`` ``[-σ_l, σ_l]``: :math:`i\\Sigma_\\ell` acts on a real state ``p`` as
            ``roll(p, D) * sign`` (used by :func:`unrolled`).
    """

    first: jax.Array
    fold: jax.Array
    fold_t: jax.Array
    h: jax.Array
    sign: jax.Array


def realmat(M):
    """``R(M)`` for ``(..., D, D)`` complex ``M``: ``(..., 2D, 2D)`` real, acting on row states."""
    Mt = jnp.swapaxes(M, -1, -2)
    top = jnp.concatenate([Mt.real, Mt.imag], axis=-1)
    bot = jnp.concatenate([-Mt.imag, Mt.real], axis=-1)
    return jnp.concatenate([top, bot], axis=-2)


def real_state(psi):
    """``[Re ψ, Im ψ]`` along the last axis."""
    return jnp.concatenate([jnp.real(psi), jnp.imag(psi)], axis=-1)


def _split(spectra, rtol=1e-9):
    s = np.asarray(spectra, dtype=float)
    lo, hi = s.min(axis=-1, keepdims=True), s.max(axis=-1, keepdims=True)
    tol = rtol * np.maximum(1.0, np.abs(s).max(axis=-1, keepdims=True))
    ok = np.all((np.abs(s - lo) <= tol) | (np.abs(s - hi) <= tol))
    sigma = np.where(np.abs(s - hi) <= tol, 1.0, -1.0)
    return bool(ok), ((hi - lo) / 2.0)[..., 0], sigma


def is_two_level(comp) -> bool:
    """Whether every generator of a (concrete) compiled circuit has at most two eigenvalues."""
    try:
        return _split(comp.spectra)[0]
    except jax.errors.TracerArrayConversionError:
        return False


def two_level(comp) -> TwoLevel:
    """Fold a :class:`~qsntk.circuits.model.Compiled` circuit (or a batch of them).

    Raises:
        InputError: some generator has more than two distinct eigenvalues.
    """
    ok, h, sigma = _split(comp.spectra)
    if not ok:
        raise InputError("every generator must have exactly two eigenvalues for the two-level form")
    return _fold(jnp.asarray(comp.gates), jnp.asarray(sigma), jnp.asarray(h))


@jax.jit
def _fold(G, sigma, h) -> TwoLevel:
    return fold(G, sigma, h)


def fold(G, sigma, h) -> TwoLevel:
    r"""Traceable core of :func:`two_level`: gates ``G`` ``(..., L+1, D, D)``, signs
    :math:`\sigma_\ell` ``(..., L, D)`` and half gaps ``h`` ``(..., L)`` (no check)."""
    Gl, Gn = G[..., :-1, :, :], G[..., -1, :, :]
    B = Gl * (1j * sigma.astype(G.real.dtype))[..., None, :].astype(G.dtype)
    RA, RB = realmat(Gl), realmat(B)
    fold_ab = jnp.concatenate([RA, RB], axis=-1)
    fold_t = jnp.concatenate([jnp.swapaxes(RA, -1, -2), jnp.swapaxes(RB, -1, -2)], axis=-1)
    sig = sigma.astype(G.real.dtype)
    return TwoLevel(realmat(Gn), fold_ab, fold_t, h.astype(G.real.dtype),
                    jnp.concatenate([-sig, sig], axis=-1))


def fwd(tl: TwoLevel, theta, p0):
    """Forward sweep. Returns ``(psi_f, Z, N)``: final real state ``(2D,)`` and, per layer,
    :math:`Z_\\ell = G_{\\ell-1} i\\Sigma_\\ell\\chi_\\ell` and the state after the layer, ``(L, 2D)``."""
    n = p0.shape[-1]
    c, s = jnp.cos(tl.h * theta), jnp.sin(tl.h * theta)

    def step(psi, xs):
        M, cl, sl = xs
        Y = psi @ M
        a, b = Y[:n], Y[n:]
        nxt = cl * a + sl * b
        return nxt, (cl * b - sl * a, nxt)

    psi, (Z, N) = jax.lax.scan(step, p0 @ tl.first, (tl.fold, c, s), reverse=True)
    return psi, Z, N


def grad(tl: TwoLevel, RO, theta, psi_f, Z):
    """Adjoint sweep: :math:`\\partial\\varepsilon/\\partial\\theta`, ``(L,)``, given the forward sweep."""
    n = psi_f.shape[-1]
    c, s = jnp.cos(tl.h * theta), jnp.sin(tl.h * theta)

    def step(lam, xs):
        MT, Zl, cl, sl, hl = xs
        g = 2.0 * hl * jnp.dot(lam, Zl)
        Y = lam @ MT
        return cl * Y[:n] + sl * Y[n:], g

    _, g = jax.lax.scan(step, psi_f @ RO, (tl.fold_t, Z, c, s, tl.h))
    return g


def taylor2(tl: TwoLevel, RO, theta, psi_f, Z, N, v):
    """:math:`v^\\top H v = \\frac{d^2}{ds^2}\\varepsilon(\\theta + s v)|_0` from the forward sweep."""
    n = psi_f.shape[-1]
    c, s = jnp.cos(tl.h * theta), jnp.sin(tl.h * theta)

    def step(carry, xs):
        M, cl, sl, hl, vl, Zl, Nl = xs
        Y = carry @ M                                   # (2, 2n): rows d1, d2
        a, b = Y[:, :n], Y[:, n:]
        w = hl * vl
        d1 = cl * a[0] + sl * b[0] + w * Zl
        d2 = cl * a[1] + sl * b[1] + 2.0 * w * (cl * b[0] - sl * a[0]) - w * w * Nl
        return jnp.stack([d1, d2]), None

    zero = jnp.zeros((2, n), psi_f.dtype)
    (d, _) = jax.lax.scan(step, zero, (tl.fold, c, s, tl.h, v, Z, N), reverse=True)
    d1, d2 = d[0], d[1]
    return 2.0 * jnp.dot(psi_f @ RO, d2) + 2.0 * jnp.dot(d1, d1 @ RO)


# ---------------------------------------------------------------- unrolled batch kernel
UNROLL_MAX_LAYERS = 48
"""Deepest circuit that :func:`~qsntk.circuits.kernel.qntk_batch` runs through :func:`unrolled`
(compile time grows linearly with ``L``; deeper circuits take the ``lax.scan`` sweeps above)."""


def angle_columns(h, thetas, *, in_range: bool | None = None):
    r"""Per-layer rows :math:`\cos h_\ell\theta_\ell` and :math:`\sin h_\ell\theta_\ell` of a batch.

    Arguments:
        h: ``(L,)`` half gaps; thetas: ``(B, L)`` angles.
        in_range: whether every ``|h θ|`` is below ``qsntk.special.SINCOS_MAX_ARG``, when the
            caller knows (else checked here, see below).

    Returns:
        ``(cos, sin)``: two tuples of ``L`` arrays of shape ``(1, B)``. They are returned by a
        separate jitted call so that each is its own buffer: XLA:CPU emits slow element loops
        when a per-sample row is sliced out of a bigger array inside the fused layer update.

    In float64 the values come from :func:`qsntk.special.sincos_in_range` (XLA:CPU's
    ``sin``/``cos`` are scalar calls) when the angles are concrete and in its range, checked
    here on the host (a check inside the program would be a cross-device reduction for
    angles split over devices), from ``jnp.sin``/``jnp.cos`` when they are not; traced
    angles take :func:`qsntk.special.sincos`, which checks inside the program.
    """
    return _columns(thetas, h, mode=_sincos_mode(h, thetas, in_range))


def angle_rows(h, thetas):
    """:func:`angle_columns` as two ``(L, B)`` arrays (for :func:`qsntk.circuits.native.sweep`),
    the same values."""
    return _columns(thetas, h, mode=_sincos_mode(h, thetas, None), rows=True)


def _sincos_mode(h, thetas, in_range):
    """``checked`` for traced angles, else ``poly`` or ``libm`` by the range (checked on the
    host when ``in_range`` is None)."""
    if isinstance(thetas, jax.core.Tracer) or isinstance(h, jax.core.Tracer):
        return "checked"
    if in_range is None:
        in_range = angles_in_range(h, thetas)
    return "poly" if in_range else "libm"


def scaled_angle_columns(h_theta, *, in_range: bool):
    """:func:`angle_columns` of angles already multiplied by their half gaps, ``(B, L)``
    (for callers that scale them on the host before splitting them over devices)."""
    return _columns(h_theta, None, mode="poly" if in_range else "libm")


def angles_in_range(h, thetas) -> bool:
    """Whether concrete angles have every ``|h θ| < SINCOS_MAX_ARG`` (False when traced
    or for a non-finite angle)."""
    from qsntk.special import SINCOS_MAX_ARG

    if isinstance(thetas, jax.core.Tracer) or isinstance(h, jax.core.Tracer):
        return False
    big = float(np.max(np.abs(np.asarray(thetas)), initial=0.0)) * float(
        np.max(np.abs(np.asarray(h)), initial=0.0))
    return big < SINCOS_MAX_ARG


@partial(jax.jit, static_argnames=("mode", "rows"))
def _columns(thetas, h, *, mode, rows=False):
    """The cos/sin rows of ``thetas * h`` (``h = None``: already scaled); ``rows``: as two
    ``(L, B)`` arrays, else as tuples of ``(1, B)`` rows."""
    from qsntk.special import sincos, sincos_in_range

    th = (thetas if h is None else thetas * h).T
    if mode == "libm" or th.dtype != jnp.float64:
        s, c = jnp.sin(th), jnp.cos(th)
    else:
        s, c = sincos_in_range(th) if mode == "poly" else sincos(th)
    if rows:
        return c, s
    L = th.shape[0]
    return tuple(c[l][None, :] for l in range(L)), tuple(s[l][None, :] for l in range(L))


def _act(tl, l, p):
    """:math:`i\\Sigma_\\ell` on real column states ``p`` ``(2D, B)``: ``[-σ Im; σ Re]``."""
    return jnp.roll(p, p.shape[0] // 2, axis=0) * tl.sign[l][:, None]


def unrolled(tl: TwoLevel, RO, p0, cos, sin, *, with_mu: bool = True):
    r"""ε, ∂ε/∂θ, K (eq. 6) and μ (eq. 14 of Liu et al.) for a batch of angle samples of one
    circuit, with the ``L`` layers unrolled (no ``lax.scan``) and one real ``(2D, 2D)``
    matrix per layer and sweep.

    Each layer of eq. 1 in compiled form is :math:`G_{\ell-1}P_\ell`, with
    :math:`P_\ell = e^{i h_\ell\theta_\ell\Sigma_\ell} = c_\ell + s_\ell\, i\Sigma_\ell`
    (global phase dropped). :math:`P_\ell` is applied elementwise, a half-swap with signs
    (``roll(p, D) * sign``), so a layer costs one real mat-vec, not the two of :func:`fwd`:

    * forward: :math:`\phi_\ell = P_\ell\chi_\ell`, :math:`\chi_{\ell-1} = G_{\ell-1}\phi_\ell`;
    * adjoint (eq. 8): :math:`\tilde\lambda_\ell = G_{\ell-1}^\dagger\lambda_{\ell-1}`,
      :math:`\partial_\ell\varepsilon = 2h_\ell\,\mathrm{Re}\langle\tilde\lambda_\ell|i\Sigma_\ell\phi_\ell\rangle
      = -2h_\ell\,\mathrm{Re}\langle i\Sigma_\ell\tilde\lambda_\ell|\phi_\ell\rangle`,
      :math:`\lambda_\ell = P_\ell^\dagger\tilde\lambda_\ell`, starting from :math:`\lambda_0 = O\psi`
      (:math:`i\Sigma_\ell\tilde\lambda_\ell` serves both the derivative and :math:`P^\dagger`);
    * μ (eq. 14) :math:`= \frac{d^2}{ds^2}\varepsilon(\theta + s g)|_0`: with
      :math:`w_\ell = h_\ell g_\ell`, :math:`\partial_s P_\ell = w_\ell\, i\Sigma_\ell P_\ell` and
      :math:`\partial_s^2 P_\ell = -w_\ell^2 P_\ell`, the state's first two derivatives follow
      :math:`d_1 \leftarrow G(P d_1 + w\, i\Sigma\phi)`,
      :math:`d_2 \leftarrow G(P d_2 + 2w\, i\Sigma P d_1 - w^2\phi)`, and
      :math:`\mu = 2\langle O\psi, d_2\rangle + 2\langle d_1, O d_1\rangle`.

    States are columns of ``(2D, B)`` arrays, so every layer is one ``(2D, 2D) @ (2D, B)``
    product and the per-sample cos/sin are contiguous rows (1.2× faster on XLA:CPU than
    ``(B, 2D)`` rows, ``benchmarks/bench_qntk_pennylane.py``).

    Arguments:
        tl: one (unbatched) :class:`TwoLevel` circuit with ``L`` layers.
        RO: ``(2D, 2D)`` ``realmat(O)`` (it acts on row states; columns take its transpose).
        p0: ``(2D,)`` real input state.
        cos, sin: from :func:`angle_columns`, ``L`` arrays ``(1, B)`` each.
        with_mu: compute μ (else ``None``).

    Returns:
        ``(eps (B,), grad (B, L), K (B,), mu (B,) or None)``.
    """
    L = len(cos)
    n2 = tl.first.shape[-1]
    GT = jnp.swapaxes(tl.fold[..., :n2], -1, -2)            # R(G_{l-1})^T: acts on columns
    ROT = RO.T
    psi = jnp.broadcast_to((p0 @ tl.first)[:, None], (n2, cos[0].shape[-1]))
    phis = [None] * L
    for l in range(L - 1, -1, -1):                          # layer L acts first
        phis[l] = cos[l] * psi + sin[l] * _act(tl, l, psi)
        psi = GT[l] @ phis[l]
    lam0 = ROT @ psi
    eps = jnp.sum(psi * lam0, axis=0)
    lam, gs = lam0, []
    ones = jnp.ones((1, n2), psi.dtype)
    for l in range(L):
        lt = GT[l].T @ lam
        a = _act(tl, l, lt)
        # the column sums as a (1, 2D) @ (2D, B) product: 10-17 % faster on XLA:CPU than its
        # reduction of axis 0 (benchmarks/bench_qntk_pennylane.py, docs/qntk.md)
        gs.append(-2.0 * tl.h[l] * jnp.matmul(ones, a * phis[l], precision="highest"))
        if l + 1 < L:
            lam = cos[l] * lt - sin[l] * a
    grad = jnp.concatenate(gs, axis=0).T
    K = jnp.sum(grad * grad, axis=-1)
    if not with_mu:
        return eps, grad, K, None
    d1 = d2 = None
    for l in range(L - 1, -1, -1):
        w = tl.h[l] * gs[l]
        jphi = _act(tl, l, phis[l])
        if d1 is None:                                      # derivatives vanish before layer L
            a, b = w * jphi, -(w * w) * phis[l]
        else:
            e1 = cos[l] * d1 + sin[l] * _act(tl, l, d1)
            a = e1 + w * jphi
            b = cos[l] * d2 + sin[l] * _act(tl, l, d2) + 2.0 * w * _act(tl, l, e1) - (w * w) * phis[l]
        d1, d2 = GT[l] @ a, GT[l] @ b
    mu = 2.0 * jnp.sum(lam0 * d2, axis=0) + 2.0 * jnp.sum(d1 * (ROT @ d1), axis=0)
    return eps, grad, K, mu
