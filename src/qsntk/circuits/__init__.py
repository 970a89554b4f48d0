r"""QNTK of parameterized quantum circuits (Liu, Najafi, Sharma, Tacchino, Jiang, Mezzacapo,
PRL 130, 150601 (2023): "Analytic theory for the dynamics of wide quantum neural networks").

Circuits (eq. 1, eq. 20): :math:`U(\theta) = W_1 e^{i\theta_1 X_1} W_2 e^{i\theta_2 X_2}\cdots W_L e^{i\theta_L X_L}`
(left to right; layer ``L`` acts first on the input), Haar-random ``W``, Pauli ``X``.

* :mod:`~qsntk.circuits.model` -- :class:`PauliCircuit`, :class:`Observable`, the
  :class:`Compiled` form, samplers, dense unitaries.
* :mod:`~qsntk.circuits.kernel` -- residual ε (eq. 2), adjoint gradient (eq. 8), QNTK K (eq. 6),
  dQNTK μ (eq. 14, Hessian-vector products), supervised kernel matrix (eq. 3).
* :mod:`~qsntk.circuits.dynamics` -- gradient descent ε(t) (eq. 4).
* :mod:`~qsntk.circuits.theory` -- eqs. 9, 11, 12, 15, 17, 21 as printed and exact finite-D forms.
* :mod:`~qsntk.circuits.weingarten`, :mod:`~qsntk.circuits.haar`, :mod:`~qsntk.circuits.paulis` -- tools.
* :mod:`~qsntk.circuits.interop` -- PennyLane QNodes and Qiskit circuits (optional extras).
* :mod:`~qsntk.circuits.drivers` -- run directories behind ``qsntk qntk`` and the Liu et al. figures.
"""

from qsntk.circuits.dynamics import GDTrace, gradient_descent, gradient_descent_batch, gradient_descent_supervised
from qsntk.circuits.haar import haar_frame, haar_state, haar_unitary
from qsntk.circuits.model import (Compiled, Observable, PauliCircuit, compile_circuit,
                                  compile_generators, observable_matrix, random_circuit,
                                  random_observable, unitary, unitary_compiled)
from qsntk.circuits.paulis import pauli_label, pauli_matrix, parse_pauli, sample_paulis
from qsntk.circuits.kernel import (QNTKStats, dqntk, evolve, hvp, jacobian_inputs, kernel_matrix,
                                 prepare, qntk, qntk_batch, qntk_stats, residual, residual_and_grad)

__all__ = ["Compiled", "GDTrace", "Observable", "PauliCircuit", "QNTKStats", "compile_circuit",
           "compile_generators", "dqntk", "evolve", "gradient_descent", "gradient_descent_batch",
           "gradient_descent_supervised", "haar_frame", "haar_state", "haar_unitary", "hvp",
           "jacobian_inputs", "kernel_matrix", "observable_matrix", "parse_pauli", "pauli_label",
           "pauli_matrix", "prepare", "qntk", "qntk_batch", "qntk_stats", "random_circuit",
           "random_observable", "residual", "residual_and_grad", "sample_paulis", "unitary",
           "unitary_compiled"]
