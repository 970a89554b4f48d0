r"""Fully connected networks in the NTK and the standard parameterization.

The paper's network (Luo–Halverson, sec. 6) is the one-hidden-layer default

.. math::  f(x) = \frac{1}{\sqrt N} W_2\, \sigma\!\Big(\frac{W_1 x}{\sqrt d} + b_1\Big) + b_2,
           \qquad W \sim \mathcal N(0, 0.25),\ b \sim \mathcal N(0, 0.01),\ \sigma = \mathrm{ReLU},

written, as in neural-tangents (which the paper used), in the NTK
parameterization with ``W_std = 0.5`` and ``b_std = 0.1``: parameters are
standard normal and each layer computes

.. math::  h = \frac{\sigma_w}{\sqrt{n_\mathrm{in}}}\, x \omega + \sigma_b \beta .

In the standard parameterization the same distribution of functions is
reached with :math:`\omega \sim \mathcal N(0, \sigma_w^2/n_\mathrm{in})`,
:math:`\beta \sim \mathcal N(0, \sigma_b^2)` and :math:`h = x\omega + \beta`;
the two differ in their tangent kernels (and so in their learning rates), not
in their initial functions.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from qsntk.config import default_dtype
from qsntk.errors import check_choice, check_int_at_least, check_positive
from qsntk.nets.activations import get_activation

PARAMETERIZATIONS = ("ntk", "standard")


class Dense(nn.Module):
    """One affine layer, ``(batch, n_in) -> (batch, features)``, in either parameterization.

    Parameters are called ``kernel`` (shape ``(n_in, features)``) and ``bias``
    (shape ``(features,)``); with ``b_std=None`` there is no bias.
    """

    features: int
    W_std: float = 1.0
    b_std: float | None = 0.0
    parameterization: str = "ntk"
    param_dtype: object = None

    @nn.compact
    def __call__(self, x):
        dtype = self.param_dtype or default_dtype()
        n_in = x.shape[-1]
        ntk = self.parameterization == "ntk"
        w_init = (nn.initializers.normal(1.0) if ntk else
                  nn.initializers.normal(self.W_std / jnp.sqrt(n_in)))
        w = self.param("kernel", w_init, (n_in, self.features), dtype)
        out = x @ w
        if ntk:
            out = out * (self.W_std / jnp.sqrt(n_in))
        if self.b_std is not None:
            b_init = nn.initializers.normal(1.0 if ntk else self.b_std)
            b = self.param("bias", b_init, (self.features,), dtype)
            out = out + (self.b_std * b if ntk else b)
        return out


class FCNet(nn.Module):
    """A fully connected network with scalar output.

    Attributes:
        widths: hidden-layer widths, e.g. ``(5000,)`` for the paper's network.
        activation: a name from :data:`qsntk.nets.activations.ACTIVATIONS`.
        W_std, b_std: weight and bias standard deviations (``b_std=None``: no biases).
        parameterization: ``"ntk"`` (default, as neural-tangents) or ``"standard"``.

    Call:
        ``x`` of shape ``(batch, d)`` gives ``(batch,)``; ``(d,)`` gives a scalar.
    """

    widths: Sequence[int] = (5000,)
    activation: str = "relu"
    W_std: float = 0.5
    b_std: float | None = 0.1
    parameterization: str = "ntk"

    def __post_init__(self):
        check_choice("parameterization", self.parameterization, PARAMETERIZATIONS)
        get_activation(self.activation)
        for w in self.widths:
            check_int_at_least("width", w, 1)
        check_positive("W_std", self.W_std, strict=False)
        if self.b_std is not None:
            check_positive("b_std", self.b_std, strict=False)
        super().__post_init__()

    @nn.compact
    def __call__(self, x):
        single = x.ndim == 1
        h = x[None] if single else x
        phi = get_activation(self.activation)
        kw = dict(W_std=self.W_std, b_std=self.b_std, parameterization=self.parameterization)
        for w in self.widths:
            h = phi(Dense(w, **kw)(h))
        out = Dense(1, **kw)(h)[..., 0]
        return out[0] if single else out


def paper_net(width: int = 5000, *, activation: str = "relu") -> FCNet:
    """The one-hidden-layer network of Luo–Halverson sec. 6 (W_std 0.5, b_std 0.1, NTK param)."""
    return FCNet(widths=(width,), activation=activation, W_std=0.5, b_std=0.1)


def dense_layers(params) -> list[dict]:
    """The ``Dense_i`` parameter dicts of an :class:`FCNet`, in order."""
    p = params["params"] if "params" in params else params
    names = sorted((k for k in p if k.startswith("Dense_")), key=lambda k: int(k.split("_")[1]))
    return [p[k] for k in names]


def init_params(model: nn.Module, d: int, *, key: jax.Array):
    """Initialize ``model`` for ``d`` inputs; keys are keyword-only."""
    return model.init(key, jnp.zeros((1, d), default_dtype()))
