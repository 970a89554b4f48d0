"""Physics layer: lattice systems, exact solvers and target wavefunctions.

* :mod:`qsntk.physics.systems` — the registry (``tfim``, ``heisenberg``, ``j1j2``,
  ``hubbard``) and :class:`System` (basis, encodings, fast sparse H, NetKet objects);
* :mod:`qsntk.physics.exact` — Lanczos ground/excited states, Krylov real-time evolution;
* :mod:`qsntk.physics.targets` — quench targets, the presets of Luo–Halverson sec. 6.

Conventions (basis order, fermion ordering, signs) are in ``docs/physics.md``.
"""

from qsntk.physics.exact import (energy, evolve, fix_phase, ground_state, lowest_states,
                                 plus_state)
from qsntk.physics.systems import MAX_DIM, SYSTEMS, Couplings, System, make_system
from qsntk.physics.targets import (PRESETS, Target, load_target, make_target, quench_target,
                                   target_system)

__all__ = [
    "SYSTEMS", "MAX_DIM", "Couplings", "System", "make_system",
    "lowest_states", "ground_state", "fix_phase", "plus_state", "evolve", "energy",
    "PRESETS", "Target", "make_target", "quench_target", "target_system", "load_target",
]
