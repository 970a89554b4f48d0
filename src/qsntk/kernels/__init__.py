"""Quantum-state neural tangent kernels.

* :mod:`~qsntk.kernels.qs` -- Θ, Φ, Ω, Ω_RI from real blocks (eqs. 7, 8, 10 of Luo–Halverson).
* :mod:`~qsntk.kernels.empirical` -- any JAX wavefunction, blocked Jacobian contraction.
* :mod:`~qsntk.kernels.structured` -- dense networks, layer-wise GEMMs (fast path).
* :mod:`~qsntk.kernels.infinite` -- infinite-width NNGP and NTK in closed form.

:func:`qs_ntk` picks the structured path when the model supports it.
"""

from __future__ import annotations

from qsntk.kernels import empirical, infinite, structured
from qsntk.kernels.infinite import Kernel, KernelFn, fc_kernel_fn, infinite_real_blocks, kernel_fn_for
from qsntk.kernels.qs import QSKernel, decoupled_blocks, omega, omega_ri, real_blocks_from, theta_phi


def _structured(model, structured_path, log):
    return structured_path and not log and structured.supports(model)


def real_blocks(model, params, x1, x2=None, *, block_size=None, structured_path: bool = True,
                log: bool = False):
    """Real blocks ``(2, 2, n1, n2)`` of a flax model's empirical QS-NTK.

    Uses the structured GEMM path for :class:`~qsntk.nets.FCNet`,
    :class:`~qsntk.nets.ComplexFCNet` and pairs of FCNets, the blocked Jacobian
    path (``jax.jacrev``) otherwise (``log=True`` for models that return log ψ, like
    NetKet's). Both compute at qsntk's precision: under the default float64, float32
    and complex64 parameter leaves and inputs are promoted to float64/complex128 first
    (flax's ``nn.Dense`` makes float32 parameters); under ``float32`` precision they are
    left as they are. A model output of shape ``(batch, 1)`` is read as ``(batch,)``.

    Arguments:
        model: a flax module returning ψ (or log ψ with ``log=True``), ``(batch,)`` or
            ``(batch, 1)``.
        params: its parameters (as from ``model.init``); complex leaves count as two real
            parameters (see :func:`qs_ntk`).
        x1, x2: inputs ``(n1, d)``, ``(n2, d)``; ``x2=None`` uses ``x1`` and symmetry.
        block_size: Jacobian rows formed at once (Jacobian path); ``None``: all.
        structured_path: use the GEMM path where the model supports it.
        log: the model returns log ψ.

    Returns:
        ``K`` ``(2, 2, n1, n2)``, ``K[a, b] = Σ_i ∂ψ_a(x)/∂θ_i ∂ψ_b(x')/∂θ_i``.

    Raises:
        InputError: bad inputs, a wrong output shape, or a job that cannot fit in memory
            (:func:`memory_lower_bound` exceeds physical memory), before any work.
    """
    from qsntk.nets.wavefunctions import as_wavefunction

    if _structured(model, structured_path, log):
        return structured.real_blocks(model, params, x1, x2)
    return empirical.real_blocks(as_wavefunction(model, log=log), params, x1, x2,
                                 block_size=block_size)


def memory_lower_bound(model, params, n1: int, n2: int | None = None, *, block_size=None,
                       structured_path: bool = True, log: bool = False) -> int:
    """Bytes :func:`real_blocks` must hold at once, at least, for ``n1`` (× ``n2``) inputs.

    The path's own bound: :func:`qsntk.kernels.structured.memory_lower_bound` or
    :func:`qsntk.kernels.empirical.memory_lower_bound`. ``params`` may be the
    ``jax.eval_shape`` of an ``init`` (no allocation).
    """
    if _structured(model, structured_path, log):
        return structured.memory_lower_bound(model, params, n1, n2)
    return empirical.memory_lower_bound(params, n1, n2, block_size=block_size)


def qs_ntk(model, params, x1, x2=None, **kw) -> QSKernel:
    r"""Θ and Φ (eq. 7 of Luo–Halverson) of a flax model; see :func:`real_blocks`.

    :math:`\Theta(x,x') = \sum_i \partial_{\theta_i}\psi(x)\,\partial_{\theta_i}\psi(x')` and
    :math:`\Phi(x,x') = \sum_i \partial_{\theta_i}\psi(x)\,\partial_{\theta_i}\psi^*(x')`
    over **real** parameters θ_i, at qsntk's precision (float64 by default, float32
    parameters promoted; see :func:`real_blocks`).

    Complex parameters: a complex leaf ``z = u + iv`` counts as the two real parameters
    ``u`` and ``v``. For ψ holomorphic in ``z`` (NetKet's ``RBM(param_dtype=complex)``)
    ∂ψ/∂u = J and ∂ψ/∂v = iJ with J = ∂ψ/∂z, so these parameters give
    :math:`\Theta = J J^\top + (iJ)(iJ)^\top = 0` and
    :math:`\Phi = J J^\dagger + (iJ)(iJ)^\dagger = 2 J J^\dagger`: twice the
    :math:`J J^\dagger` of the holomorphic (NetKet) convention, and no Θ at all.

    Arguments:
        model, params, x1, x2, **kw: as :func:`real_blocks`.

    Returns:
        :class:`QSKernel` with ``theta`` and ``phi``, each ``(n1, n2)`` complex.
    """
    return theta_phi(real_blocks(model, params, x1, x2, **kw))


__all__ = ["Kernel", "KernelFn", "QSKernel", "decoupled_blocks", "empirical", "fc_kernel_fn",
           "infinite", "infinite_real_blocks", "kernel_fn_for", "memory_lower_bound", "omega",
           "omega_ri", "qs_ntk", "real_blocks", "real_blocks_from", "structured", "theta_phi"]
