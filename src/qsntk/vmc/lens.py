r"""The tangent-kernel lens on VMC: the sample-space QS-NTK of the current state.

With the log-derivatives :math:`O_k(x) = \partial_{\theta_k}\log\psi_\theta(x)` of
:math:`N_p` real parameters on :math:`N_s` samples :math:`x_i\sim|\psi|^2`, centred
and scaled,

.. math::  \bar O_{ik} = \big(O_k(x_i) - \langle O_k\rangle\big)/\sqrt{N_s},

split into real and imaginary parts :math:`\bar O = \bar O_R + i\bar O_I`. The real
blocks :math:`K_{ab} = \bar O_a \bar O_b^{\mathsf T}` (``(2, 2, N_s, N_s)``) are those
of Luo–Halverson eq. 7 for :math:`\log\psi` on the samples, so
:func:`qsntk.kernels.qs.theta_phi` turns them into

.. math::  \Theta_s = \bar O\bar O^{\mathsf T},\qquad \Phi_s = \bar O\bar O^\dagger,

and :math:`\Omega_{RI} = [[K_{11}, K_{12}], [K_{21}, K_{22}]]` (eq. 10) is
:math:`\mathcal O\mathcal O^{\mathsf T}` for the stacked real Jacobian
:math:`\mathcal O = [\bar O_R; \bar O_I]` of shape ``(2 N_s, N_p)``. The quantum
geometric tensor of the VMC review's "Energy optimization" section, restricted to
real parameters as NetKet computes it, is

.. math::  S = \mathrm{Re}\,\bar O^\dagger\bar O = \mathcal O^{\mathsf T}\mathcal O,

so :math:`\Omega_{RI}` and :math:`S` share their nonzero spectrum (singular values of
:math:`\mathcal O` squared). For the energy :math:`L = \langle H\rangle` the
exact gradient flow of the parameters, written for :math:`\log\psi` on the samples, is

.. math::  \frac{d\log\psi(x_i)}{d\tau} = -\eta\sum_j
           \big[\Phi_s(x_i,x_j)\,\varepsilon_j + \Theta_s(x_i,x_j)\,\varepsilon_j^*\big]
           + \mathrm{const},
           \qquad \varepsilon_j = E_{loc}(x_j) - \langle E_{loc}\rangle,

the sampled form of eq. 6 of Luo–Halverson (``docs/vmc.md`` derives it), while
stochastic reconfiguration replaces the kernel by the projector
:math:`\Omega_{RI}(\Omega_{RI} + \epsilon)^{-1}` on its range (minSR is exactly
that form). The spectrum of the lens therefore measures how far plain gradient
descent is from SR.

Spectra are computed on the smaller side: :math:`\Omega_{RI}` when
:math:`2N_s \le N_p`, else :math:`S` — the nonzero eigenvalues are the same.
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from qsntk.errors import InputError
from qsntk.kernels.qs import QSKernel, omega_ri, theta_phi

__all__ = ["NonFiniteJacobianError", "LensSpectrum", "jacobian_mode", "centered_jacobian",
           "real_blocks", "sample_qs_ntk", "spectrum", "lens_spectrum", "effective_rank",
           "condition_number", "LENS_KEYS"]


class NonFiniteJacobianError(InputError):
    """The Jacobian of log ψ on the samples has NaN or infinite entries (a diverged state)."""


#: scalar keys logged by the driver every ``lens_every`` steps.
LENS_KEYS = ("lens_trace", "lens_lambda_max", "lens_lambda_min", "lens_rank", "lens_eff_rank",
             "lens_participation", "lens_cond", "lens_cond_shifted")


def jacobian_mode(apply_fn, params, model_state, samples) -> str:
    """``"real"`` for a real log ψ of real parameters, else ``"complex"``.

    This is the mode of NetKet's default QGT for non-holomorphic models: complex
    parameters are split into real and imaginary parts, so the QGT is a real
    :math:`N_p\\times N_p` matrix over :math:`N_p` real parameters.
    """
    import netket as nk

    mode = nk.jax.jacobian_default_mode(apply_fn, params, model_state, samples)
    return "real" if mode == "real" else "complex"


def centered_jacobian(apply_fn, params, model_state, samples, *, chunk_size=None):
    r"""The stacked real Jacobian :math:`\bar O_a` (centred, :math:`/\sqrt{N_s}`).

    Arguments:
        apply_fn: ``apply_fn(variables, x) -> log ψ(x)`` (flax ``Module.apply``).
        params: parameter pytree.
        model_state: non-trained variables (dict, may be empty).
        samples: configurations, shape (N_s, n_cols).
        chunk_size: samples per Jacobian chunk (None: all at once).

    Returns:
        real array shape ``(2, N_s, N_p)``: index 0 the real part
        :math:`\bar O_R`, index 1 the imaginary part :math:`\bar O_I` (zero for a
        real model) of :math:`(O_k(x_i) - \langle O_k\rangle)/\sqrt{N_s}`, over the
        :math:`N_p` real parameters (complex parameters count twice, NetKet's order).
    """
    import warnings

    import netket as nk

    samples = jnp.asarray(samples).reshape(-1, jnp.shape(samples)[-1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nk.errors.HolomorphicUndeclaredWarning)
        mode = jacobian_mode(apply_fn, params, model_state, samples)
    O = nk.jax.jacobian(apply_fn, params, samples, model_state, mode=mode, dense=True,
                        center=True, _sqrt_rescale=True, chunk_size=chunk_size)
    if mode == "real":
        return jnp.stack([O, jnp.zeros_like(O)])
    return jnp.moveaxis(O, 1, 0)          # (N_s, 2, N_p) -> (2, N_s, N_p)


def real_blocks(Obar) -> jnp.ndarray:
    """Real blocks ``K[a, b] = Ō_a Ō_bᵀ`` of shape ``(2, 2, N_s, N_s)`` (eq. 7 of Luo–Halverson)."""
    return jnp.einsum("aik,bjk->abij", Obar, Obar)


def sample_qs_ntk(Obar) -> QSKernel:
    r"""Θ_s and Φ_s (eq. 7 of Luo–Halverson) of log ψ on the samples, shape (N_s, N_s) each.

    Φ_s is Hermitian positive semi-definite; :math:`\mathrm{Re}\,\mathrm{tr}\,\Phi_s = \mathrm{tr}\,S`.
    """
    return theta_phi(real_blocks(Obar))


def spectrum(Obar) -> np.ndarray:
    r"""The common nonzero spectrum of :math:`\Omega_{RI} = \mathcal O\mathcal O^{\mathsf T}` and :math:`S = \mathcal O^{\mathsf T}\mathcal O`.

    The smaller of the two Gram matrices is formed and diagonalized (LAPACK
    ``syevd``), which costs about what one SR step spends on its linear algebra.
    Eigenvalues below :math:`\sim\epsilon\,\lambda_{max}\max(2N_s, N_p)` are
    numerical zeros (see :func:`lens_spectrum`'s rank).

    Arguments:
        Obar: the stacked Jacobian of :func:`centered_jacobian`, ``(2, N_s, N_p)``.

    Returns:
        float64 array, descending, clipped at 0, length ``min(2 N_s, N_p)``
        (``min(N_s, N_p)`` for a real model, whose :math:`\bar O_I` vanishes).

    Raises:
        NonFiniteJacobianError: the Jacobian has non-finite entries (a diverged state).
    """
    O = np.asarray(Obar, dtype=np.float64)
    if not np.all(np.isfinite(O)):
        raise NonFiniteJacobianError("the Jacobian of log psi has non-finite entries")
    O = O.reshape(-1, O.shape[-1])            # (2 N_s, N_p)
    if not np.any(O[O.shape[0] // 2:]):        # real model: Ō_I = 0
        O = O[: O.shape[0] // 2]
    G = O @ O.T if O.shape[0] <= O.shape[1] else O.T @ O
    return np.clip(np.linalg.eigvalsh(G)[::-1], 0.0, None)


def _rank_tol(w: np.ndarray, shape) -> float:
    """Numerical zero of a Gram matrix's eigenvalues: λ_max·max(shape)·eps (numpy's rank rule)."""
    if not len(w):
        return 0.0
    return float(w[0] * max(shape) * np.finfo(np.float64).eps)


def effective_rank(w: np.ndarray) -> float:
    r"""Roy–Vetterli effective rank :math:`\exp(-\sum p_i\log p_i)`, :math:`p = \lambda/\sum\lambda`."""
    w = np.asarray(w, dtype=np.float64)
    tot = w.sum()
    if tot <= 0:
        return 0.0
    p = w[w > 0] / tot
    return float(np.exp(-np.sum(p * np.log(p))))


def condition_number(w: np.ndarray, *, shift: float = 0.0, n_total: int | None = None) -> float:
    r"""λ_max/λ_min over the nonzero eigenvalues, or :math:`(λ_{max}+ε)/(λ_{min}+ε)` with a shift.

    Arguments:
        w: eigenvalues, descending.
        shift: diagonal shift ε of SR (0: the unshifted, nonzero part).
        n_total: size of the matrix the shift is added to (e.g. :math:`N_p` for
            :math:`S + εI`); eigenvalues beyond ``len(w)`` count as zeros.
    """
    w = np.asarray(w, dtype=np.float64)
    if len(w) == 0 or w[0] <= 0:
        return float("nan")
    if shift > 0:
        lo = 0.0 if (n_total is not None and n_total > len(w)) else float(w[-1])
        return float((w[0] + shift) / (lo + shift))
    nz = w[w > _rank_tol(w, (len(w), n_total or len(w)))]
    return float(w[0] / nz[-1])


class LensSpectrum(NamedTuple):
    """Scalars of the lens at one step (keys of :data:`LENS_KEYS`) and the eigenvalues."""

    values: dict
    eigenvalues: np.ndarray


def lens_spectrum(Obar, *, diag_shift: float = 0.0) -> LensSpectrum:
    r"""Spectral summary of the sample-space QS-NTK.

    Arguments:
        Obar: stacked centred Jacobian ``(2, N_s, N_p)`` (:func:`centered_jacobian`).
        diag_shift: ε of SR, for the shifted condition number of :math:`S + εI`.

    Returns:
        :class:`LensSpectrum` with ``values``: trace (= tr S), λ_max, smallest
        nonzero λ, numerical rank, Roy–Vetterli effective rank, participation
        ratio :math:`(\sum\lambda)^2/\sum\lambda^2`, condition number of the
        nonzero part, and of :math:`S + εI`; and the eigenvalues (descending).
    """
    w = spectrum(Obar)
    n_p = int(np.shape(Obar)[-1])
    tol = _rank_tol(w, (2 * np.shape(Obar)[1], n_p))
    nz = w[w > tol]
    tot = float(w.sum())
    vals = {
        "lens_trace": tot,
        "lens_lambda_max": float(w[0]) if len(w) else 0.0,
        "lens_lambda_min": float(nz[-1]) if len(nz) else 0.0,
        "lens_rank": int(len(nz)),
        "lens_eff_rank": effective_rank(w),
        "lens_participation": float(tot**2 / np.sum(w**2)) if tot > 0 else 0.0,
        "lens_cond": float(nz[0] / nz[-1]) if len(nz) else float("nan"),
        "lens_cond_shifted": condition_number(w, shift=diag_shift, n_total=n_p)
        if diag_shift > 0 else float("nan"),
    }
    return LensSpectrum(vals, w)


def lens_of_state(vstate, *, diag_shift: float = 0.0, chunk_size=None) -> LensSpectrum:
    """:func:`lens_spectrum` of a NetKet ``MCState`` on its current samples."""
    x = vstate.samples
    Obar = centered_jacobian(vstate._apply_fun, vstate.parameters, vstate.model_state,
                             x.reshape(-1, x.shape[-1]), chunk_size=chunk_size)
    return lens_spectrum(Obar, diag_shift=diag_shift)


def omega_ri_of(Obar) -> jnp.ndarray:
    """Ω_RI (eq. 10 of Luo–Halverson) on the samples, ``(2 N_s, 2 N_s)`` real."""
    return omega_ri(real_blocks(Obar))

