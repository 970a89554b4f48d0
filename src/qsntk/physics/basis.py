"""Basis configurations as integer codes, their enumeration order and encodings.

A configuration with ``n_cols`` local entries (one per spin, or one per
spin-orbital for fermions) is stored as an int64 *code*: column ``k`` is bit
``n_cols - 1 - k`` (column 0 is the most significant bit), and the bit is 1 for
a spin up (σᶻ = +1) or an occupied spin-orbital.

Enumeration order — always that of NetKet's ``hilbert.all_states()`` so that a
vector indexed by our basis is indexed like NetKet's ``to_array()`` /
``to_sparse()`` (pinned by tests):

* spins, full space (``nk.hilbert.Spin(1/2, N)``): NetKet's local states are
  ``[+1, -1]``, so the order is ``(+1, …, +1)`` first, ``(-1, …, -1)`` last,
  column 0 slowest — *descending* codes;
* spins, fixed total Sᶻ (``total_sz=…``): *ascending* codes, i.e. the first
  state is ``(-1, …, -1, +1, …, +1)``;
* fermions (``nk.hilbert.SpinOrbitalFermions``): *ascending* codes.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = [
    "popcount", "fixed_weight_codes", "codes_to_bits", "bits_to_codes",
    "CodeIndex", "encode_spins", "encode_hubbard",
]


def popcount(a: np.ndarray) -> np.ndarray:
    """Number of set bits of each entry of a non-negative int64 array (same shape)."""
    a = np.asarray(a, dtype=np.int64)
    if hasattr(np, "bitwise_count"):  # numpy >= 2.0
        return np.bitwise_count(a).astype(np.int64)
    return _popcount_bytes(a)


_BYTE_COUNTS = np.array([bin(i).count("1") for i in range(256)], dtype=np.int64)


def _popcount_bytes(a: np.ndarray) -> np.ndarray:
    """Popcount by a byte lookup table (numpy < 2.0 has no ``bitwise_count``)."""
    as_bytes = np.asarray(a, dtype=np.int64).astype("<u8")[..., None].view(np.uint8)
    return _BYTE_COUNTS[as_bytes].sum(axis=-1)


@lru_cache(maxsize=64)
def _fixed_weight(n_bits: int, weight: int) -> np.ndarray:
    if weight < 0 or weight > n_bits:
        return np.zeros(0, dtype=np.int64)
    if weight == 0:
        return np.zeros(1, dtype=np.int64)
    if weight == n_bits:
        return np.array([(1 << n_bits) - 1], dtype=np.int64)
    low = _fixed_weight(n_bits - 1, weight)           # top bit 0: the smaller codes
    high = _fixed_weight(n_bits - 1, weight - 1) | (1 << (n_bits - 1))
    out = np.concatenate([low, high])
    out.flags.writeable = False
    return out


def fixed_weight_codes(n_bits: int, weight: int) -> np.ndarray:
    """All ``n_bits``-bit codes with exactly ``weight`` bits set, ascending.

    Returns:
        int64 array, shape (comb(n_bits, weight),), a fresh copy.
    """
    return np.array(_fixed_weight(int(n_bits), int(weight)))


def codes_to_bits(codes: np.ndarray, n_cols: int) -> np.ndarray:
    """Unpack codes into bits, column 0 = most significant bit.

    Arguments:
        codes: int64 array, shape (n_states,).
        n_cols: number of columns (bits per code).

    Returns:
        int8 array of 0/1, shape (n_states, n_cols).
    """
    shifts = np.arange(n_cols - 1, -1, -1, dtype=np.int64)
    return ((np.asarray(codes, dtype=np.int64)[:, None] >> shifts) & 1).astype(np.int8)


def bits_to_codes(bits: np.ndarray) -> np.ndarray:
    """Pack 0/1 bits (shape (n_states, n_cols), column 0 = MSB) into int64 codes."""
    bits = np.asarray(bits, dtype=np.int64)
    n_cols = bits.shape[1]
    weights = np.left_shift(1, np.arange(n_cols - 1, -1, -1, dtype=np.int64))
    return bits @ weights


class CodeIndex:
    """Row index of a code in a basis given in any fixed order (sorted lookup).

    Arguments:
        codes: int64 array, shape (n_states,), the basis in its enumeration order
            (distinct codes).
    """

    def __init__(self, codes: np.ndarray):
        codes = np.asarray(codes, dtype=np.int64)
        self.order = np.argsort(codes, kind="stable")
        self.sorted = codes[self.order]

    def __call__(self, query: np.ndarray) -> np.ndarray:
        """Rows of ``query`` codes (int64 array, any shape); each must be in the basis."""
        pos = np.searchsorted(self.sorted, query)
        pos = np.minimum(pos, len(self.sorted) - 1)
        if not np.array_equal(self.sorted[pos], query):
            raise ValueError("a code is outside the basis (the operator leaves the sector)")
        return self.order[pos]


def encode_spins(basis: np.ndarray, dtype=np.float64) -> np.ndarray:
    """Network inputs for spins: σᶻ = ±1 per site (Luo–Halverson sec. 6).

    Arguments:
        basis: int8 array of ±1, shape (n_states, n_sites).

    Returns:
        array of ±1.0, shape (n_states, n_sites).
    """
    return np.asarray(basis, dtype=dtype)


def encode_hubbard(basis: np.ndarray, n_sites: int, dtype=np.float64) -> np.ndarray:
    """Network inputs for spinful fermions, one number per site (Luo–Halverson sec. 6).

    hole → −1.5, ↓ → −0.5, ↑ → +0.5, ↑↓ → +1.5, i.e. ``x = 2 n↑ + n↓ − 1.5``.

    Arguments:
        basis: int8 occupations, shape (n_states, 2 * n_sites), columns
            ``[n↓_0 … n↓_{N-1}, n↑_0 … n↑_{N-1}]`` (NetKet's SpinOrbitalFermions layout).
        n_sites: N.

    Returns:
        array, shape (n_states, n_sites).
    """
    basis = np.asarray(basis)
    n_down, n_up = basis[:, :n_sites], basis[:, n_sites:]
    return (2.0 * n_up + n_down - 1.5).astype(dtype)
