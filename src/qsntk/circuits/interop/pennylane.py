r"""PennyLane QNodes (JAX interface) in qsntk's form.

The QNode's first argument is the parameter vector ``theta``. Its tape is
recorded once; ``jax.jacobian`` of the gate parameters with respect to
``theta`` tells which gate each :math:`\theta_k` drives and with which
coefficient. A gate :math:`U(p)`, :math:`p = c\,\theta_k + b`, with PennyLane
generator ``G`` (:math:`U(p) = A\,e^{ipG}`) becomes ``("param", k, c G)`` followed
by the fixed :math:`A e^{ibG}`; all other gates are fixed matrices. Basis order
follows PennyLane (first wire = most significant bit), like qsntk.

Needs ``pip install qsntk[pennylane]``.

Example::

    conv = from_qnode(qnode, theta)
    stats = qntk_stats(prepare(conv.comp), conv.O, conv.angles(theta), conv.psi0)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from qsntk.circuits.interop import Converted, assemble
from qsntk.circuits.kernel import QNTKStats, prepare, qntk_stats
from qsntk.errors import InputError

__all__ = ["from_qnode", "qntk_qnode"]


def _qml():
    try:
        import pennylane as qml
    except ImportError:  # pragma: no cover - exercised only without the extra
        raise InputError("PennyLane is not installed; pip install 'qsntk[pennylane]'") from None
    return qml


def _expm_i(p, G):
    w, V = np.linalg.eigh(G)
    return (V * np.exp(1j * p * w)) @ V.conj().T


def from_qnode(qnode, theta, *args, **kwargs) -> Converted:
    """Convert ``qnode(theta, *args, **kwargs)`` (one ``qml.expval``) to a :class:`Converted` circuit.

    Arguments:
        qnode: a PennyLane QNode whose first argument is a 1-d parameter array.
        theta: ``(P,)`` parameter values (used to record the tape).

    Raises:
        InputError: not a single expectation value, or a parameter entering
            several gates or non-linearly, or a gate with several driven parameters.
    """
    qml = _qml()
    theta = jnp.asarray(theta, jnp.float64)
    if theta.ndim != 1:
        raise InputError(f"theta must be a 1-d array, got shape {tuple(theta.shape)}")
    record = lambda t: qml.workflow.construct_tape(qnode)(t, *args, **kwargs)
    tape = record(theta)
    if len(tape.measurements) != 1 or not isinstance(tape.measurements[0], qml.measurements.ExpectationMP):
        raise InputError("the QNode must return exactly one qml.expval(...)")
    ops = list(tape.operations)
    counts = [op.num_params for op in ops]

    def params(t):
        ps = [jnp.asarray(p, jnp.float64) for op in record(t).operations for p in op.parameters]
        return jnp.stack(ps) if ps else jnp.zeros((0,))

    J = np.asarray(jax.jacobian(params)(theta))
    p0 = np.asarray(params(theta))
    shift = theta + 0.37 + 0.11 * jnp.arange(theta.size)
    if not np.allclose(np.asarray(params(shift)), p0 + J @ np.asarray(shift - theta), atol=1e-9):
        raise InputError("gate parameters must depend linearly on theta")
    wires = tape.wires
    D = 2 ** len(wires)
    steps, psi0, row = [], None, 0
    for j, op in enumerate(ops):
        rows = J[row:row + counts[j]]
        row += counts[j]
        if isinstance(op, qml.operation.StatePrepBase):
            if steps:
                raise InputError(f"state preparation {op.name} must come first")
            psi0 = np.asarray(op.state_vector(wire_order=wires)).reshape(D)
            continue
        if not np.any(rows):
            steps.append(("fixed", np.asarray(qml.matrix(op, wire_order=wires))))
            continue
        nz = np.flatnonzero(rows)
        if counts[j] != 1 or nz.size != 1:
            raise InputError(f"gate {op.name} must have exactly one parameter driven by one theta entry")
        k, c = int(nz[0]), float(rows[0, nz[0]])
        p = float(p0[row - 1])
        G = np.asarray(qml.matrix(op.generator(), wire_order=wires))
        U = np.asarray(qml.matrix(op, wire_order=wires))
        A = U @ _expm_i(-p, G)
        U2 = np.asarray(qml.matrix(qml.ops.functions.bind_new_parameters(op, [p + 0.7]), wire_order=wires))
        if not np.allclose(U2, A @ _expm_i(p + 0.7, G), atol=1e-10):
            raise InputError(f"gate {op.name} is not of the form A exp(i p G) with its generator")
        b = p - c * float(theta[k])
        steps += [("param", k, c * G), ("fixed", A @ _expm_i(b, G))]
    O = np.asarray(qml.matrix(tape.measurements[0].obs, wire_order=wires))
    return assemble(steps, D, psi0=psi0, O=O)


def qntk_qnode(qnode, theta, *args, with_mu: bool = True, **kwargs) -> QNTKStats:
    """ε, ∂ε/∂θ (in the user's parameter order), K (eq. 6) and μ (eq. 14) of a QNode, via qsntk."""
    conv = from_qnode(qnode, theta, *args, **kwargs)
    st = qntk_stats(prepare(conv.comp), conv.O, conv.angles(theta), conv.psi0, with_mu=with_mu)
    grad = jnp.zeros(len(theta), st.grad.dtype).at[conv.order].add(st.grad)
    return st._replace(grad=grad)
