r"""QNTK of circuits written in other frameworks.

* :func:`qntk_of_function` -- K (eq. 6) and μ (eq. 14, Hessian-vector product) of any
  differentiable JAX function ``theta -> <O>``, e.g. a PennyLane QNode with the JAX
  interface, by ``jax.grad`` and ``jax.jvp`` of ``jax.grad``.
* :mod:`qsntk.circuits.interop.pennylane` -- a QNode converted to qsntk's
  :class:`~qsntk.circuits.model.Compiled` form (needs ``pip install qsntk[pennylane]``).
* :mod:`qsntk.circuits.interop.qiskit` -- a parameterized ``QuantumCircuit`` and a
  ``SparsePauliOp`` converted the same way (needs ``pip install qsntk[qiskit]``).

Converted circuits run on the fast kernels of :mod:`qsntk.circuits.kernel`. A circuit
qualifies when every trainable parameter enters exactly one gate, linearly, and that
gate is :math:`A\,e^{i x G}` with fixed ``A`` and Hermitian ``G`` (all rotation,
phase and controlled-rotation gates).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from qsntk.circuits.kernel import hvp, prepare
from qsntk.circuits.model import Compiled, compile_generators
from qsntk.errors import InputError

__all__ = ["Converted", "assemble", "qntk_of_function", "FunctionQNTK"]


class Converted(NamedTuple):
    """A foreign circuit in qsntk's form.

    Attributes:
        comp: :class:`~qsntk.circuits.model.Compiled` circuit (paper order, eq. 1).
        O: ``(D, D)`` observable.
        psi0: ``(D,)`` input state.
        order: ``(L,)`` int; compiled angle ``l`` is ``theta_user[order[l]]``.
        scale: ``(L,)`` float; the compiled generator already carries the
            parameter's linear coefficient, so this is 1 (kept for clarity).
    """

    comp: Compiled
    O: jax.Array
    psi0: jax.Array
    order: np.ndarray
    scale: np.ndarray

    def angles(self, theta_user):
        """Compiled angles from the user's parameter vector."""
        return jnp.asarray(theta_user, jnp.float64)[self.order]

    def fast(self):
        """The same with the circuit in its fastest exact form (see :func:`~qsntk.circuits.kernel.prepare`)."""
        return self._replace(comp=prepare(self.comp))


def assemble(steps, dim: int, psi0=None, O=None) -> Converted:
    """Build a :class:`Converted` circuit from gates listed in the order they act.

    Arguments:
        steps: sequence of ``("fixed", U)`` (``(D, D)`` unitary) and
            ``("param", k, G)`` meaning :math:`e^{i\\theta_k G}` (``(D, D)`` Hermitian ``G``),
            in the order they are applied to the input state.
        dim: Hilbert-space dimension ``D``.
        psi0: input state (default :math:`|0\\cdots0\\rangle`).
        O: observable ``(D, D)``.

    Returns:
        :class:`Converted` with :math:`U = W_1 e^{i\\theta_{k_1} X_1}\\cdots W_L e^{i\\theta_{k_L} X_L}`
        (the last-applied parameterized gate is layer 1) and the fixed gates before the
        first parameterized gate folded into ``psi0``.
    """
    eye = np.eye(dim, dtype=complex)
    pending, Ws, Xs, ks = eye, [], [], []
    psi = np.zeros(dim, complex) if psi0 is None else np.asarray(psi0, complex)
    if psi0 is None:
        psi[0] = 1.0
    seen_param = False
    for step in steps:
        if step[0] == "fixed":
            pending = np.asarray(step[1], complex) @ pending
        elif step[0] == "param":
            if not seen_param:
                psi, pending, seen_param = pending @ psi, eye, True
            else:
                Ws.append(pending)
                pending = eye
            ks.append(int(step[1]))
            Xs.append(np.asarray(step[2], complex))
        else:
            raise InputError(f"unknown step kind {step[0]!r}")
    if not Xs:
        raise InputError("the circuit has no trainable gate")
    Ws.append(pending)
    # acting order: X_1st, W_1st, X_2nd, W_2nd, ...; paper order reverses it
    W = np.stack(Ws[::-1])
    X = np.stack(Xs[::-1])
    order = np.asarray(ks[::-1], dtype=np.int64)
    if len(set(ks)) != len(ks):
        raise InputError("every trainable parameter must enter exactly one gate")
    Omat = jnp.asarray(O, jnp.complex128)
    return Converted(compile_generators(W, X), Omat, jnp.asarray(psi), order, np.ones(len(ks)))


class FunctionQNTK(NamedTuple):
    """``value`` ε, ``grad`` ``(P,)``, ``K`` (eq. 6), ``mu`` (eq. 14) of a scalar function."""

    value: jax.Array
    grad: jax.Array
    K: jax.Array
    mu: jax.Array


def qntk_of_function(f, theta, *, with_mu: bool = True) -> FunctionQNTK:
    """QNTK and dQNTK of any scalar JAX function ``f(theta)`` (e.g. a JAX-interface QNode).

    Uses ``jax.value_and_grad`` and, for μ, one Hessian-vector product
    (``jax.jvp`` of ``jax.grad``) along the gradient; no Hessian is formed.
    """
    theta = jnp.asarray(theta)
    val, g = jax.value_and_grad(f)(theta)
    K = jnp.vdot(g, g).real
    mu = jnp.vdot(g, hvp(f, theta, g)).real if with_mu else jnp.nan
    return FunctionQNTK(val, g, K, mu)
