r"""Pauli strings on n qubits: codes, dense matrices, cheap action, sampling.

A Pauli string is an integer array of ``n`` codes, ``0, 1, 2, 3`` for
:math:`I, X, Y, Z`. Qubit 0 is the *leftmost* tensor factor, i.e. the most
significant bit of the computational-basis index (the PennyLane convention;
Qiskit orders qubits the other way, see :mod:`qsntk.circuits.interop`).

A Pauli string maps basis states to basis states up to a phase,
:math:`P|b\rangle = c(b)\,|b \oplus m\rangle`, so :math:`P\psi` costs one
gather and one multiply (:func:`pauli_action`); :math:`e^{i\theta P} =
\cos\theta\, I + i \sin\theta\, P` never needs a dense matrix exponential.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from qsntk.errors import InputError, check_int_at_least

__all__ = ["PAULI_LETTERS", "pauli_matrix", "pauli_action", "apply_pauli", "pauli_rotation",
           "sample_paulis", "pauli_label", "parse_pauli", "pauli_diagonalizer"]

PAULI_LETTERS = "IXYZ"
_SIGMA = np.array([[[1, 0], [0, 1]], [[0, 1], [1, 0]],
                   [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]], dtype=complex)


def _codes(codes) -> np.ndarray:
    c = np.asarray(codes)
    if c.ndim != 1 or c.size == 0 or c.dtype.kind not in "iu" or np.any((c < 0) | (c > 3)):
        raise InputError(f"a Pauli string must be a non-empty 1-d array of codes 0..3, got {codes!r}")
    return c.astype(np.int64)


def pauli_matrix(codes) -> np.ndarray:
    """Dense matrix of a Pauli string.

    Arguments:
        codes: ``(n,)`` integer codes (0=I, 1=X, 2=Y, 3=Z), qubit 0 leftmost.

    Returns:
        ``(2**n, 2**n)`` complex numpy array :math:`\\sigma_{c_0}\\otimes\\cdots\\otimes\\sigma_{c_{n-1}}`.
    """
    out = np.ones((1, 1), dtype=complex)
    for c in _codes(codes):
        out = np.kron(out, _SIGMA[c])
    return out


def pauli_action(codes) -> tuple[np.ndarray, np.ndarray]:
    r"""Permutation and phase with :math:`(P\psi)_j = \mathrm{phase}_j\,\psi_{\mathrm{perm}_j}`.

    Arguments:
        codes: ``(n,)`` Pauli codes.

    Returns:
        ``(perm, phase)``: ``(D,)`` int64 indices :math:`j \oplus m` and ``(D,)``
        complex phases :math:`c(j \oplus m)`, with :math:`D = 2^n`.
    """
    c = _codes(codes)
    n = c.size
    idx = np.arange(2 ** n)
    bits = (idx[:, None] >> (n - 1 - np.arange(n))[None, :]) & 1        # (D, n), qubit 0 = MSB
    flip = np.sum(((c == 1) | (c == 2)) << (n - 1 - np.arange(n)))
    sign = (-1.0) ** np.sum(bits * ((c == 2) | (c == 3)), axis=1)      # (-1)^b for Y and Z
    phase_b = sign * (1j ** int(np.sum(c == 2)))                        # c(b) for every b
    perm = idx ^ flip
    return perm, phase_b[perm].astype(complex)


def apply_pauli(perm, phase, psi):
    """:math:`P\\psi` from :func:`pauli_action` output; ``psi`` is ``(..., D)``."""
    return phase * jnp.take(psi, perm, axis=-1)


def pauli_rotation(perm, phase, theta, psi):
    r""":math:`e^{i\theta P}\psi = \cos\theta\,\psi + i\sin\theta\,P\psi` (``psi`` is ``(..., D)``)."""
    theta = jnp.asarray(theta)[..., None]
    return jnp.cos(theta) * psi + 1j * jnp.sin(theta) * apply_pauli(perm, phase, psi)


def pauli_diagonalizer(codes) -> tuple[np.ndarray, np.ndarray]:
    r"""Exact eigendecomposition :math:`P = V\,\mathrm{diag}(s)\,V^\dagger` of a Pauli string.

    ``V`` is a tensor product of one-qubit Cliffords (``H`` for X, ``SH`` for Y,
    ``I`` for I and Z) and ``s`` a ±1 vector, so no numerical eigensolver is used.

    Returns:
        ``(V, s)``: ``(D, D)`` complex unitary and ``(D,)`` real eigenvalues.
    """
    h = np.array([[1, 1], [1, -1]], dtype=complex) / np.sqrt(2)
    sh = np.diag([1, 1j]) @ h
    one = [np.eye(2, dtype=complex), h, sh, np.eye(2, dtype=complex)]
    diag = [np.ones(2), np.array([1.0, -1.0])]
    V, s = np.ones((1, 1), dtype=complex), np.ones(1)
    for c in _codes(codes):
        V = np.kron(V, one[c])
        s = np.kron(s, diag[int(c != 0)])
    return V, s


def sample_paulis(*, key, n_qubits: int, shape=(), include_identity: bool = True):
    """Uniformly random Pauli strings.

    Arguments:
        key: a ``jax.random`` key.
        n_qubits: number of qubits ``n``.
        shape: batch shape of the sample.
        include_identity: if false, draw uniformly from the :math:`4^n - 1`
            non-identity strings (a generator equal to the identity would leave
            its angle without effect).

    Returns:
        ``shape + (n,)`` int64 array of Pauli codes.
    """
    n = check_int_at_least("n_qubits", n_qubits, 1)
    if n > 30:
        raise InputError(f"n_qubits must be <= 30 for Pauli sampling, got {n}")
    lo = 0 if include_identity else 1
    k = jax.random.randint(key, tuple(shape), lo, 4 ** n, dtype=jnp.int64)
    return (k[..., None] // (4 ** (n - 1 - jnp.arange(n)))) % 4


def pauli_label(codes) -> str:
    """``"XIZY"``-style label of a Pauli string (qubit 0 first)."""
    return "".join(PAULI_LETTERS[c] for c in _codes(codes))


def parse_pauli(label: str) -> np.ndarray:
    """Inverse of :func:`pauli_label`; raises :class:`InputError` on bad letters."""
    if not label or any(ch not in PAULI_LETTERS for ch in label.upper()):
        raise InputError(f"Pauli label must be a non-empty string over I, X, Y, Z, got {label!r}")
    return np.array([PAULI_LETTERS.index(ch) for ch in label.upper()], dtype=np.int64)
