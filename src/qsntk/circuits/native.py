r"""The fused CPU kernel for the QNTK sweeps of one two-level circuit (``qsntk/native/qntk_sweep.cc``).

:func:`qsntk.circuits.fast.unrolled` is the reference: the same forward, adjoint and μ
sweeps (eqs. 6, 8 and 14 of Liu et al.), the same arithmetic. On XLA:CPU that kernel spends
more than half its time in the elementwise passes between its thin ``(2D, 2D) @ (2D, B)``
products and runs them on one thread. The native one does each block of samples from
start to end in cache, as SIMD FMAs over the samples (blocks of 8 in double, 16 in
single precision), and shares the blocks between the calling thread and XLA's own
intra-op thread pool (threads of its own would compete with that pool's spinning
workers: 1.6x slower measured); it is an XLA FFI target, so it runs inside ``jax.jit``
like any other op (docs/qntk.md, benchmarks). Building, caching and the fallback:
:mod:`qsntk.native`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from qsntk.native import available, why_not

__all__ = ["available", "why_not", "sweep"]

_TARGETS = {np.dtype(np.float64): "qsntk_qntk_sweep_f64",
            np.dtype(np.float32): "qsntk_qntk_sweep_f32"}


def sweep(tl, RO, p0, cos, sin, *, with_mu: bool = True, threads: int = 0):
    r"""ε, ∂ε/∂θ, K and μ of one two-level circuit for a batch of samples, on the CPU.

    The same quantities, to rounding, as :func:`qsntk.circuits.fast.unrolled`, for any
    number of layers.

    Arguments:
        tl: one (unbatched) :class:`~qsntk.circuits.fast.TwoLevel` circuit with ``L`` layers.
        RO: ``(2D, 2D)`` ``realmat(O)``; p0: ``(2D,)`` real input state.
        cos, sin: ``(L, B)`` :math:`\cos h_\ell\theta_\ell` and :math:`\sin h_\ell\theta_\ell`.
        with_mu: compute μ (else NaN).
        threads: threads to share the blocks of samples among, the calling one included
            (0: the caller and every thread of XLA's intra-op pool; 1: the caller alone).

    Returns:
        ``(eps (B,), grad (B, L), K (B,), mu (B,))`` in the circuit's real type.

    Raises:
        InputError: ``RO``, ``p0``, ``cos`` or ``sin`` do not have the shapes above for this
            circuit (checked here, before dispatch; the C++ kernel checks every buffer's
            dimensions again and fails rather than read past one).
    """
    from qsntk.errors import InputError

    if not available():
        raise RuntimeError(f"the native QNTK kernel is not available ({why_not()})")
    dt = np.dtype(tl.first.dtype)
    name = _TARGETS[dt]
    n2 = tl.first.shape[-1]
    L = tl.h.shape[-1]
    if tl.first.ndim != 2 or tl.fold.shape != (L, n2, 2 * n2) or tl.sign.shape != (L, n2):
        raise InputError("native.sweep needs one unbatched two-level circuit, got first "
                         f"{tuple(tl.first.shape)}, fold {tuple(tl.fold.shape)}")
    if jnp.shape(RO) != (n2, n2):
        raise InputError(f"RO must have shape ({n2}, {n2}) (realmat of a {n2 // 2} x {n2 // 2} "
                         f"observable), got {tuple(jnp.shape(RO))}")
    if jnp.shape(p0) != (n2,):
        raise InputError(f"p0 must have shape ({n2},) (the real form of a {n2 // 2}-dim state), "
                         f"got {tuple(jnp.shape(p0))}")
    if jnp.ndim(cos) != 2 or jnp.shape(cos)[0] != L or jnp.shape(sin) != jnp.shape(cos):
        raise InputError(f"cos and sin must both have shape ({L}, B) for L = {L} layers, got "
                         f"{tuple(jnp.shape(cos))} and {tuple(jnp.shape(sin))}")
    GT = jnp.swapaxes(tl.fold[..., :n2], -1, -2)
    psi = jnp.matmul(jnp.asarray(p0, dt), tl.first, precision="highest")
    L, B = cos.shape
    shape = jax.ShapeDtypeStruct
    call = jax.ffi.ffi_call(name, (shape((B,), dt), shape((B, L), dt), shape((B,), dt),
                                   shape((B,), dt)), vmap_method="sequential")
    return call(GT, tl.sign.astype(dt), tl.h.astype(dt), jnp.asarray(RO, dt).T, psi,
                cos.astype(dt), sin.astype(dt), with_mu=np.int32(bool(with_mu)),
                threads=np.int32(threads))
