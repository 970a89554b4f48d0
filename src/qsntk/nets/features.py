r"""Random-feature networks whose infinite-width kernels are Gaussian: CosNet and Gauss-net.

**CosNet** (Luo–Halverson eq. 3, after Halverson, arXiv:2112.04527)

.. math::  f(x) = \sum_{i=1}^N a_i \cos\Big(\sum_{j=1}^d w_{ij} x_j + b_i\Big),\qquad
           a_i \sim \mathcal N(0, \sigma_a^2/N),\ w_{ij} \sim \mathcal N(0, \sigma_w^2/d),\
           b_i \sim \mathcal U[-\pi, \pi],

with two-point function (eq. 4) :math:`G^{(2)}(x,y) = \tfrac{\sigma_a^2}{2}\,
e^{-\sigma_w^2 |x-y|^2/(2d)}`.

*A note on eq. 3 as printed.* The paper writes
:math:`\sum_i a_i \sum_j \cos(w_{ij} x_j + b_j)`, with the sum over inputs
outside the cosine and one phase per input. That function is a sum of
single-site terms, :math:`f = \sum_j g_j(x_j)`, whose Schmidt rank across any
cut is at most 2, and whose kernel :math:`\tfrac{\sigma_a^2}{2}\sum_j e^{-\sigma_w^2
(x_j-y_j)^2/(2d)}` is not eq. 4 and does not become i.i.d. as
:math:`\sigma_w\to\infty`. Eq. 4 and the volume-law result are those of
Halverson's Cos-net above (the sum inside the cosine, one phase per hidden
unit), which is what qsntk implements.

**Gauss-net** (Halverson, Maiti, Stoner 2021): the dual of CosNet,

.. math::  f(x) = \sigma_{b,\mathrm{out}}\,\beta + \sum_i a_i\,
           \frac{\exp(w_i\cdot x + b_i)}{\exp(\sigma_b^2 + \sigma_w^2 |x|^2/d)},

with kernel :math:`\sigma_{b,\mathrm{out}}^2 + \sigma_a^2 e^{-\sigma_w^2|x-y|^2/(2d)}`.

Both are written in the NTK parameterization by default (standard-normal
parameters scaled in the forward pass); ``parameterization="standard"`` stores
the scaled parameters instead. The phase ``b`` of CosNet is uniform in both.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from qsntk.config import default_dtype
from qsntk.errors import check_choice, check_int_at_least, check_positive
from qsntk.nets.fc import PARAMETERIZATIONS


def _uniform_phase(key, shape, dtype):
    return jax.random.uniform(key, shape, dtype, minval=-jnp.pi, maxval=jnp.pi)


class _Features(nn.Module):
    """Shared plumbing: readout ``a`` and input weights ``w`` in either parameterization."""

    def _check(self):
        check_int_at_least("width", self.width, 1)
        check_positive("sigma_a", self.sigma_a, strict=False)
        check_positive("sigma_w", self.sigma_w, strict=False)
        check_choice("parameterization", self.parameterization, PARAMETERIZATIONS)

    def _weights(self, d, dtype):
        ntk = self.parameterization == "ntk"
        sw, sa = self.sigma_w / jnp.sqrt(d), self.sigma_a / jnp.sqrt(self.width)
        w = self.param("w", nn.initializers.normal(1.0 if ntk else sw), (d, self.width), dtype)
        a = self.param("a", nn.initializers.normal(1.0 if ntk else sa), (self.width,), dtype)
        return (w * sw, a * sa) if ntk else (w, a)


class CosNet(_Features):
    """CosNet: ``f(x) = Σ_i a_i cos(w_i·x + b_i)`` (eq. 3 of Luo–Halverson, corrected; see module doc).

    Attributes:
        width: N, the number of hidden units.
        sigma_a, sigma_w: readout and input-weight scales.
        parameterization: ``"ntk"`` or ``"standard"``.

    Call: ``(batch, d) -> (batch,)``.
    """

    width: int = 1000
    sigma_a: float = 1.0
    sigma_w: float = 1.0
    parameterization: str = "ntk"

    def __post_init__(self):
        self._check()
        super().__post_init__()

    @nn.compact
    def __call__(self, x):
        single = x.ndim == 1
        x = x[None] if single else x
        dtype = default_dtype()
        w, a = self._weights(x.shape[-1], dtype)
        b = self.param("b", _uniform_phase, (self.width,), dtype)
        out = jnp.cos(x @ w + b) @ a
        return out[0] if single else out


class GaussNet(_Features):
    """Gauss-net: ``f(x) = σ_out β + Σ_i a_i exp(w_i·x + b_i) / exp(σ_b² + σ_w²|x|²/d)``.

    Attributes:
        width, sigma_a, sigma_w, parameterization: as :class:`CosNet`.
        sigma_b: scale of the hidden biases ``b_i ~ N(0, σ_b²)``.
        sigma_out: scale of the output bias (0: none).
    """

    width: int = 1000
    sigma_a: float = 1.0
    sigma_w: float = 1.0
    sigma_b: float = 0.0
    sigma_out: float = 0.0
    parameterization: str = "ntk"

    def __post_init__(self):
        self._check()
        check_positive("sigma_b", self.sigma_b, strict=False)
        check_positive("sigma_out", self.sigma_out, strict=False)
        super().__post_init__()

    @nn.compact
    def __call__(self, x):
        single = x.ndim == 1
        x = x[None] if single else x
        dtype = default_dtype()
        d = x.shape[-1]
        w, a = self._weights(d, dtype)
        ntk = self.parameterization == "ntk"
        b = self.param("b", nn.initializers.normal(1.0 if ntk else self.sigma_b), (self.width,), dtype)
        b = b * self.sigma_b if ntk else b
        log_norm = self.sigma_b**2 + self.sigma_w**2 * jnp.sum(x * x, axis=-1, keepdims=True) / d
        out = jnp.exp(x @ w + b - log_norm) @ a
        if self.sigma_out > 0:
            beta = self.param("beta", nn.initializers.normal(1.0 if ntk else self.sigma_out), (), dtype)
            out = out + (self.sigma_out * beta if ntk else beta)
        return out[0] if single else out
