r"""Entanglement of Haar-random pure states: Page's value and exact Rényi-2 moments.

For a Haar-random pure state on :math:`\mathbb C^m \otimes \mathbb C^n`
(:math:`m \le n`), the ensemble of normalized complex Gaussian vectors that the
σ_w → ∞ CosNet approaches (Luo–Halverson sec. 3, refs. 53–54):

* **Page's value** (Page, PRL 71, 1291 (1993); proved by Foong–Kanno, Sen):

  .. math::  \langle S_1\rangle = \sum_{k=n+1}^{mn}\frac1k - \frac{m-1}{2n}
             = \psi(mn+1) - \psi(n+1) - \frac{m-1}{2n}

  (:math:`\psi` the digamma function).

* **Moments of ρ_A** by Wick's theorem: for an :math:`m\times n` matrix ``G`` of
  i.i.d. standard complex Gaussians and a permutation γ of ``K`` letters whose
  cycles have lengths :math:`k_1, k_2, …`,

  .. math::  \mathbb E \prod_j \mathrm{Tr}(GG^\dagger)^{k_j}
             = \sum_{\sigma\in S_K} m^{\#(\gamma\sigma)}\, n^{\#(\sigma)},

  (#: number of cycles). Since :math:`G/\|G\|` is Haar-distributed and
  independent of :math:`\|G\|`, and :math:`\mathbb E\|G\|^{2K} = N(N+1)\cdots(N+K-1)`
  with :math:`N = mn`, the Haar moments are these sums divided by that rising
  factorial (:func:`haar_moment`). In particular the **average purity** is

  .. math::  \mathbb E\,\mathrm{Tr}\rho_A^2 = \frac{m+n}{mn+1}

  (Lubkin 1978), and :math:`-\log` of it is the replica (annealed) Rényi-2 value
  :func:`haar_renyi2_annealed`, a lower bound on :math:`\langle S_2\rangle` by
  Jensen. :func:`haar_renyi2` adds the second-order (delta-method) correction
  :math:`\mathrm{Var}(P)/(2\,\mathbb E[P]^2)` from the exact second moment, an
  approximation to :math:`\langle S_2\rangle = -\langle\log P\rangle` whose
  neglected terms are :math:`O(\mathrm{Var}(P)^{3/2}/\mathbb E[P]^3)`.

* Real (orthogonally invariant) random states: :math:`\mathbb E\,\mathrm{Tr}\rho_A^2
  = (m+n+1)/(mn+2)` (:func:`real_haar_purity`), the ψ2 = 0 case of the GP formula.
"""

from __future__ import annotations

import itertools
import math
from functools import lru_cache
from typing import Sequence

import numpy as np
from scipy.special import digamma

from qsntk.errors import InputError, check_int_at_least

__all__ = ["page_entropy", "page_curve", "haar_moment", "haar_purity", "haar_purity_variance",
           "haar_renyi2_annealed", "haar_renyi2", "real_haar_purity", "subsystem_dims"]


def _dims(m, n) -> tuple[int, int]:
    m = check_int_at_least("m", m, 1)
    n = check_int_at_least("n", n, 1)
    return (m, n) if m <= n else (n, m)


def page_entropy(m: int, n: int) -> float:
    """Page's average von Neumann entropy of a Haar-random state on C^m ⊗ C^n (symmetric in m, n).

    Arguments:
        m, n: the two Hilbert-space dimensions (order irrelevant).

    Returns:
        :math:`\\sum_{k=n+1}^{mn} 1/k - (m-1)/(2n)` with m ≤ n, in nats.
    """
    m, n = _dims(m, n)
    if m * n <= 10**6:
        harmonic = math.fsum(1.0 / k for k in range(n + 1, m * n + 1))
    else:
        harmonic = float(digamma(m * n + 1) - digamma(n + 1))
    return harmonic - (m - 1) / (2 * n)


def subsystem_dims(k: int, n_sites: int, local_dim: int = 2) -> tuple[int, int]:
    """``(local_dim**k, local_dim**(n_sites - k))``: the dimensions of A and B."""
    k = check_int_at_least("subsystem size", k, 0)
    if k > n_sites:
        raise InputError(f"subsystem size {k} exceeds n_sites {n_sites}")
    return local_dim**k, local_dim ** (n_sites - k)


