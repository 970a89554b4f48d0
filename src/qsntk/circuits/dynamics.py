r"""Gradient-descent dynamics of the residual (eqs. 4, 7, 10 of Liu et al.).

One step of eq. 4, :math:`\theta \leftarrow \theta - \eta\,\varepsilon\,\nabla\varepsilon`,
changes the residual by :math:`\delta\varepsilon = -\eta K\varepsilon + \tfrac12\eta^2\varepsilon^2\mu + \dots`
(eq. 13); with a frozen kernel :math:`\varepsilon(t) = (1-\eta K)^t\varepsilon(0)` (eq. 7).
For the supervised loss of eq. 3 the step is
:math:`\theta \leftarrow \theta - \eta\sum_\delta \varepsilon_\delta\nabla\varepsilon_\delta`
and the frozen-kernel solution is :math:`\varepsilon(t) = (1-\eta K)^t\varepsilon(0)` with the kernel matrix.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp

from qsntk.circuits.kernel import prepare, residual_and_grad

__all__ = ["GDTrace", "gradient_descent", "gradient_descent_batch", "gradient_descent_supervised"]


class GDTrace(NamedTuple):
    """A gradient-descent run.

    Attributes:
        eps: ``(T + 1,)`` residual :math:`\\varepsilon(t)`, ``t = 0..T`` (``(T + 1, N)`` supervised).
        K: ``(T + 1,)`` QNTK :math:`K(t)` (eq. 6; the trace of the kernel matrix, supervised).
        theta: ``(L,)`` angles after ``T`` steps.
    """

    eps: jax.Array
    K: jax.Array
    theta: jax.Array


def gradient_descent(comp, O, theta0, psi0, target, *, eta: float, steps: int) -> GDTrace:
    """``steps`` steps of eq. 4 from ``theta0`` (one initialization).

    Arguments:
        comp: compiled circuit (pass ``prepare(comp)`` for the fast path).
        O: ``(D, D)`` observable; theta0: ``(L,)``; psi0: ``(D,)``; target: :math:`O_0`.
        eta: learning rate :math:`\\eta`; steps: number of steps ``T`` (static).

    Returns:
        :class:`GDTrace` with ``eps`` and ``K`` of shape ``(T + 1,)``.
    """

    def step(theta, _):
        eps, g = residual_and_grad(comp, O, theta, psi0, target)
        return theta - eta * eps * g, (eps, jnp.dot(g, g))

    theta, (eps, K) = jax.lax.scan(step, theta0, None, length=steps)
    e_end, g_end = residual_and_grad(comp, O, theta, psi0, target)
    return GDTrace(jnp.append(eps, e_end), jnp.append(K, jnp.dot(g_end, g_end)), theta)


def gradient_descent_batch(comp, O, thetas0, psi0, target, *, eta: float, steps: int) -> GDTrace:
    """:func:`gradient_descent` for a batch of initializations ``thetas0`` ``(B, L)`` (jit-compiled)."""
    return _gd_batch(prepare(comp), O, thetas0, psi0, target, eta, steps=steps)


@partial(jax.jit, static_argnames=("steps",))
def _gd_batch(comp, O, thetas0, psi0, target, eta, *, steps):
    run = lambda th: gradient_descent(comp, O, th, psi0, target, eta=eta, steps=steps)
    return jax.vmap(run)(thetas0)


def gradient_descent_supervised(comp, O, theta0, inputs, targets, *, eta: float,
                                steps: int) -> GDTrace:
    """Gradient descent on the supervised loss of eq. 3 (one output, ``O_i = O``).

    Arguments:
        inputs: ``(N, D)`` embedded inputs; targets: ``(N,)`` labels :math:`y_\\delta`.

    Returns:
        :class:`GDTrace` with ``eps`` of shape ``(T + 1, N)`` and ``K`` the kernel trace.
    """
    def eg(theta):
        return jax.vmap(lambda psi, y: residual_and_grad(comp, O, theta, psi, y))(inputs, targets)

    def step(theta, _):
        eps, J = eg(theta)
        return theta - eta * (eps @ J), (eps, jnp.sum(J * J))

    theta, (eps, K) = jax.lax.scan(step, theta0, None, length=steps)
    e_end, J_end = eg(theta)
    return GDTrace(jnp.concatenate([eps, e_end[None]]), jnp.append(K, jnp.sum(J_end * J_end)), theta)
