r"""Empirical QS-NTK of any JAX wavefunction, by blocked Jacobian contraction.

Works for any ``psi(params, x) -> (batch,) complex`` (see
:func:`qsntk.nets.as_wavefunction`): real–imaginary pairs, complex heads,
NetKet log-amplitude models. An output of shape ``(batch, 1)`` (a flax
``nn.Dense(1)`` head) is read as ``(batch,)``; any other shape is refused.

The Jacobian of :math:`(\mathrm{Re}\,\psi, \mathrm{Im}\,\psi)` with respect to the real
parameter vector is taken in reverse mode (``jax.jacrev`` of the two real outputs,
``jax.vmap``-ed over the inputs) and contracted, eq. 7 of Luo–Halverson:
:math:`\Theta = \sum_i \partial_{\theta_i}\psi(x)\,\partial_{\theta_i}\psi(x')`,
:math:`\Phi = \sum_i \partial_{\theta_i}\psi(x)\,\partial_{\theta_i}\psi^*(x')`.

Complex parameters. The θ_i of eq. 7 are real. A complex leaf ``z = u + iv``
counts as two real parameters ``u`` and ``v`` (so ``P`` counts it twice), which is
what gradient descent on ``(u, v)`` sees. For ψ holomorphic in ``z`` (e.g. NetKet's
``RBM(param_dtype=complex)``), ∂ψ/∂u = J and ∂ψ/∂v = iJ with J = ∂ψ/∂z, so these
parameters contribute :math:`J J^\top + (iJ)(iJ)^\top = 0` to Θ and
:math:`J J^\dagger + (iJ)(iJ)^\dagger = 2 J J^\dagger` to Φ: no Θ, and twice the
:math:`J J^\dagger` of the holomorphic convention (NetKet's).

Precision. Under qsntk's default double precision (:func:`qsntk.config.precision`)
floating parameter leaves and inputs of lower precision are promoted first
(float32 → float64, complex64 → complex128: flax's ``nn.Dense`` makes float32
parameters), so the kernel is float64; under ``float32`` precision they are left
as they are. A model that casts internally (flax ``dtype=jnp.float32``) still
computes at its own precision.

Memory: with ``block_size=b`` the Jacobian is formed ``b`` rows at a time, so
peak memory is :math:`O(n_1 n_2 + b P)`; with ``block_size=None`` the whole
:math:`n \times P` Jacobian is formed once (faster, more memory). A job whose
lower bound (:func:`memory_lower_bound`) exceeds physical memory is refused with
:class:`~qsntk.errors.InputError` before any work. For the dense networks of
:mod:`qsntk.nets`, :mod:`qsntk.kernels.structured` is much faster.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from qsntk.config import precision
from qsntk.errors import InputError, check_finite, check_int_at_least, check_memory


def _promoted(dtype):
    """The dtype a leaf of ``dtype`` is computed in at qsntk's precision."""
    dtype = np.dtype(dtype)
    if precision() == "float64":
        if jnp.issubdtype(dtype, jnp.complexfloating) and dtype.itemsize < 16:
            return np.dtype(np.complex128)
        if jnp.issubdtype(dtype, jnp.floating) and dtype.itemsize < 8:
            return np.dtype(np.float64)
    return dtype


def at_precision(tree):
    """``tree`` with floating leaves of lower precision than qsntk's promoted to it.

    Under the default ``float64`` precision float16/bfloat16/float32 leaves become
    float64 and complex64 leaves complex128; under ``float32`` precision, and for
    integer leaves, nothing changes. Arguments: a pytree of arrays. Returns: the
    same pytree (leaves already at precision are returned as they are).
    """
    def up(leaf):
        if not hasattr(leaf, "dtype"):
            return leaf
        dt = _promoted(leaf.dtype)
        return leaf if dt == leaf.dtype else jnp.asarray(leaf, dt)

    return jax.tree_util.tree_map(up, tree)


