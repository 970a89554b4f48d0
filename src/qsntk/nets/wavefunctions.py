r"""From networks to wavefunctions: real–imaginary pairs, complex heads, log-amplitudes.

qsntk's kernels take a wavefunction as a pure function ``psi(params, x)`` of a
parameter pytree and a batch of inputs ``x`` of shape ``(batch, d)``, returning
complex amplitudes of shape ``(batch,)``. Parameters are real (a complex leaf
counts as two real parameters, its real and imaginary parts). This module
builds such functions from flax modules:

* :class:`RealImagPair` -- :math:`\psi = \psi_1 + i\psi_2` from two independent
  real networks (the paper's choice, sec. 6);
* :class:`ComplexHead` -- one network with two real outputs read as
  :math:`\mathrm{Re}\,\psi` and :math:`\mathrm{Im}\,\psi`;
* :class:`LogAmplitude` -- :math:`\psi = \exp \log\psi` for a model that returns
  :math:`\log\psi`, as every NetKet model does;
* :func:`as_wavefunction` -- a pure ``psi(params, x)`` from any of these, or
  from a NetKet/flax model (``log=True``).
"""

from __future__ import annotations

from typing import Callable

import flax.linen as nn
import jax.numpy as jnp

from qsntk.nets.fc import FCNet, paper_net


class RealImagPair(nn.Module):
    """``ψ(x) = ψ1(x) + i ψ2(x)`` from two independent real networks ``re`` and ``im``.

    Parameters live under ``params["params"]["re"]`` and ``["im"]``.
    """

    re: nn.Module
    im: nn.Module

    def __call__(self, x):
        return self.re(x) + 1j * self.im(x)


class ComplexHead(nn.Module):
    """One network with complex output: ``body`` maps ``(batch, d) -> (batch, 2)``."""

    body: nn.Module

    def __call__(self, x):
        out = self.body(x)
        return out[..., 0] + 1j * out[..., 1]


class ComplexFCNet(nn.Module):
    """A fully connected network whose last layer has two outputs, ``ψ = f_0 + i f_1``.

    Same attributes as :class:`~qsntk.nets.fc.FCNet`; hidden layers are shared
    between the real and the imaginary part (so Θ ≠ 0 and K12 ≠ 0 in general).
    """

    widths: tuple = (1000,)
    activation: str = "relu"
    W_std: float = 0.5
    b_std: float | None = 0.1
    parameterization: str = "ntk"

    @nn.compact
    def __call__(self, x):
        from qsntk.nets.activations import get_activation
        from qsntk.nets.fc import Dense

        single = x.ndim == 1
        h = x[None] if single else x
        kw = dict(W_std=self.W_std, b_std=self.b_std, parameterization=self.parameterization)
        for w in self.widths:
            h = get_activation(self.activation)(Dense(w, **kw)(h))
        out = Dense(2, **kw)(h)
        psi = out[..., 0] + 1j * out[..., 1]
        return psi[0] if single else psi


class LogAmplitude(nn.Module):
    """``ψ = exp(model(x))`` for a ``model`` that returns ``log ψ`` (NetKet's convention)."""

    model: nn.Module

    def __call__(self, x):
        return jnp.exp(self.model(x))


def paper_pair(width: int = 5000, *, activation: str = "relu") -> RealImagPair:
    """The paper's wavefunction: two independent :func:`~qsntk.nets.fc.paper_net` networks."""
    return RealImagPair(re=paper_net(width, activation=activation),
                        im=paper_net(width, activation=activation))


def as_wavefunction(model: nn.Module, *, log: bool = False) -> Callable:
    """A pure function ``psi(params, x) -> (batch,) complex`` from a flax module.

    Arguments:
        model: a flax module returning amplitudes (real or complex), or, with
            ``log=True``, log-amplitudes (any NetKet model).
        log: exponentiate the model's output.

    Returns:
        ``psi(params, x)`` where ``params`` is what ``model.init`` returned.
    """
    if log:
        return lambda params, x: jnp.exp(model.apply(params, x))
    return lambda params, x: model.apply(params, x) + 0j


__all__ = ["RealImagPair", "ComplexHead", "ComplexFCNet", "LogAmplitude", "FCNet",
           "paper_pair", "as_wavefunction"]
