"""Exact solvers: low-lying eigenstates (Lanczos) and real-time evolution (Krylov).

* :func:`lowest_states` — the k lowest eigenpairs by ARPACK Lanczos
  (``scipy.sparse.linalg.eigsh``), or a dense ``eigh`` for tiny spaces.
* :func:`ground_state` — E0 and |ψ0⟩ with a fixed global phase; refuses a
  degenerate ground state, which would not be a unique, reproducible state.
* :func:`evolve` — e^{−iHτ}|ψ0⟩ at one or many times with
  ``scipy.sparse.linalg.expm_multiply`` (never a dense matrix exponential).
* :func:`plus_state` — |+⟩^⊗N in the full spin basis.

Phase convention (:func:`fix_phase`): the first entry whose modulus is within a
relative 1e-8 of the largest modulus is made real and positive. Eigenvectors
are computed from a seeded start vector, so repeated runs on one machine give
identical bits.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import eigsh, expm_multiply

from qsntk.errors import InputError, check_finite, check_int_at_least

__all__ = ["DENSE_MAX", "fix_phase", "lowest_states", "ground_state", "plus_state",
           "check_times", "evolve", "energy"]

#: spaces up to this dimension are diagonalized densely.
DENSE_MAX = 512


def fix_phase(psi: np.ndarray) -> np.ndarray:
    """Multiply ``psi`` by a global phase so its largest-modulus entry is real positive.

    The entry is the first (lowest index) whose modulus is within a relative
    1e-8 of the maximum, so round-off among symmetry-equal amplitudes cannot
    flip the choice.

    Arguments:
        psi: real or complex array, shape (dim,).

    Returns:
        array of the same shape and dtype.
    """
    psi = np.asarray(psi)
    mod = np.abs(psi)
    top = mod.max()
    if top == 0:
        return psi.copy()
    i = int(np.argmax(mod >= top * (1 - 1e-8)))
    out = psi * (np.conj(psi[i]) / mod[i])
    if np.iscomplexobj(out):
        out[i] = mod[i]
    return out


def lowest_states(H, k: int = 1, *, dense_max: int = DENSE_MAX, seed: int = 0):
    """The ``k`` lowest eigenpairs of a real symmetric (or Hermitian) H.

    Arguments:
        H: scipy sparse matrix (or array), shape (dim, dim).
        k: number of eigenpairs (1 <= k <= dim).
        dense_max: use dense ``numpy.linalg.eigh`` at or below this dimension
            (and whenever k >= dim − 1, where ARPACK cannot run).
        seed: seed of the Lanczos start vector.

    Returns:
        ``(energies, vectors)``: energies ascending, shape (k,); vectors shape
        (dim, k), orthonormal columns, each phase-fixed by :func:`fix_phase`.
    """
    dim = H.shape[0]
    k = check_int_at_least("k", k, 1)
    if k > dim:
        raise InputError(f"k={k} exceeds the Hilbert-space dimension {dim}")
    if dim <= dense_max or k >= dim - 1:
        dense = H.toarray() if sp.issparse(H) else np.asarray(H)
        w, v = np.linalg.eigh(dense)
        w, v = w[:k], v[:, :k]
    else:
        v0 = np.random.default_rng(seed).standard_normal(dim).astype(H.dtype)
        w, v = eigsh(H, k=k, which="SA", v0=v0, tol=0)
        order = np.argsort(w)
        w, v = w[order], v[:, order]
    v = np.stack([fix_phase(v[:, j]) for j in range(k)], axis=1)
    return w, v


def ground_state(H, *, seed: int = 0, degeneracy_tol: float = 1e-8):
    """E0 and the phase-fixed ground state |ψ0⟩.

    Arguments:
        H: sparse matrix, shape (dim, dim).
        seed: Lanczos start-vector seed.
        degeneracy_tol: E1 − E0 below ``degeneracy_tol * max(1, |E0|)`` counts
            as degenerate.

    Returns:
        ``(E0, psi0)``: float and array shape (dim,), unit norm.

    Raises:
        InputError: the ground state is degenerate (no unique state to return).
    """
    if H.shape[0] == 1:
        return float(np.real(H.toarray()[0, 0] if sp.issparse(H) else H[0, 0])), np.ones(1)
    w, v = lowest_states(H, 2, seed=seed)
    if w[1] - w[0] < degeneracy_tol * max(1.0, abs(w[0])):
        raise InputError(f"the ground state is degenerate (E0={w[0]:.12g}, E1={w[1]:.12g}); "
                         "choose another lattice, boundary or sector")
    return float(w[0]), v[:, 0]


def plus_state(n_sites: int) -> np.ndarray:
    """|+⟩^⊗N in the full spin-1/2 basis: every amplitude 2^(−N/2).

    Returns:
        complex128 array, shape (2**n_sites,).
    """
    dim = 2 ** int(n_sites)
    return np.full(dim, 1.0 / np.sqrt(dim), dtype=np.complex128)


def check_times(times) -> np.ndarray:
    """Validate evolution times (finite, >= 0, a number or 1-d); return them as a 1-d array."""
    try:
        t = np.atleast_1d(np.asarray(times, dtype=np.float64))
    except (TypeError, ValueError):
        raise InputError(f"tau must be a number or a list of numbers, got {times!r}") from None
    check_finite("tau", t)
    if t.ndim != 1:
        raise InputError(f"tau must be a number or a 1-d list of times, got shape {t.shape}")
    if np.any(t < 0):
        raise InputError(f"tau must be >= 0, got {float(t[t < 0][0])!r}")
    return t


def evolve(H, psi0: np.ndarray, times) -> np.ndarray:
    """Exact real-time evolution |ψ(τ)⟩ = e^{−iHτ}|ψ0⟩ (Krylov, ``expm_multiply``).

    Times are visited in increasing order, each step propagating the previous
    state by the time difference.

    Arguments:
        H: sparse Hermitian matrix, shape (dim, dim).
        psi0: initial state, shape (dim,).
        times: τ >= 0, a number or a 1-d sequence.

    Returns:
        complex128 array: shape (dim,) for a number, (n_times, dim) for a sequence.
    """
    scalar = np.ndim(times) == 0
    t = check_times(times)
    psi0 = np.asarray(psi0, dtype=np.complex128)
    if psi0.shape != (H.shape[0],):
        raise InputError(f"psi0 must have shape ({H.shape[0]},), got {psi0.shape}")
    check_finite("psi0", psi0)
    A = sp.csr_matrix(H, dtype=np.complex128) * (-1j)
    out = np.empty((len(t), len(psi0)), dtype=np.complex128)
    psi, now = psi0, 0.0
    for idx in np.argsort(t, kind="stable"):
        step = t[idx] - now
        if step > 0:
            psi = expm_multiply(A * step, psi)
            now = t[idx]
        out[idx] = psi
    return out[0] if scalar else out


def energy(H, psi: np.ndarray) -> float:
    """⟨ψ|H|ψ⟩ / ⟨ψ|ψ⟩ (real part) for psi of shape (dim,)."""
    psi = np.asarray(psi)
    return float(np.real(np.vdot(psi, H @ psi)) / np.real(np.vdot(psi, psi)))