def page_curve(n_sites: int, *, local_dim: int = 2, sizes: Sequence[int] | None = None) -> np.ndarray:
    """Page's value for |A| = k sites out of ``n_sites`` (default k = 1 … n_sites − 1).

    Returns:
        float64 array ``(len(sizes),)``.
    """
    n_sites = check_int_at_least("n_sites", n_sites, 1)
    sizes = range(1, n_sites) if sizes is None else sizes
    return np.array([page_entropy(*subsystem_dims(k, n_sites, local_dim)) for k in sizes])


def _cycles(perm: Sequence[int]) -> int:
    seen, count = [False] * len(perm), 0
    for i in range(len(perm)):
        if not seen[i]:
            count += 1
            j = i
            while not seen[j]:
                seen[j] = True
                j = perm[j]
    return count


@lru_cache(maxsize=None)
def _cycle_polynomial(cycle_lengths: tuple) -> tuple:
    """Exponent pairs ``(#(γσ), #(σ))`` for all σ in S_K: the Wick sum as a polynomial."""
    K = sum(cycle_lengths)
    gamma, start = [], 0
    for k in cycle_lengths:
        gamma += [start + (i + 1) % k for i in range(k)]
        start += k
    counts: dict = {}
    for sigma in itertools.permutations(range(K)):
        key = (_cycles([gamma[s] for s in sigma]), _cycles(sigma))
        counts[key] = counts.get(key, 0) + 1
    return tuple(sorted((a, b, c) for (a, b), c in counts.items()))


def haar_moment(m: int, n: int, cycle_lengths: Sequence[int] = (2,)) -> float:
    """Exact :math:`\\mathbb E \\prod_j \\mathrm{Tr}\\,\\rho_A^{k_j}` for Haar-random states (module doc).

    Arguments:
        m, n: dimensions of A and B (here the order matters only through ρ_A
            being m × m; the moments are symmetric anyway).
        cycle_lengths: ``(k_1, k_2, …)``, total at most 7; ``(2,)`` is the purity,
            ``(2, 2)`` its second moment, ``(3,)`` is E Tr ρ_A^3.

    Returns:
        the moment, a float.
    """
    m = check_int_at_least("m", m, 1)
    n = check_int_at_least("n", n, 1)
    ks = tuple(check_int_at_least("cycle length", k, 1) for k in cycle_lengths)
    K = sum(ks)
    if K > 7:
        raise InputError(f"haar_moment sums over S_K; K = {K} > 7 is too many permutations")
    N = m * n
    total = math.fsum(c * float(m) ** a * float(n) ** b for a, b, c in _cycle_polynomial(ks))
    rising = math.prod(N + i for i in range(K))
    return total / rising


def haar_purity(m: int, n: int) -> float:
    """:math:`\\mathbb E\\,\\mathrm{Tr}\\rho_A^2 = (m+n)/(mn+1)` for Haar-random states."""
    m, n = _dims(m, n)
    return (m + n) / (m * n + 1)


def haar_purity_variance(m: int, n: int) -> float:
    """Exact variance of the purity of Haar-random states (from :func:`haar_moment`)."""
    return haar_moment(m, n, (2, 2)) - haar_purity(m, n) ** 2


def haar_renyi2_annealed(m: int, n: int) -> float:
    """:math:`-\\log \\mathbb E\\,\\mathrm{Tr}\\rho_A^2 = \\log\\frac{mn+1}{m+n}`: a lower bound on ⟨S_2⟩."""
    return -math.log(haar_purity(m, n))


def haar_renyi2(m: int, n: int) -> float:
    """⟨S_2⟩ of Haar-random states to second order: annealed value + Var(P)/(2 E[P]²).

    Relative accuracy :math:`O((\\mathrm{Var} P)^{3/2}/\\mathbb E[P]^3)`, about 1e-6
    for 6|6 spins (module doc).
    """
    mu = haar_purity(m, n)
    return -math.log(mu) + haar_purity_variance(m, n) / (2 * mu * mu)


def real_haar_purity(m: int, n: int) -> float:
    """:math:`\\mathbb E\\,\\mathrm{Tr}\\rho_A^2 = (m+n+1)/(mn+2)` for real (orthogonally invariant) random states."""
    m, n = _dims(m, n)
    return (m + n + 1) / (m * n + 2)