def realify(params):
    """Flatten ``params`` to a real vector; complex leaves become (re, im) pairs.

    Returns:
        ``(theta, unflatten)``: a real 1-d array of all P real parameters and a
        function mapping such a vector back to the original pytree.
    """
    leaves, treedef = jax.tree_util.tree_flatten(params)
    is_cplx = [jnp.iscomplexobj(leaf) for leaf in leaves]
    real_leaves = [jnp.stack([leaf.real, leaf.imag]) if c else leaf
                   for leaf, c in zip(leaves, is_cplx)]
    theta, unravel = ravel_pytree(real_leaves)

    def unflatten(vec):
        rl = unravel(vec)
        out = [r[0] + 1j * r[1] if c else r for r, c in zip(rl, is_cplx)]
        return jax.tree_util.tree_unflatten(treedef, out)

    return theta, unflatten


def _check_inputs(x1, x2):
    x1 = at_precision(jnp.asarray(x1))
    if x1.ndim != 2:
        raise InputError(f"inputs must have shape (n, d), got {tuple(x1.shape)}")
    check_finite("x1", x1)
    if x2 is not None:
        x2 = at_precision(jnp.asarray(x2))
        if x2.ndim != 2 or x2.shape[1] != x1.shape[1]:
            raise InputError(
                f"x2 must have shape (n2, {x1.shape[1]}) to match x1, got {tuple(x2.shape)}")
        check_finite("x2", x2)
    return x1, x2


def _one_amplitude(out):
    """The scalar amplitude of ``psi`` on a batch of one: output ``(1,)`` or ``(1, 1)``."""
    if out.shape not in ((), (1,), (1, 1)):
        raise InputError(f"the wavefunction must return shape (batch,) or (batch, 1), "
                         f"got {tuple(out.shape)} for a batch of 1")
    return out.reshape(())


def check_output_shape(psi: Callable, params, x) -> None:
    """Refuse, in one line, a ``psi`` whose output on ``x`` ``(n, d)`` is not ``(n,)`` or ``(n, 1)``.

    Only shapes are traced (``jax.eval_shape``); nothing is computed.
    """
    out = jax.eval_shape(psi, params, jax.ShapeDtypeStruct(x.shape, x.dtype))
    n = x.shape[0]
    if tuple(out.shape) not in ((n,), (n, 1)):
        raise InputError(f"the wavefunction must return one amplitude per input, shape ({n},) "
                         f"or ({n}, 1), got {tuple(out.shape)} for inputs of shape {tuple(x.shape)}")


def jacobian_fn(psi: Callable, params) -> tuple[Callable, jnp.ndarray]:
    """A jitted ``jac(theta, xb) -> (b, 2, P)``: d(Re ψ, Im ψ)/dθ for a batch of inputs.

    Reverse mode (``jax.jacrev`` of the two real outputs), ``vmap``-ped over the batch.
    ``params`` are first brought to qsntk's precision (:func:`at_precision`); ``theta``
    is the real parameter vector of length P (:func:`realify`).
    """
    theta, unflatten = realify(at_precision(params))

    def reim(th, x):
        out = _one_amplitude(psi(unflatten(th), x[None]))
        return jnp.stack([jnp.real(out), jnp.imag(out)])

    return jax.jit(jax.vmap(jax.jacrev(reim), in_axes=(None, 0))), theta


def _nbytes(leaf) -> int:
    return int(np.prod(leaf.shape, dtype=np.int64)) * np.dtype(leaf.dtype).itemsize


def _real_itemsize(params) -> int:
    """Bytes per entry of the real parameter vector at qsntk's precision."""
    sizes = [np.finfo(_promoted(leaf.dtype)).bits // 8 for leaf in jax.tree_util.tree_leaves(params)
             if jnp.issubdtype(leaf.dtype, jnp.inexact)]
    return max(sizes, default=np.dtype(np.float64).itemsize if precision() == "float64" else 4)


