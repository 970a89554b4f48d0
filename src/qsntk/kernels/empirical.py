r"""Empirical QS-NTK of any JAX wavefunction, by blocked Jacobian contraction.

Works for any ``psi(params, x) -> (batch,) complex`` (see
:func:`qsntk.nets.as_wavefunction`): real–imaginary pairs, complex heads,
NetKet log-amplitude models. Complex parameter leaves count as two real
parameters (real and imaginary part).

Memory: with ``block_size=b`` the Jacobian is formed ``b`` rows at a time, so
peak memory is :math:`O(n_1 n_2 + b P)`; with ``block_size=None`` the whole
:math:`n \times P` Jacobian is formed once (faster, more memory). For the dense
networks of :mod:`qsntk.nets`, :mod:`qsntk.kernels.structured` is much faster.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from qsntk.errors import InputError, check_finite, check_int_at_least


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
    x1 = jnp.asarray(x1)
    if x1.ndim != 2:
        raise InputError(f"inputs must have shape (n, d), got {tuple(x1.shape)}")
    check_finite("x1", x1)
    if x2 is not None:
        x2 = jnp.asarray(x2)
        if x2.ndim != 2 or x2.shape[1] != x1.shape[1]:
            raise InputError(
                f"x2 must have shape (n2, {x1.shape[1]}) to match x1, got {tuple(x2.shape)}")
        check_finite("x2", x2)
    return x1, x2


def jacobian_fn(psi: Callable, params) -> tuple[Callable, jnp.ndarray]:
    """A jitted ``jac(theta, xb) -> (b, 2, P)``: d(Re ψ, Im ψ)/dθ for a batch of inputs."""
    theta, unflatten = realify(params)

    def reim(th, x):
        out = psi(unflatten(th), x[None])[0]
        return jnp.stack([jnp.real(out), jnp.imag(out)])

    return jax.jit(jax.vmap(jax.jacrev(reim), in_axes=(None, 0))), theta


def _pad_rows(x, size):
    n = x.shape[0]
    return x if n == size else jnp.concatenate([x, jnp.repeat(x[-1:], size - n, axis=0)])


def real_blocks(psi: Callable, params, x1, x2=None, *, block_size: int | None = None):
    """The real blocks ``K_ab(x, x')`` of a wavefunction's tangent kernel.

    Arguments:
        psi: ``psi(params, x) -> (batch,)`` complex (or real) amplitudes.
        params: the parameter pytree (real or complex leaves).
        x1: inputs, ``(n1, d)``.
        x2: inputs, ``(n2, d)``; ``None`` means ``x1`` (and symmetry is used).
        block_size: rows of the Jacobian formed at once; ``None``: all.

    Returns:
        ``K`` of shape ``(2, 2, n1, n2)``, ``K[a, b] = Σ_i ∂ψ_a(x)/∂θ_i ∂ψ_b(x')/∂θ_i``.
    """
    x1, x2 = _check_inputs(x1, x2)
    jac, theta = jacobian_fn(psi, params)
    contract = jax.jit(lambda J1, J2: jnp.einsum("xap,ybp->abxy", J1, J2))
    if block_size is None:
        J1 = jac(theta, x1)
        J2 = J1 if x2 is None else jac(theta, x2)
        return contract(J1, J2)
    b = check_int_at_least("block_size", block_size, 1)
    sym = x2 is None
    xs2 = x1 if sym else x2
    n1, n2 = x1.shape[0], xs2.shape[0]
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
    """Number of real parameters P (complex leaves count twice)."""
    return int(realify(params)[0].size)
