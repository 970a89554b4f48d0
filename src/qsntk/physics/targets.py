"""Target wavefunctions for supervised learning: quenches, as in Luo–Halverson sec. 6.

|ψ_T⟩ = e^{−iHτ}|ψ0⟩, with H a registry system and |ψ0⟩ either |+⟩^⊗N or the
ground state of the same system at other couplings. Two presets reproduce the
paper exactly:

* ``tfim-quench``: H_s (eq. 19) on 3×4 with J = 0.1, |ψ0⟩ = |+⟩^⊗12, τ = 2.1
  (4096 amplitudes);
* ``hubbard-quench``: H_f (eq. 20) on 3×4 with 2↑2↓, t = 1, U = 8; |ψ0⟩ = the
  ground state at U = 4; τ = 2.1 (4356 amplitudes).

The paper does not say whether its 3×4 lattice is periodic or open; both are
supported and the default here is **periodic** (``pbc=True``).

A :class:`Target` holds ``x`` (encoded network inputs), ``psi`` (normalized
amplitudes), ``basis`` (raw configurations, NetKet order) and ``meta``;
:meth:`Target.save` writes them to one ``.npz`` atomically, :func:`load_target`
reads it back.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Mapping

import numpy as np

from qsntk.errors import InputError, check_choice
from qsntk.physics import exact
from qsntk.physics.systems import SYSTEMS, System, make_system

__all__ = ["PRESETS", "BASIS_ORDER", "Target", "quench_target", "target_system",
           "make_target", "load_target"]

#: preset name -> the settings of Luo–Halverson sec. 6 (pbc is chosen at call time).
PRESETS: dict[str, dict[str, Any]] = {
    "tfim-quench": dict(system="tfim", lx=3, ly=4, couplings={"J": 0.1},
                        initial="plus", initial_couplings={}, tau=2.1),
    "hubbard-quench": dict(system="hubbard", lx=3, ly=4, n_up=2, n_down=2,
                           couplings={"t": 1.0, "U": 8.0},
                           initial="ground", initial_couplings={"U": 4.0}, tau=2.1),
}

BASIS_ORDER = ("NetKet hilbert.all_states() order: spins full space from (+1,...,+1) "
               "to (-1,...,-1), site 0 slowest; Sz sector and fermions in ascending "
               "binary code with column 0 most significant (1 = spin up / occupied); "
               "fermion columns [down_0..down_{N-1}, up_0..up_{N-1}]; site = x*ly + y")

INITIAL_STATES = ("plus", "ground")


@dataclasses.dataclass(frozen=True, eq=False)
class Target:
    """A target wavefunction on a full basis.

    Attributes:
        x: float64 (n_states, n_sites), network inputs (``System.encode``).
        psi: complex128 (n_states,), unit norm, amplitudes in the row order of ``x``.
        basis: int8 (n_states, n_cols), raw configurations (``System.basis``).
        meta: JSON-able dict: system, couplings, tau, pbc, initial state, how made,
            basis order, energy.
    """

    x: np.ndarray
    psi: np.ndarray
    basis: np.ndarray
    meta: dict

    @property
    def n_states(self) -> int:
        return int(self.psi.shape[0])

    def digest(self) -> str:
        """A fingerprint of ``x`` and ``psi`` (SHA-256, 16 hex digits): what a run recorded on
        a target file is checked against, so a file rewritten with other amplitudes is not
        mistaken for the one the run was trained on."""
        import hashlib

        h = hashlib.sha256()
        for a in (np.ascontiguousarray(self.x, np.float64), np.ascontiguousarray(self.psi, np.complex128)):
            h.update(repr(a.shape).encode())
            h.update(a.tobytes())
        return h.hexdigest()[:16]

    def save(self, path: str | os.PathLike) -> None:
        """Write ``x``, ``psi``, ``basis`` and ``meta`` (a JSON string) to ``path`` atomically."""
        from qsntk.io import atomic_save_npz, to_jsonable

        atomic_save_npz(path, x=self.x, psi=self.psi, basis=self.basis,
                        meta=np.array([json.dumps(to_jsonable(self.meta))]))


def load_target(path: str | os.PathLike) -> Target:
    """Read a target written by :meth:`Target.save` (or ``qsntk target``), or one of your own.

    The file is an ``.npz`` archive (``np.savez``) with arrays ``x`` (real, ``(n, d)``: the
    network inputs, one row per basis state) and ``psi`` (``(n,)`` amplitudes of unit norm,
    in the row order of ``x``); ``basis`` (raw configurations) and ``meta`` (a 1-element
    string array holding a JSON object) are optional and default to an empty ``(n, 0)``
    array and ``{}``.

    Raises:
        InputError: the file is missing or is not an ``.npz`` archive of arrays, or its arrays
            are not a target: ``x`` real ``(n, d)``, ``psi`` ``(n,)`` numbers, both finite,
            ``psi`` of unit norm (to 1e-6), ``meta`` a JSON object (named).
    """
    import zipfile

    where = f"target {str(path)!r}"
    if not os.path.isfile(path):
        raise InputError(f"target file {str(path)!r} does not exist" if not os.path.exists(path)
                         else f"{where} is not a file")
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise InputError(f"{where} is one array, not an .npz archive with arrays x and psi")
        with data:
            missing = [k for k in ("x", "psi") if k not in data.files]
            if missing:
                raise InputError(f"{where} has no array {missing[0]!r} (it has "
                                 f"{', '.join(data.files) or 'none'}; a target needs x and psi)")
            x, psi = data["x"], data["psi"]
            basis = data["basis"] if "basis" in data.files else None
            meta = json.loads(str(data["meta"].reshape(-1)[0])) if "meta" in data.files else {}
    except InputError:
        raise
    except ValueError as exc:
        if "pickle" in str(exc):   # numpy's reading of a file that is not an array archive
            raise InputError(f"{where} is not an .npz archive of arrays (write one with "
                             "np.savez(path, x=..., psi=...) or `qsntk target`)") from None
        raise InputError(f"cannot read {where} ({type(exc).__name__}: {exc})") from None
    except (OSError, KeyError, IndexError, EOFError, zipfile.BadZipFile) as exc:
        raise InputError(f"cannot read {where} ({type(exc).__name__}: {exc})") from None
    x, psi = np.asarray(x), np.asarray(psi)
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1 or x.dtype.kind not in "biuf":
        raise InputError(f"{where}: x must be a real (n, d) array, got {x.dtype} {x.shape}")
    if psi.shape != (x.shape[0],) or psi.dtype.kind not in "biufc":
        raise InputError(f"{where}: psi must be {x.shape[0]} numbers (one per row of x), "
                         f"got {psi.dtype} {psi.shape}")
    for name, a in (("x", x), ("psi", psi)):
        if not np.all(np.isfinite(a)):
            raise InputError(f"{where}: {name} has non-finite entries")
    if not np.any(psi):
        raise InputError(f"{where}: psi is zero everywhere")
    norm = float(np.linalg.norm(psi))
    if abs(norm - 1.0) > 1e-6:
        raise InputError(f"{where}: psi has norm {norm:.8g}, not 1 (the losses of eqs. 16-18 "
                         "depend on it); save psi / np.linalg.norm(psi)")
    if not isinstance(meta, dict):
        raise InputError(f"{where}: meta must hold a JSON object, got {type(meta).__name__}")
    basis = np.zeros((x.shape[0], 0), np.int8) if basis is None else np.asarray(basis)
    return Target(x=x.astype(np.float64), psi=psi.astype(np.complex128), basis=basis, meta=meta)


MAX_TAU_NORM = 1e6
"""Largest ``tau × |H|_1`` a quench target accepts (≈ that many sparse mat-vecs)."""


def _check_tau(tau) -> None:
    if np.ndim(tau) != 0:
        raise InputError(f"tau must be one number, got {tau!r}")
    exact.check_times(tau)


def _check_initial(system: System, initial: str, initial_couplings: Mapping[str, float]) -> System:
    """Validate an initial-state choice; return the system whose ground state it is."""
    check_choice("initial state", initial, INITIAL_STATES)
    if initial == "plus":
        if system.is_fermionic or system.sz0:
            raise InputError(f"initial state 'plus' needs the full spin space, not {system.name!r}"
                             f"{' with sz0' if system.sz0 else ''}; use 'ground'")
        if initial_couplings:
            raise InputError("initial couplings apply to the 'ground' initial state only")
    return system.with_couplings(**initial_couplings)


def initial_state(system: System, initial: str, initial_couplings: Mapping[str, float]):
    """|ψ0⟩ in the basis of ``system``, and a JSON-able note of how it was made.

    Arguments:
        system: the system whose basis (and, for ``ground``, lattice/sector) is used.
        initial: ``plus`` (|+⟩^⊗N; full spin space only) or ``ground`` (ground
            state of ``system`` with ``initial_couplings`` substituted).

    Returns:
        ``(psi0, info)``: complex128 (dim,), unit norm; dict.
    """
    start = _check_initial(system, initial, initial_couplings)
    if initial == "plus":
        return exact.plus_state(system.n_sites), {"state": "plus"}
    e0, psi0 = exact.ground_state(start.sparse_hamiltonian())
    info = {"state": "ground", "couplings": dict(start.couplings), "E0": e0,
            "phase": "largest-|amplitude| entry real positive (first within 1e-8)",
            "method": "scipy eigsh (ARPACK Lanczos), seed 0"}
    return psi0.astype(np.complex128), info


def quench_target(system: System, *, tau: float, initial: str = "plus",
                  initial_couplings: Mapping[str, float] | None = None,
                  preset: str | None = None) -> Target:
    """|ψ_T⟩ = e^{−iHτ}|ψ0⟩ with H = ``system`` (Luo–Halverson sec. 6).

    Arguments:
        system: the Hamiltonian that evolves the state (e.g. H_f at U = 8).
        tau: evolution time τ >= 0.
        initial: ``plus`` or ``ground`` (see :func:`initial_state`).
        initial_couplings: couplings of the ground-state Hamiltonian (e.g. ``{"U": 4}``).
        preset: recorded in ``meta`` when the target is a preset.

    Returns:
        a :class:`Target` with ``system.dim`` amplitudes.
    """
    _check_tau(tau)
    psi0, info = initial_state(system, initial, dict(initial_couplings or {}))
    H = system.sparse_hamiltonian()
    # the Krylov evolution costs about tau * |H|_1 mat-vecs: refuse what would not finish
    norm1 = float(abs(H).sum(axis=0).max()) if H.shape[0] else 0.0
    if float(tau) * norm1 > MAX_TAU_NORM:
        raise InputError(f"tau = {float(tau):g} needs about {float(tau) * norm1:.2g} Krylov "
                         f"mat-vecs for this Hamiltonian (|H|_1 = {norm1:.4g}); tau up to "
                         f"{MAX_TAU_NORM / norm1:.4g} is allowed")
    psi = exact.evolve(H, psi0, float(tau))
    norm = float(np.linalg.norm(psi))
    psi = psi / norm
    basis = system.basis()
    meta = {"preset": preset, **system.describe(), "tau": float(tau), "initial": info,
            "how": "psi = expm_multiply(-1j*tau*H, psi0) (scipy Krylov), renormalized",
            "norm_before_renormalizing": norm,
            "energy": exact.energy(H, psi), "energy_initial": exact.energy(H, psi0),
            "basis_order": BASIS_ORDER,
            "encoding": ("spins: sigma_z = +-1" if not system.is_fermionic else
                         "per site: hole -1.5, down -0.5, up +0.5, double +1.5"),
            "reference": "Luo & Halverson, sec. 6 (eqs. 19, 20)"}
    return Target(x=system.encode(basis), psi=psi.astype(np.complex128), basis=basis, meta=meta)


def target_system(name: str, *, pbc: bool | None = None, tau: float | None = None,
                  lx: int | None = None, ly: int | None = None,
                  n_up: int | None = None, n_down: int | None = None, sz0: bool = False,
                  initial: str | None = None,
                  initial_couplings: Mapping[str, float] | None = None,
                  **couplings: float) -> tuple[System, dict[str, Any]]:
    """Resolve a preset (with overrides) or a registry system into a validated quench.

    Everything is checked here, before any computation or file is touched.

    Returns:
        ``(system, settings)`` with settings ``tau``, ``initial``,
        ``initial_couplings``, ``preset`` — the keyword arguments of :func:`quench_target`.
    """
    if name in PRESETS:
        p = PRESETS[name]
        sys_name, preset = p["system"], name
        lx = p["lx"] if lx is None else lx
        ly = p["ly"] if ly is None else ly
        n_up = p.get("n_up") if n_up is None else n_up
        n_down = p.get("n_down") if n_down is None else n_down
        couplings = {**p["couplings"], **couplings}
        tau = p["tau"] if tau is None else tau
        initial = p["initial"] if initial is None else initial
        if initial_couplings is None:
            initial_couplings = p["initial_couplings"]
    elif name in SYSTEMS:
        sys_name, preset = name, None
        if lx is None:
            raise InputError(f"a custom {name} target needs the lattice side lx")
        if tau is None:
            raise InputError(f"a custom {name} target needs tau")
        ly = 1 if ly is None else ly
        if initial is None:
            initial = "ground" if SYSTEMS[name][0] == "fermion" or sz0 else "plus"
    else:
        raise InputError(f"unknown target {name!r}; choose a preset ({', '.join(PRESETS)}) "
                         f"or a system ({', '.join(SYSTEMS)})")
    pbc = True if pbc is None else pbc
    system = make_system(sys_name, lx=lx, ly=ly, pbc=pbc, n_up=n_up, n_down=n_down,
                         sz0=sz0, **couplings)
    _check_tau(tau)
    initial_couplings = dict(initial_couplings or {})
    _check_initial(system, initial, initial_couplings)
    return system, {"tau": float(tau), "initial": initial,
                    "initial_couplings": initial_couplings, "preset": preset}


def make_target(name: str, **kwargs) -> Target:
    """A preset (``tfim-quench``, ``hubbard-quench``) or a custom quench target.

    Arguments:
        name: a preset, or a registry system name for a custom quench.
        **kwargs: overrides/settings of :func:`target_system` (``pbc`` defaults to True).

    Returns:
        a :class:`Target`.

    Example:
        >>> t = make_target("hubbard-quench")                 # periodic 3×4, 4356 states
        >>> t = make_target("tfim-quench", pbc=False)
        >>> t = make_target("j1j2", lx=4, ly=1, tau=1.0, sz0=True,
        ...                 initial="ground", initial_couplings={"J2": 0.0})
    """
    system, settings = target_system(name, **kwargs)
    return quench_target(system, **settings)