def memory_lower_bound(params, n1: int, n2: int | None = None, *,
                       block_size: int | None = None) -> int:
    """Bytes :func:`real_blocks` must hold at once, at least.

    The parameters as given, their real vector at qsntk's precision (P entries), the
    Jacobian rows formed at once (``2 P`` per row: ``n1`` rows, plus ``n2`` for a cross
    kernel, with ``block_size=None``; ``block_size`` rows, twice, otherwise) and the
    ``(2, 2, n1, n2)`` output. ``params`` may hold ``jax.ShapeDtypeStruct`` leaves
    (``jax.eval_shape`` of an ``init``), so the bound costs no allocation.
    """
    leaves = jax.tree_util.tree_leaves(params)
    isz = _real_itemsize(params)
    P = parameter_count(params)
    m = n1 if n2 is None else n2
    if block_size is None:
        rows = n1 + (0 if n2 is None else n2)
    else:
        rows = min(block_size, n1) + min(block_size, m)
    return sum(_nbytes(leaf) for leaf in leaves) + P * isz + rows * 2 * P * isz + 4 * n1 * m * isz


def _pad_rows(x, size):
    n = x.shape[0]
    return x if n == size else jnp.concatenate([x, jnp.repeat(x[-1:], size - n, axis=0)])


def real_blocks(psi: Callable, params, x1, x2=None, *, block_size: int | None = None):
    """The real blocks ``K_ab(x, x')`` of a wavefunction's tangent kernel.

    Arguments:
        psi: ``psi(params, x) -> (batch,)`` complex (or real) amplitudes; ``(batch, 1)``
            is read as ``(batch,)``.
        params: the parameter pytree (real or complex leaves; a complex leaf counts as
            two real parameters, see the module docstring). Promoted to qsntk's precision.
        x1: inputs, ``(n1, d)``.
        x2: inputs, ``(n2, d)``; ``None`` means ``x1`` (and symmetry is used).
        block_size: rows of the Jacobian formed at once; ``None``: all.

    Returns:
        ``K`` of shape ``(2, 2, n1, n2)``, ``K[a, b] = Σ_i ∂ψ_a(x)/∂θ_i ∂ψ_b(x')/∂θ_i``
        over the real parameters θ_i (eq. 7 of Luo–Halverson via
        :func:`qsntk.kernels.qs.theta_phi`), float64 under the default precision.

    Raises:
        InputError: inputs of the wrong shape or not finite, ``block_size < 1``, an output
            shape other than ``(n,)``/``(n, 1)``, or a job that cannot fit in memory.
    """
    x1, x2 = _check_inputs(x1, x2)
    b = None if block_size is None else check_int_at_least("block_size", block_size, 1)
    sym = x2 is None
    xs2 = x1 if sym else x2
    n1, n2 = x1.shape[0], xs2.shape[0]
    check_memory(f"the empirical kernel of {n1} x {n2} inputs and {parameter_count(params)} "
                 "real parameters", memory_lower_bound(params, n1, None if sym else n2, block_size=b))
    params = at_precision(params)
    check_output_shape(psi, params, x1)
    jac, theta = jacobian_fn(psi, params)
    contract = jax.jit(lambda J1, J2: jnp.einsum("xap,ybp->abxy", J1, J2))
    if b is None:
        J1 = jac(theta, x1)
        J2 = J1 if sym else jac(theta, x2)
        return contract(J1, J2)
    starts1, starts2 = range(0, n1, b), range(0, n2, b)
    out = np.zeros((2, 2, n1, n2), dtype=np.result_type(theta.dtype, np.float32))
    for i in starts1:
        Ji = jac(theta, _pad_rows(x1[i:i + b], b))[: min(b, n1 - i)]
        for j in starts2:
            if sym and j < i:
                continue
            Jj = Ji if (sym and j == i) else jac(theta, _pad_rows(xs2[j:j + b], b))[: min(b, n2 - j)]
            blk = np.asarray(contract(Ji, Jj))
            out[:, :, i:i + b, j:j + b] = blk
            if sym and j > i:
                out[:, :, j:j + b, i:i + b] = blk.transpose(1, 0, 3, 2)
    return jnp.asarray(out)


def parameter_count(params) -> int:
    """Number of real parameters P (complex leaves count twice); from the shapes alone."""
    return sum(int(np.prod(leaf.shape, dtype=np.int64))
               * (2 if jnp.issubdtype(leaf.dtype, jnp.complexfloating) else 1)
               for leaf in jax.tree_util.tree_leaves(params))
