"""The registry of lattice systems: ``tfim``, ``heisenberg``, ``j1j2``, ``hubbard``.

==============  ==========================================================  ==================
name            Hamiltonian                                                 couplings (default)
==============  ==========================================================  ==================
``tfim``        H_s = −Σ_⟨ij⟩ σᶻ_iσᶻ_j − J Σ_i σˣ_i  (Pauli; eq. 19)         J = 1
``heisenberg``  H = J Σ_⟨ij⟩ S_i·S_j  (S = σ/2)                              J = 1
``j1j2``        H = J1 Σ_⟨ij⟩ S_i·S_j + J2 Σ_⟨⟨ij⟩⟩ S_i·S_j  (S = σ/2)        J1 = 1, J2 = 0.5
``hubbard``     H_f = −t Σ_⟨ij⟩,σ (c†_iσ c_jσ + h.c.) + U Σ_i n_i↑n_i↓ (eq. 20) t = 1, U = 4
==============  ==========================================================  ==================

All live on the Lx × Ly square lattice of :mod:`qsntk.physics.lattice`
(``ly = 1`` is a chain), periodic by default. Spin systems may be restricted to
total Sᶻ = 0 (``sz0=True``; not ``tfim``, which does not conserve it); ``hubbard``
lives in a fixed (N↑, N↓) sector. ``make_system`` validates everything and
raises :class:`~qsntk.errors.InputError` naming the bad value.

Exact methods (the enumerated basis, the sparse H, Lanczos) stop at 62 columns
and :data:`MAX_DIM` states. ``make_system(..., exact=False)`` builds larger
systems for Monte-Carlo methods: their NetKet graph, Hilbert space and operator
work at any size, while :meth:`System.basis` and friends raise
:class:`~qsntk.errors.InputError` (:attr:`System.has_exact_methods` says which).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from functools import cached_property
from typing import Any

import numpy as np
import scipy.sparse as sp

from qsntk.errors import InputError, check_choice, check_finite, check_int_at_least
from qsntk.physics import basis as _basis
from qsntk.physics import hamiltonians as _ham
from qsntk.physics import lattice as _lattice

__all__ = ["SYSTEMS", "MAX_DIM", "Couplings", "System", "make_system"]

#: name -> (kind, default couplings, one-line Hamiltonian)
SYSTEMS: dict[str, tuple[str, dict[str, float], str]] = {
    "tfim": ("spin", {"J": 1.0}, "H = -sum_<ij> sz_i sz_j - J sum_i sx_i  (Pauli)"),
    "heisenberg": ("spin", {"J": 1.0}, "H = J sum_<ij> S_i.S_j  (S = sigma/2)"),
    "j1j2": ("spin", {"J1": 1.0, "J2": 0.5},
             "H = J1 sum_<ij> S_i.S_j + J2 sum_<<ij>> S_i.S_j  (S = sigma/2)"),
    "hubbard": ("fermion", {"t": 1.0, "U": 4.0},
                "H = -t sum_<ij>,s (c+_is c_js + h.c.) + U sum_i n_iu n_id"),
}

#: exact methods here refuse Hilbert spaces larger than this.
MAX_DIM = 2**22


class Couplings(Mapping):
    """An immutable, hashable ``{name: float}`` mapping of coupling constants."""

    def __init__(self, items: Mapping[str, float] | None = None, **kw: float):
        data = dict(items or {}, **kw)
        self._items = tuple((str(k), float(v)) for k, v in data.items())

    def __getitem__(self, key: str) -> float:
        for k, v in self._items:
            if k == key:
                return v
        raise KeyError(key)

    def __iter__(self):
        return (k for k, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(self._items)

    def __eq__(self, other) -> bool:
        return isinstance(other, Mapping) and dict(self) == dict(other)

    def __repr__(self) -> str:
        return "Couplings(" + ", ".join(f"{k}={v!r}" for k, v in self._items) + ")"


@dataclasses.dataclass(frozen=True)
class System:
    """One lattice Hamiltonian in one symmetry sector. Build it with :func:`make_system`.

    Attributes:
        name: registry name (``tfim``, ``heisenberg``, ``j1j2``, ``hubbard``).
        lx, ly: lattice sides; ``n_sites = lx * ly``; site ``x * ly + y``.
        pbc: periodic (True) or open (False) boundaries.
        couplings: the coupling constants, e.g. ``couplings["U"]``.
        n_up, n_down: particle numbers N↑, N↓ (``hubbard`` only, else None).
        sz0: restricted to total Sᶻ = 0 (spin systems only).
    """

    name: str
    lx: int
    ly: int
    pbc: bool
    couplings: Couplings
    n_up: int | None = None
    n_down: int | None = None
    sz0: bool = False

    # -- sizes ---------------------------------------------------------------
    @property
    def n_sites(self) -> int:
        return self.lx * self.ly

    @property
    def is_fermionic(self) -> bool:
        return SYSTEMS[self.name][0] == "fermion"

    @property
    def n_cols(self) -> int:
        """Columns of :meth:`basis`: N for spins, 2N spin-orbitals for fermions."""
        return 2 * self.n_sites if self.is_fermionic else self.n_sites

    @property
    def dim(self) -> int:
        """Number of basis states of the sector."""
        return _dimension(self.name, self.n_sites, self.n_up, self.n_down, self.sz0)

    @property
    def bonds(self) -> np.ndarray:
        """Nearest-neighbour bonds ⟨ij⟩, int64 (n_bonds, 2)."""
        return _lattice.nearest_bonds(self.lx, self.ly, self.pbc)

    @property
    def next_bonds(self) -> np.ndarray:
        """Next-nearest-neighbour bonds ⟨⟨ij⟩⟩, int64 (n_bonds, 2)."""
        return _lattice.next_nearest_bonds(self.lx, self.ly, self.pbc)

    @property
    def has_exact_methods(self) -> bool:
        """True when the basis can be enumerated (≤ 62 columns and ≤ :data:`MAX_DIM` states)."""
        return self.n_cols <= 62 and self.dim <= MAX_DIM

    def _require_exact(self, what: str) -> None:
        if not self.has_exact_methods:
            raise InputError(f"{what} needs exact methods; {self.name} on {self.lx}x{self.ly} "
                             f"has {self.dim} states (built with exact=False)")

    # -- basis ---------------------------------------------------------------
    @cached_property
    def codes(self) -> np.ndarray:
        """The basis as int64 codes (see :mod:`qsntk.physics.basis`), shape (dim,), read-only."""
        self._require_exact("the enumerated basis")
        n = self.n_sites
        if self.is_fermionic:
            down = _basis.fixed_weight_codes(n, self.n_down)
            up = _basis.fixed_weight_codes(n, self.n_up)
            codes = ((down[:, None] << np.int64(n)) | up[None, :]).ravel()  # ascending
        elif self.sz0:
            codes = _basis.fixed_weight_codes(n, n // 2)  # ascending, as NetKet's Sz sector
        else:
            codes = np.arange((1 << n) - 1, -1, -1, dtype=np.int64)  # descending, as NetKet
        codes.flags.writeable = False
        return codes

    def basis(self) -> np.ndarray:
        """Raw configurations in NetKet's ``hilbert.all_states()`` order.

        Returns:
            int8 array, shape (dim, n_cols): σᶻ = ±1 per site for spins; 0/1
            occupations ``[n↓_0 … n↓_{N-1}, n↑_0 … n↑_{N-1}]`` for ``hubbard``.
        """
        bits = _basis.codes_to_bits(self.codes, self.n_cols)
        return bits if self.is_fermionic else (2 * bits - 1).astype(np.int8)

    def encode(self, basis: np.ndarray | None = None, dtype=np.float64) -> np.ndarray:
        """Network inputs of Luo–Halverson sec. 6, one number per site.

        Spins: σᶻ = ±1. Hubbard: hole −1.5, ↓ −0.5, ↑ +0.5, ↑↓ +1.5.

        Arguments:
            basis: raw configurations (n_states, n_cols); default :meth:`basis`.

        Returns:
            array, shape (n_states, n_sites).
        """
        basis = self.basis() if basis is None else np.asarray(basis)
        if basis.ndim != 2 or basis.shape[1] != self.n_cols:
            raise InputError(f"basis must have shape (n_states, {self.n_cols}), got {basis.shape}")
        if self.is_fermionic:
            return _basis.encode_hubbard(basis, self.n_sites, dtype)
        return _basis.encode_spins(basis, dtype)

    # -- Hamiltonian ---------------------------------------------------------
    def sparse_hamiltonian(self) -> sp.csr_matrix:
        """H in the order of :meth:`basis`, fast vectorized build (== NetKet ``to_sparse()``).

        Returns:
            real scipy csr_matrix, shape (dim, dim).
        """
        self._require_exact("the sparse Hamiltonian")
        c, n = self.couplings, self.n_sites
        if self.name == "tfim":
            return _ham.tfim_hamiltonian(self.codes, n, self.bonds, c["J"])
        if self.name == "hubbard":
            return _ham.hubbard_hamiltonian(self.codes, n, self.bonds, c["t"], c["U"])
        return _ham.heisenberg_hamiltonian(self.codes, n, self._bond_sets())

    def _bond_sets(self):
        c = self.couplings
        if self.name == "heisenberg":
            return [(self.bonds, c["J"])]
        return [(self.bonds, c["J1"]), (self.next_bonds, c["J2"])]

    # -- NetKet objects (lazy) -----------------------------------------------
    @cached_property
    def graph(self):
        """NetKet graph with the same sites and bonds (colour 1 = ⟨⟨ij⟩⟩ for j1j2)."""
        order = 2 if self.name == "j1j2" else 1
        return _lattice.netket_graph(self.lx, self.ly, self.pbc, max_neighbor_order=order)

    @cached_property
    def hilbert(self):
        """NetKet Hilbert space whose ``all_states()`` equals :meth:`basis`."""
        from qsntk.physics import netket_ops

        if self.is_fermionic:
            return netket_ops.fermion_hilbert(self.n_sites, self.n_up, self.n_down)
        return netket_ops.spin_hilbert(self.n_sites, self.sz0)

    @cached_property
    def operator(self):
        """NetKet operator of H (``LocalOperator`` or ``FermionOperator2nd``)."""
        from qsntk.physics import netket_ops

        c = self.couplings
        if self.name == "tfim":
            return netket_ops.tfim_operator(self.hilbert, self.bonds, c["J"])
        if self.name == "hubbard":
            return netket_ops.hubbard_operator(self.hilbert, self.bonds, c["t"], c["U"])
        return netket_ops.heisenberg_operator(self.hilbert, self._bond_sets())

    # -- derived systems and metadata ----------------------------------------
    def with_couplings(self, **couplings: float) -> "System":
        """The same lattice and sector with some couplings changed (validated)."""
        new = dict(self.couplings)
        new.update(_check_couplings(self.name, couplings))
        return dataclasses.replace(self, couplings=Couplings(new))

    def describe(self) -> dict[str, Any]:
        """JSON-able description: name, lattice, boundary, couplings, sector, dim."""
        out: dict[str, Any] = {"system": self.name, "lx": self.lx, "ly": self.ly,
                               "n_sites": self.n_sites, "pbc": self.pbc,
                               "couplings": dict(self.couplings)}
        if self.is_fermionic:
            out.update(n_up=self.n_up, n_down=self.n_down)
        else:
            out["sz0"] = self.sz0
        out["dim"] = self.dim
        return out


def _dimension(name, n_sites, n_up, n_down, sz0) -> int:
    if SYSTEMS[name][0] == "fermion":
        return math.comb(n_sites, n_up) * math.comb(n_sites, n_down)
    return math.comb(n_sites, n_sites // 2) if sz0 else 2**n_sites


def _check_couplings(name: str, couplings: Mapping[str, Any]) -> dict[str, float]:
    defaults = SYSTEMS[name][1]
    out = {}
    for key, value in couplings.items():
        if key not in defaults:
            raise InputError(f"system {name!r} has no coupling {key!r}; "
                             f"its couplings are {', '.join(defaults)}")
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise InputError(f"coupling {key} must be a number, got {value!r}") from None
        out[key] = check_finite(f"coupling {key}", value)
    return out


def make_system(name: str, *, lx: int, ly: int = 1, pbc: bool = True,
                n_up: int | None = None, n_down: int | None = None, sz0: bool = False,
                exact: bool = True, **couplings: float) -> System:
    """Build and validate a registry system.

    Arguments:
        name: ``tfim``, ``heisenberg``, ``j1j2`` or ``hubbard``.
        lx, ly: lattice sides (>= 1); ``ly = 1`` is a chain.
        pbc: periodic (default) or open boundaries.
        n_up, n_down: N↑ and N↓ (required for ``hubbard``, refused otherwise).
        sz0: restrict a spin system (not ``tfim``) to total Sᶻ = 0.
        exact: refuse systems too large for exact methods (default). With
            ``exact=False`` any size is built, for Monte-Carlo use (NetKet
            graph, Hilbert space and operator); exact methods then raise.
        **couplings: coupling constants (see :data:`SYSTEMS`); missing ones take
            their defaults.

    Returns:
        a :class:`System`.

    Raises:
        InputError: unknown system or coupling, side < 1, non-finite coupling,
            particle numbers that do not fit, a sector this system lacks, or
            (with ``exact=True``) more than 62 basis columns or a Hilbert space
            above :data:`MAX_DIM`.
    """
    check_choice("system", name, SYSTEMS)
    lx = check_int_at_least("lx", lx, 1)
    ly = check_int_at_least("ly", ly, 1)
    n = lx * ly
    kind, defaults, _ = SYSTEMS[name]
    values = dict(defaults)
    values.update(_check_couplings(name, couplings))
    if kind == "fermion":
        if n_up is None or n_down is None:
            raise InputError(f"{name} needs the particle numbers n_up and n_down "
                             f"(got n_up={n_up!r}, n_down={n_down!r})")
        for label, value in (("n_up", n_up), ("n_down", n_down)):
            check_int_at_least(label, value, 0)
            if value > n:
                raise InputError(f"{label}={value} does not fit on {n} sites ({lx}x{ly})")
        if sz0:
            raise InputError(f"sz0 applies to spin systems, not {name!r} (fix n_up = n_down)")
        n_up, n_down = int(n_up), int(n_down)
    else:
        if n_up is not None or n_down is not None:
            raise InputError(f"n_up/n_down apply to hubbard only, not {name!r}")
        if sz0 and name == "tfim":
            raise InputError("sz0: tfim does not conserve total Sz")
        if sz0 and n % 2:
            raise InputError(f"sz0 needs an even number of sites, got {n} ({lx}x{ly})")
    n_cols = 2 * n if kind == "fermion" else n
    if exact and n_cols > 62:
        raise InputError(f"{lx}x{ly} lattice is too large for exact methods "
                         f"(build it with exact=False for Monte-Carlo use)")
    dim = _dimension(name, n, n_up, n_down, sz0)
    if exact and dim > MAX_DIM:
        raise InputError(f"{name} on {lx}x{ly} has {dim} states; exact methods here "
                         f"stop at {MAX_DIM} (build it with exact=False for Monte-Carlo use)")
    return System(name=name, lx=lx, ly=ly, pbc=bool(pbc), couplings=Couplings(values),
                  n_up=n_up, n_down=n_down, sz0=bool(sz0))
