r"""Qiskit parameterized circuits in qsntk's form.

Every instruction becomes a full-register matrix (``qiskit.quantum_info.Operator``,
Qiskit's little-endian basis order, which ``SparsePauliOp.to_matrix`` shares; the
input :math:`|0\cdots0\rangle` is the same in both orders). A gate whose one free
parameter is :math:`x = c\,\theta_k + b` is written :math:`U(x) = U(0)\,e^{ixG}` with
:math:`G = -i\log(U(0)^\dagger U(1))` (Schur form, exact when the eigenvalues of G
lie in :math:`(-\pi, \pi)`, as for every rotation, phase and controlled-rotation gate),
checked at a third value of x. The user's parameter order is ``circuit.parameters``.

Needs ``pip install qsntk[qiskit]``.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import scipy.linalg

from qsntk.circuits.interop import Converted, assemble
from qsntk.circuits.kernel import QNTKStats, prepare, qntk_stats
from qsntk.errors import InputError

__all__ = ["from_qiskit", "qntk_qiskit"]

_SKIP = {"barrier", "delay"}


def _qiskit():
    try:
        import qiskit
        from qiskit.quantum_info import Operator
    except ImportError:  # pragma: no cover - exercised only without the extra
        raise InputError("Qiskit is not installed; pip install 'qsntk[qiskit]'") from None
    return qiskit, Operator


def _full(op, qargs, n, QuantumCircuit, Operator):
    qc = QuantumCircuit(n)
    qc.append(op, qargs)
    return np.asarray(Operator(qc).data)


def _with_value(op, index, value):
    new = op.copy()
    params = list(new.params)
    params[index] = float(value)
    new.params = params
    return new


def from_qiskit(circuit, observable) -> Converted:
    """Convert a parameterized ``QuantumCircuit`` and an observable to a :class:`Converted` circuit.

    Arguments:
        circuit: ``qiskit.QuantumCircuit`` without measurements; each ``Parameter``
            must enter exactly one gate, linearly.
        observable: ``SparsePauliOp`` (or anything with ``to_matrix()``) or a ``(D, D)`` array.

    Returns:
        :class:`Converted`; angles in the order of ``circuit.parameters``.
    """
    qiskit, Operator = _qiskit()
    n = circuit.num_qubits
    D = 2 ** n
    index = {p: k for k, p in enumerate(circuit.parameters)}
    steps = []
    for inst in circuit.data:
        op = inst.operation
        if op.name in _SKIP:
            continue
        if op.name in ("measure", "reset") or not hasattr(op, "params"):
            raise InputError(f"instruction {op.name!r} is not a unitary gate")
        qargs = [circuit.find_bit(q).index for q in inst.qubits]
        free = [i for i, p in enumerate(op.params)
                if isinstance(p, qiskit.circuit.ParameterExpression) and p.parameters]
        if not free:
            steps.append(("fixed", _full(op, qargs, n, qiskit.QuantumCircuit, Operator)))
            continue
        if len(free) != 1 or len(op.params[free[0]].parameters) != 1:
            raise InputError(f"gate {op.name!r} must depend on exactly one Parameter")
        i = free[0]
        expr = op.params[i]
        (par,) = expr.parameters
        try:
            c = float(expr.gradient(par))
            b = float(expr.bind({par: 0.0}))
        except TypeError:
            raise InputError(f"gate {op.name!r}: parameter {par.name} must enter linearly") from None
        U0 = _full(_with_value(op, i, 0.0), qargs, n, qiskit.QuantumCircuit, Operator)
        U1 = _full(_with_value(op, i, 1.0), qargs, n, qiskit.QuantumCircuit, Operator)
        T, Z = scipy.linalg.schur(U0.conj().T @ U1, output="complex")
        G = (Z * np.angle(np.diag(T))) @ Z.conj().T
        G = (G + G.conj().T) / 2
        x = 0.61
        Ux = _full(_with_value(op, i, x), qargs, n, qiskit.QuantumCircuit, Operator)
        w, V = np.linalg.eigh(G)
        if not np.allclose(Ux, U0 @ ((V * np.exp(1j * x * w)) @ V.conj().T), atol=1e-9):
            raise InputError(f"gate {op.name!r} is not of the form U(0) exp(i x G)")
        fixed = U0 @ ((V * np.exp(1j * b * w)) @ V.conj().T)
        steps += [("param", index[par], c * G), ("fixed", fixed)]
    O = observable.to_matrix() if hasattr(observable, "to_matrix") else np.asarray(observable)
    O = np.asarray(O, complex)
    if O.shape != (D, D):
        raise InputError(f"observable must be {D}x{D} for {n} qubits, got shape {O.shape}")
    return assemble(steps, D, O=O)


def qntk_qiskit(circuit, observable, theta, *, with_mu: bool = True) -> QNTKStats:
    """ε, gradient (order of ``circuit.parameters``), K (eq. 6) and μ (eq. 14) of a Qiskit circuit."""
    conv = from_qiskit(circuit, observable)
    theta = jnp.asarray(theta, jnp.float64)
    if theta.shape != (len(circuit.parameters),):
        raise InputError(f"theta must have shape ({len(circuit.parameters)},), got {tuple(theta.shape)}")
    st = qntk_stats(prepare(conv.comp), conv.O, conv.angles(theta), conv.psi0, with_mu=with_mu)
    grad = jnp.zeros(theta.shape, st.grad.dtype).at[conv.order].add(st.grad)
    return st._replace(grad=grad)
