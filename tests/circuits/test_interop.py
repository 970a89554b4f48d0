"""PennyLane and Qiskit circuits through qsntk, against the frameworks' own values.

Skipped unless the optional extras are installed (``pip install 'qsntk[pennylane]'``,
``pip install 'qsntk[qiskit]'``); verified in a separate venv with both.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from qsntk.circuits import prepare, qntk_stats
from qsntk.circuits.interop import qntk_of_function
from qsntk.errors import InputError


def _pennylane():
    return pytest.importorskip("pennylane", reason="PennyLane not installed (extra qsntk[pennylane])")


def _qiskit():
    return pytest.importorskip("qiskit", reason="Qiskit not installed (extra qsntk[qiskit])")


def _pl_circuit(qml):
    dev = qml.device("default.qubit", wires=3)
    H = qml.Hamiltonian([0.5, 0.3, -0.2], [qml.PauliZ(0) @ qml.PauliZ(1), qml.PauliX(2), qml.PauliY(0)])

    @qml.qnode(dev, interface="jax")
    def circuit(theta):
        qml.Hadamard(0)
        qml.RX(theta[0], 0)
        qml.CNOT([0, 1])
        qml.RY(2 * theta[1] + 0.3, 1)
        qml.CRZ(theta[2], [1, 2])
        qml.PhaseShift(theta[3], 2)
        qml.IsingZZ(theta[4], [0, 2])
        qml.RZ(-0.5 * theta[5], 1)
        return qml.expval(H)

    return circuit


def test_pennylane_qnode_matches_autodiff():
    qml = _pennylane()
    from qsntk.circuits.interop.pennylane import from_qnode, qntk_qnode

    circuit = _pl_circuit(qml)
    theta = jnp.array([0.1, -0.7, 1.3, 0.4, 2.5, -1.1])
    ref = qntk_of_function(circuit, theta)                     # PennyLane's own autodiff
    ours = qntk_qnode(circuit, theta)
    assert np.isclose(ours.eps, ref.value, atol=1e-12)
    np.testing.assert_allclose(ours.grad, ref.grad, atol=1e-12)
    assert np.isclose(ours.K, ref.K, rtol=1e-11)
    assert np.isclose(ours.mu, ref.mu, rtol=1e-9, atol=1e-12)
    conv = from_qnode(circuit, theta)
    assert conv.comp.gates.shape == (7, 8, 8)


def test_pennylane_rejects_shared_parameter():
    qml = _pennylane()
    from qsntk.circuits.interop.pennylane import from_qnode

    dev = qml.device("default.qubit", wires=1)

    @qml.qnode(dev, interface="jax")
    def circuit(theta):
        qml.RX(theta[0], 0)
        qml.RY(theta[0], 0)
        return qml.expval(qml.PauliZ(0))

    with pytest.raises(InputError, match="exactly one gate"):
        from_qnode(circuit, jnp.array([0.3]))


def _qk_circuit(qiskit):
    from qiskit.circuit import Parameter
    from qiskit.quantum_info import SparsePauliOp

    a, b, c, d, e = (Parameter(x) for x in "abcde")
    qc = qiskit.QuantumCircuit(3)
    qc.ry(0.8, 0)
    qc.ry(0.4, 1)
    qc.ry(1.1, 2)
    qc.rx(a, 0)
    qc.cx(0, 1)
    qc.ry(2 * b + 0.3, 1)
    qc.h(2)
    qc.crz(c, 1, 2)
    qc.p(d, 2)
    qc.rzz(e, 0, 2)
    qc.cx(2, 0)
    qc.ry(0.5, 2)
    qc.cx(1, 2)
    qc.h(0)
    obs = SparsePauliOp.from_list([("ZZI", 0.5), ("IIX", 0.3), ("XYZ", -0.2)])
    return qc, obs


def _qk_expectation(qc, obs, theta):
    from qiskit.quantum_info import Statevector

    bound = qc.assign_parameters(dict(zip(qc.parameters, map(float, theta))))
    return float(np.real(Statevector(bound).expectation_value(obs)))


def test_qiskit_circuit_matches_statevector_and_finite_differences():
    qiskit = _qiskit()
    from qsntk.circuits.interop.qiskit import qntk_qiskit

    qc, obs = _qk_circuit(qiskit)
    theta = np.array([0.1, -0.7, 1.3, 0.4, 2.5])
    st = qntk_qiskit(qc, obs, theta)
    assert np.isclose(st.eps, _qk_expectation(qc, obs, theta), atol=1e-12)
    h = 1e-5
    fd = np.array([(_qk_expectation(qc, obs, theta + h * e) - _qk_expectation(qc, obs, theta - h * e)) / (2 * h)
                   for e in np.eye(5)])
    np.testing.assert_allclose(st.grad, fd, atol=1e-8)
    assert np.all(np.abs(fd) > 1e-5)                             # every parameter matters
    assert np.isclose(st.K, fd @ fd, rtol=1e-7)
    # mu = g^T H g: second difference of eps along the gradient direction
    g = np.asarray(st.grad)
    s = 1e-3
    d2 = (_qk_expectation(qc, obs, theta + s * g) - 2 * _qk_expectation(qc, obs, theta)
          + _qk_expectation(qc, obs, theta - s * g)) / s ** 2
    assert np.isclose(st.mu, d2, rtol=1e-5, atol=1e-8)


def test_qiskit_and_pennylane_agree_on_the_same_circuit():
    qml, qiskit = _pennylane(), _qiskit()
    from qsntk.circuits.interop.qiskit import qntk_qiskit

    qc, obs = _qk_circuit(qiskit)
    dev = qml.device("default.qubit", wires=3)
    # Qiskit labels are little-endian: its qubit j is PennyLane wire 2 - j here
    H = qml.Hamiltonian([0.5, 0.3, -0.2], [qml.PauliZ(0) @ qml.PauliZ(1), qml.PauliX(2),
                                           qml.PauliX(0) @ qml.PauliY(1) @ qml.PauliZ(2)])

    @qml.qnode(dev, interface="jax")
    def circuit(theta):
        qml.RY(0.8, 2)
        qml.RY(0.4, 1)
        qml.RY(1.1, 0)
        qml.RX(theta[0], 2)
        qml.CNOT([2, 1])
        qml.RY(2 * theta[1] + 0.3, 1)
        qml.Hadamard(0)
        qml.CRZ(theta[2], [1, 0])
        qml.PhaseShift(theta[3], 0)
        qml.IsingZZ(theta[4], [2, 0])
        qml.CNOT([0, 2])
        qml.RY(0.5, 0)
        qml.CNOT([1, 0])
        qml.Hadamard(2)
        return qml.expval(H)

    theta = jnp.array([0.1, -0.7, 1.3, 0.4, 2.5])
    a, b = qntk_qiskit(qc, obs, theta), qntk_of_function(circuit, theta)
    assert np.isclose(a.eps, b.value, atol=1e-12) and a.K > 0.01
    assert np.isclose(a.K, b.K, rtol=1e-11) and np.isclose(a.mu, b.mu, rtol=1e-9)
