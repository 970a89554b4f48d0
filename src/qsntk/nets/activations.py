"""Pointwise activations by name.

Every activation used by qsntk's networks is a named, differentiable JAX
function. Their infinite-width kernels live in :mod:`qsntk.kernels.infinite`
(closed forms where they exist, Gauss–Hermite quadrature otherwise).
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from qsntk.errors import check_choice

ACTIVATIONS: dict[str, Callable] = {
    "relu": jax.nn.relu,
    "erf": jax.scipy.special.erf,
    "tanh": jnp.tanh,
    "sin": jnp.sin,
    "cos": jnp.cos,
    "identity": lambda u: u,
}


def get_activation(name: str) -> Callable:
    """The activation function called ``name`` (see :data:`ACTIVATIONS`)."""
    check_choice("activation", name, ACTIVATIONS)
    return ACTIVATIONS[name]
