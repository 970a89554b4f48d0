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


def real_blocks(model, params, x1, x2=None, *, block_size=None, structured_path: bool = True,
                log: bool = False):
    """Real blocks ``(2, 2, n1, n2)`` of a flax model's empirical QS-NTK.

    Uses the structured GEMM path for :class:`~qsntk.nets.FCNet`,
    :class:`~qsntk.nets.ComplexFCNet` and pairs of FCNets, the blocked Jacobian
    path otherwise (``log=True`` for models that return log ψ, like NetKet's).
    """
    from qsntk.nets.wavefunctions import as_wavefunction

    if structured_path and not log and structured.supports(model):
        return structured.real_blocks(model, params, x1, x2)
    return empirical.real_blocks(as_wavefunction(model, log=log), params, x1, x2,
                                 block_size=block_size)


def qs_ntk(model, params, x1, x2=None, **kw) -> QSKernel:
    """Θ and Φ (eq. 7 of Luo–Halverson) of a flax model; see :func:`real_blocks`."""
    return theta_phi(real_blocks(model, params, x1, x2, **kw))


__all__ = ["Kernel", "KernelFn", "QSKernel", "decoupled_blocks", "empirical", "fc_kernel_fn",
           "infinite", "infinite_real_blocks", "kernel_fn_for", "omega", "omega_ri", "qs_ntk",
           "real_blocks", "real_blocks_from", "structured", "theta_phi"]
