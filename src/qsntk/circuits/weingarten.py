r"""Exact Haar averages by Weingarten calculus (k-th moments, small k).

Permutations of ``k`` tensor factors act on :math:`(\mathbb C^D)^{\otimes k}` by
:math:`P_\rho\,(v_1\otimes\cdots\otimes v_k) = v_{\rho^{-1}(1)}\otimes\cdots\otimes v_{\rho^{-1}(k)}`
(factor ``a`` moves to slot ``ρ(a)``), so :math:`P_\sigma P_\tau = P_{\sigma\circ\tau}`.

The Haar twirl :math:`\mathcal T(A) = \mathbb E_U\, U^{\otimes k} A\, U^{\dagger\otimes k}` is the
Hilbert–Schmidt orthogonal projection of ``A`` onto the span of the
:math:`P_\tau` (the commutant of :math:`U^{\otimes k}`), hence

.. math:: \mathcal T(A) = \sum_\tau c_\tau P_\tau,\quad c = \mathrm{Wg}\, b,\quad
          b_\sigma = \mathrm{Tr}(P_\sigma^\dagger A),\quad
          \mathrm{Wg} = G^{-1},\ G_{\sigma\tau} = \mathrm{Tr}(P_\sigma^\dagger P_\tau) = D^{\#\mathrm{cycles}(\sigma^{-1}\tau)}

(``Wg`` is the Weingarten matrix; a pseudo-inverse is used when ``D < k``).
Haar-random *states* have :math:`\mathbb E\,|\psi\rangle\langle\psi|^{\otimes k} = \sum_\pi P_\pi / (D(D+1)\cdots(D+k-1))`.
"""

from __future__ import annotations

import itertools
import string
from functools import lru_cache

import numpy as np

__all__ = ["permutations", "compose", "inverse", "n_cycles", "gram", "weingarten",
           "perm_trace", "twirl_coefficients", "haar_expect", "haar_state_moment"]


@lru_cache(maxsize=None)
def permutations(k: int) -> tuple[tuple[int, ...], ...]:
    """All permutations of ``range(k)`` as tuples ``ρ`` with ``ρ[a] = ρ(a)``."""
    return tuple(itertools.permutations(range(k)))


def compose(a, b) -> tuple[int, ...]:
    """:math:`a\\circ b`, i.e. ``i -> a[b[i]]``."""
    return tuple(a[i] for i in b)


def inverse(a) -> tuple[int, ...]:
    out = [0] * len(a)
    for i, ai in enumerate(a):
        out[ai] = i
    return tuple(out)


def n_cycles(a) -> int:
    seen, count = set(), 0
    for i in range(len(a)):
        if i not in seen:
            count += 1
            while i not in seen:
                seen.add(i)
                i = a[i]
    return count


@lru_cache(maxsize=None)
def gram(k: int, D: int) -> np.ndarray:
    """:math:`G_{\\sigma\\tau} = D^{\\#\\mathrm{cycles}(\\sigma^{-1}\\tau)}`, ``(k!, k!)``."""
    perms = permutations(k)
    return np.array([[float(D) ** n_cycles(compose(inverse(s), t)) for t in perms] for s in perms])


@lru_cache(maxsize=None)
def weingarten(k: int, D: int) -> np.ndarray:
    """Weingarten matrix :math:`\\mathrm{Wg}(\\sigma^{-1}\\tau, D)`, ``(k!, k!)``."""
    G = gram(k, D)
    return np.linalg.inv(G) if D >= k else np.linalg.pinv(G)


def perm_trace(rho, mats) -> complex:
    """:math:`\\mathrm{Tr}\\big(P_\\rho\\,(A_1\\otimes\\cdots\\otimes A_k)\\big) = \\sum_i \\prod_a (A_a)_{i_{\\rho(a)}, i_a}`.

    Arguments:
        rho: permutation of ``range(k)``.
        mats: ``k`` square ``(D, D)`` matrices.
    """
    letters = string.ascii_letters
    terms = [letters[rho[a]] + letters[a] for a in range(len(rho))]
    return complex(np.einsum(",".join(terms) + "->", *[np.asarray(m) for m in mats], optimize=True))


def twirl_coefficients(A_factors, D: int) -> np.ndarray:
    """Coefficients ``c`` with :math:`\\mathbb E_U U^{\\otimes k}(A_1\\otimes\\cdots\\otimes A_k)U^{\\dagger\\otimes k} = \\sum_\\tau c_\\tau P_\\tau`.

    Arguments:
        A_factors: ``k`` matrices ``(D, D)`` (e.g. ``[O] * k``).

    Returns:
        ``(k!,)`` complex, ordered as :func:`permutations`.
    """
    k = len(A_factors)
    b = np.array([perm_trace(inverse(s), A_factors) for s in permutations(k)])
    return weingarten(k, D) @ b


def haar_expect(O, mats, pi=None) -> complex:
    """:math:`\\mathbb E_U\\,\\mathrm{Tr}\\big(M^{\\otimes k}(A_1\\otimes\\cdots\\otimes A_k)P_\\pi\\big)`, :math:`M = U^\\dagger O U`, U Haar.

    For example ``haar_expect(O, [A, B])`` is :math:`\\mathbb E[\\mathrm{Tr}(AM)\\mathrm{Tr}(BM)]` and
    ``haar_expect(O, [A, I], pi=(1, 0))`` is :math:`\\mathbb E[\\mathrm{Tr}(MAM)]`.
    """
    O = np.asarray(O)
    k = len(mats)
    pi = tuple(range(k)) if pi is None else tuple(pi)
    c = twirl_coefficients([O] * k, O.shape[0])
    return complex(sum(ct * perm_trace(compose(pi, t), mats) for ct, t in zip(c, permutations(k))))


def haar_state_moment(mats) -> complex:
    """:math:`\\mathbb E_\\psi \\prod_a \\langle\\psi|A_a|\\psi\\rangle` over Haar-random pure states."""
    k, D = len(mats), np.asarray(mats[0]).shape[0]
    norm = np.prod([D + j for j in range(k)], dtype=float)
    return complex(sum(perm_trace(p, mats) for p in permutations(k)) / norm)
