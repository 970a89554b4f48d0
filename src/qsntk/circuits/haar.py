r"""Haar-random unitaries and states.

:func:`haar_unitary` uses the QR decomposition of a complex Ginibre matrix
:math:`G = QR` followed by the phase fix :math:`Q \to Q\,\mathrm{diag}(R_{ii}/|R_{ii}|)`
(Mezzadri, Notices AMS 54, 592 (2007)); without the fix the distribution of
``Q`` depends on the QR routine's sign convention and is *not* Haar.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from qsntk.config import complex_dtype
from qsntk.errors import check_int_at_least

__all__ = ["ginibre", "haar_unitary", "haar_state", "haar_frame"]


def _complex_normal(key, shape):
    cdt = complex_dtype()
    rdt = jnp.float64 if cdt == jnp.complex128 else jnp.float32
    kr, ki = jax.random.split(key)
    re = jax.random.normal(kr, tuple(shape), dtype=rdt)
    im = jax.random.normal(ki, tuple(shape), dtype=rdt)
    return ((re + 1j * im) / jnp.sqrt(2.0)).astype(cdt)


def ginibre(*, key, dim: int, shape=()):
    """Complex Ginibre matrices with i.i.d. entries of unit variance, ``shape + (dim, dim)``."""
    return _complex_normal(key, tuple(shape) + (dim, dim))


def haar_unitary(*, key, dim: int, shape=()):
    """Haar-random unitaries.

    Arguments:
        key: a ``jax.random`` key.
        dim: matrix size ``D``.
        shape: batch shape.

    Returns:
        ``shape + (D, D)`` complex array, each matrix Haar-distributed on U(D).
    """
    dim = check_int_at_least("dim", dim, 1)
    q, r = jnp.linalg.qr(ginibre(key=key, dim=dim, shape=shape))
    d = jnp.diagonal(r, axis1=-2, axis2=-1)
    return q * (d / jnp.abs(d))[..., None, :]


def haar_frame(*, key, dim: int, count: int):
    """``count`` orthonormal Haar-random vectors in C^D, shape ``(count, D)``.

    They are the first ``count`` columns of a Haar unitary, so any one of them
    is a Haar-random state and together they are exactly orthonormal.
    """
    count = check_int_at_least("count", count, 1)
    dim = check_int_at_least("dim", dim, count)
    return haar_unitary(key=key, dim=dim)[:, :count].T


def haar_state(*, key, dim: int, shape=()):
    """Haar-random pure states, ``shape + (D,)`` (normalized complex Gaussians)."""
    dim = check_int_at_least("dim", dim, 1)
    g = _complex_normal(key, tuple(shape) + (dim,))
    return g / jnp.linalg.norm(g, axis=-1, keepdims=True)
