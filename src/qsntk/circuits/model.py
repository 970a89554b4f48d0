r"""The circuits of Liu et al., eq. 1 and eq. 20, and their compiled form.

**Ordering convention.** Eq. 1 of Liu et al. writes
:math:`U(\vec\theta) = \prod_{\ell=1}^{L} W_\ell\, e^{i\theta_\ell X_\ell}`, and
eq. 8 (with :math:`U_{-,\ell} = \prod_{k\le\ell} W_k U_k`,
:math:`U_{+,\ell} = \prod_{k>\ell} W_k U_k`, :math:`U = U_{-,\ell} U_{+,\ell}`)
fixes the product to run left to right:

.. math:: U(\vec\theta) = W_1 e^{i\theta_1 X_1}\, W_2 e^{i\theta_2 X_2} \cdots W_L e^{i\theta_L X_L}.

Acting on :math:`|\psi_0\rangle`, layer ``L`` is applied *first* and layer 1
last (next to the observable). Arrays are indexed in the paper's order:
``W[l-1]``, ``generators[l-1]`` and ``theta[l-1]`` belong to layer ``l``.

**Compiled form.** Writing each generator as :math:`X_\ell = V_\ell\,\mathrm{diag}(s_\ell)\,V_\ell^\dagger`,

.. math:: U(\vec\theta) = G_0\, e^{i\theta_1 S_1}\, G_1\, e^{i\theta_2 S_2} \cdots e^{i\theta_L S_L}\, G_L,
   \qquad G_0 = W_1 V_1,\ G_\ell = V_\ell^\dagger W_{\ell+1} V_{\ell+1},\ G_L = V_L^\dagger,

with :math:`S_\ell = \mathrm{diag}(s_\ell)`. Each layer then costs one dense
matrix–vector product and one elementwise phase; :class:`Compiled` is also the
form PennyLane and Qiskit circuits are converted to.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from qsntk.circuits.haar import haar_unitary
from qsntk.circuits.paulis import pauli_matrix, sample_paulis
from qsntk.config import complex_dtype, default_dtype
from qsntk.errors import InputError, check_int_at_least

__all__ = ["PauliCircuit", "Observable", "Compiled", "random_circuit", "random_observable",
           "observable_matrix", "compile_circuit", "compile_generators", "unitary",
           "unitary_compiled", "pauli_matrices"]


class PauliCircuit(NamedTuple):
    """Eq. 20 of Liu et al.: Haar-random ``W`` and Pauli-string generators.

    Attributes:
        W: ``(L, D, D)`` complex, the fixed gates :math:`W_\\ell`.
        generators: ``(L, n)`` int, Pauli codes of :math:`X_\\ell` (0=I, 1=X, 2=Y, 3=Z).
    """

    W: jax.Array
    generators: jax.Array


class Observable(NamedTuple):
    """:math:`O = \\sum_j c_j \\tilde P_j` (eq. 20 of Liu et al.).

    Attributes:
        coeffs: ``(m,)`` real coefficients :math:`c_j`.
        paulis: ``(m, n)`` int Pauli codes of :math:`\\tilde P_j`.
    """

    coeffs: jax.Array
    paulis: jax.Array


class Compiled(NamedTuple):
    """:math:`U(\\theta) = G_0 e^{i\\theta_1 S_1} G_1 \\cdots e^{i\\theta_L S_L} G_L` (see module doc).

    Attributes:
        gates: ``(L + 1, D, D)`` complex, :math:`G_0, \\dots, G_L`.
        spectra: ``(L, D)`` real, eigenvalues :math:`s_\\ell` of the generators.
    """

    gates: jax.Array
    spectra: jax.Array


def random_circuit(*, key, n_qubits: int, n_layers: int) -> PauliCircuit:
    """Sample one circuit of eq. 20: Haar ``W_l`` and uniform non-identity Pauli ``X_l``.

    Arguments:
        key: a ``jax.random`` key.
        n_qubits: ``n`` (``D = 2**n``).
        n_layers: ``L``.

    Returns:
        A :class:`PauliCircuit` with ``W`` of shape ``(L, D, D)``.
    """
    n = check_int_at_least("n_qubits", n_qubits, 1)
    L = check_int_at_least("n_layers", n_layers, 1)
    kw, kp = jax.random.split(key)
    W = haar_unitary(key=kw, dim=2 ** n, shape=(L,))
    gens = sample_paulis(key=kp, n_qubits=n, shape=(L,), include_identity=False)
    return PauliCircuit(W, gens)


def random_observable(*, key, n_qubits: int, n_terms: int = 10) -> Observable:
    """Sample :math:`O = \\sum_{j=1}^{m} c_j \\tilde P_j`, :math:`c_j \\sim U(0, 1)`, :math:`\\tilde P_j` uniform.

    The strings are drawn independently and uniformly, with replacement, from all
    :math:`4^n` Pauli strings (identity included, as in the paper), so a string may
    appear more than once (its coefficients then add) and :math:`\\mathrm{Tr}\\,O` may
    be nonzero; ``n_terms`` may exceed :math:`4^n`.
    """
    n = check_int_at_least("n_qubits", n_qubits, 1)
    m = check_int_at_least("n_terms", n_terms, 1)
    kc, kp = jax.random.split(key)
    coeffs = jax.random.uniform(kc, (m,), dtype=default_dtype(), minval=0.0, maxval=1.0)
    return Observable(coeffs, sample_paulis(key=kp, n_qubits=n, shape=(m,)))


def pauli_matrices(codes) -> jax.Array:
    """Dense Pauli strings, traceable: ``codes`` ``(..., n)`` -> ``(..., D, D)``."""
    sig = jnp.asarray(np.stack([pauli_matrix([c]) for c in range(4)]), dtype=complex_dtype())
    codes = jnp.asarray(codes)
    out = sig[codes[..., 0]]
    for q in range(1, codes.shape[-1]):
        s = sig[codes[..., q]]
        out = jnp.einsum("...ij,...kl->...ikjl", out, s).reshape(
            out.shape[:-2] + (out.shape[-2] * 2, out.shape[-1] * 2))
    return out


def observable_matrix(obs: Observable) -> jax.Array:
    """Dense ``(D, D)`` matrix of an :class:`Observable`."""
    return jnp.einsum("j,jab->ab", jnp.asarray(obs.coeffs).astype(complex_dtype()),
                      pauli_matrices(obs.paulis))


def _pauli_eig(codes):
    """Traceable exact :math:`P = V \\mathrm{diag}(s) V^\\dagger` (see :func:`paulis.pauli_diagonalizer`)."""
    h = np.array([[1, 1], [1, -1]]) / np.sqrt(2)
    one = jnp.asarray(np.stack([np.eye(2), h, np.diag([1, 1j]) @ h, np.eye(2)]), dtype=complex_dtype())
    diag = jnp.asarray(np.array([[1.0, 1.0], [1.0, -1.0], [1.0, -1.0], [1.0, -1.0]]),
                       dtype=default_dtype())
    V, s = one[codes[..., 0]], diag[codes[..., 0]]
    for q in range(1, codes.shape[-1]):
        v2, s2 = one[codes[..., q]], diag[codes[..., q]]
        V = jnp.einsum("...ij,...kl->...ikjl", V, v2).reshape(
            V.shape[:-2] + (V.shape[-2] * 2, V.shape[-1] * 2))
        s = (s[..., :, None] * s2[..., None, :]).reshape(s.shape[:-1] + (s.shape[-1] * 2,))
    return V, s


def _assemble(W, V, s) -> Compiled:
    Vd = jnp.conj(jnp.swapaxes(V, -1, -2))
    first = (W[0] @ V[0])[None]
    middle = Vd[:-1] @ W[1:] @ V[1:]
    gates = jnp.concatenate([first, middle, Vd[-1:]], axis=0)
    return Compiled(gates.astype(complex_dtype()), s.astype(default_dtype()))


def compile_circuit(circuit: PauliCircuit) -> Compiled:
    """The :class:`Compiled` form of a :class:`PauliCircuit` (exact, no eigensolver; jit/vmap-able)."""
    V, s = _pauli_eig(jnp.asarray(circuit.generators))
    return _assemble(jnp.asarray(circuit.W), V, s)


def compile_generators(W, generators) -> Compiled:
    """The :class:`Compiled` form of eq. 1 with arbitrary Hermitian generators.

    Arguments:
        W: ``(L, D, D)`` unitaries :math:`W_\\ell`.
        generators: ``(L, D, D)`` Hermitian :math:`X_\\ell` (diagonalized with ``eigh``).
    """
    W, X = jnp.asarray(W, complex_dtype()), jnp.asarray(generators, complex_dtype())
    if W.ndim != 3 or X.shape != W.shape or W.shape[-1] != W.shape[-2]:
        raise InputError(f"W and generators must both have shape (L, D, D), got {W.shape} and {X.shape}")
    s, V = jnp.linalg.eigh(X)
    return _assemble(W, V, s)


def unitary(circuit: PauliCircuit, theta) -> jax.Array:
    """Dense :math:`U(\\theta) = \\prod_{\\ell=1}^L W_\\ell e^{i\\theta_\\ell X_\\ell}` (eq. 1), left to right.

    A reference implementation (``L`` dense products) used to check the fast paths.

    Arguments:
        circuit: a :class:`PauliCircuit`.
        theta: ``(L,)`` angles.

    Returns:
        ``(D, D)`` complex unitary.
    """
    P = pauli_matrices(circuit.generators)
    D = P.shape[-1]
    theta = jnp.asarray(theta, default_dtype())
    eye = jnp.eye(D, dtype=complex_dtype())
    layers = circuit.W @ (jnp.cos(theta)[:, None, None] * eye + 1j * jnp.sin(theta)[:, None, None] * P)
    return jax.lax.associative_scan(jnp.matmul, layers)[-1]


def unitary_compiled(comp: Compiled, theta) -> jax.Array:
    """Dense :math:`U(\\theta)` from a :class:`Compiled` circuit, ``(D, D)``."""
    theta = jnp.asarray(theta, default_dtype())
    phases = jnp.exp(1j * theta[:, None] * comp.spectra)            # (L, D)
    layers = comp.gates[:-1] * phases[:, None, :]                   # G_{l-1} e^{i theta_l S_l}
    return jax.lax.associative_scan(jnp.matmul, layers)[-1] @ comp.gates[-1]
