"""What determines a VMC run, and its validation before anything is written.

:class:`VMCConfig` is the run directory's ``config.json``; :func:`validate` checks
every field, resolves the ``auto`` choices (sampler, complex parameters) and refuses
sizes whose memory (:func:`memory_lower_bound`) this machine does not have, so a
refused run leaves no file behind. :mod:`qsntk.vmc.driver` runs a validated config.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from qsntk.errors import (InputError, check_choice, check_finite, check_int_at_least, check_memory,
                          check_positive)
from qsntk.vmc.models import ModelSpec, make_model
from qsntk.vmc.samplers import resolve_sampler

__all__ = ["OPTIMIZERS", "VMCConfig", "validate", "system_of", "MAX_SITES", "memory_lower_bound"]

#: name -> description
OPTIMIZERS: dict[str, str] = {
    "sgd": "plain stochastic gradient descent (nk.driver.VMC + optax.sgd)",
    "adam": "Adam (nk.driver.VMC + optax.adam)",
    "sr": "stochastic reconfiguration with diagonal shift (nk.driver.VMC_SR); "
          "kernel form (minSR) when parameters outnumber samples",
    "minsr": "stochastic reconfiguration, always in kernel form (VMC_SR use_ntk=True)",
}


@dataclasses.dataclass(frozen=True)
class VMCConfig:
    """Everything that determines a VMC run (JSON-able; the run directory's ``config.json``).

    Attributes:
        system, lx, ly, pbc, couplings, n_up, n_down, sz0: the system, as
            :func:`qsntk.physics.make_system`.
        model: a :class:`~qsntk.vmc.models.ModelSpec` as dict (name, alpha, layers,
            features, complex).
        sampler: a key of :data:`~qsntk.vmc.samplers.SAMPLERS`.
        n_chains: Markov chains; n_samples: samples per step; n_discard: discarded
            sweeps per chain (None: NetKet's default).
        optimizer: a key of :data:`OPTIMIZERS`; lr: learning rate η at the start;
            lr_end: η at the last step (geometric interpolation; None: constant);
            diag_shift: ε of SR at the start; diag_shift_end: ε at the last step
            (geometric interpolation; None: constant).
        steps: optimization steps; lens_every: steps between lens evaluations
            (0: never); checkpoint_every: steps between checkpoints.
        seed: the run's seed (parameters ``seed``, sampler ``seed + 1``).
        reference_energy_per_site: a published ground-state energy per site
            (e.g. quantum Monte Carlo) to measure the error against where
            Lanczos cannot run (None: none).
    """

    system: str
    lx: int
    ly: int = 1
    pbc: bool = True
    couplings: dict = dataclasses.field(default_factory=dict)
    n_up: int | None = None
    n_down: int | None = None
    sz0: bool = False
    model: dict = dataclasses.field(default_factory=lambda: ModelSpec().to_dict())
    sampler: str = "auto"
    n_chains: int = 16
    n_samples: int = 1024
    n_discard: int | None = None
    optimizer: str = "sr"
    lr: float = 0.01
    lr_end: float | None = None
    diag_shift: float = 0.01
    diag_shift_end: float | None = None
    steps: int = 300
    lens_every: int = 10
    checkpoint_every: int = 50
    seed: int = 0
    reference_energy_per_site: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def system_of(cfg: VMCConfig):
    from qsntk.physics import make_system

    # Monte Carlo runs at any size; exact references only where the basis fits
    return make_system(cfg.system, lx=cfg.lx, ly=cfg.ly, pbc=cfg.pbc, n_up=cfg.n_up,
                       n_down=cfg.n_down, sz0=cfg.sz0, exact=False, **dict(cfg.couplings))


def validate(cfg: VMCConfig) -> VMCConfig:
    """Check every field (before anything is written) and resolve ``auto`` choices.

    Returns:
        the config with the model's ``complex`` and the sampler resolved.

    Raises:
        InputError: naming the first bad value.
    """
    system = system_of(cfg)
    if system.n_sites > MAX_SITES:
        raise InputError(f"VMC is limited to {MAX_SITES} sites, got {system.n_sites} "
                         f"({cfg.lx}x{cfg.ly}): NetKet builds the operator term by term "
                         "(17 s at 64x64) and one step then takes minutes")
    spec = ModelSpec(**cfg.model) if isinstance(cfg.model, dict) else cfg.model
    _, spec = make_model(spec, system)
    sampler = resolve_sampler(cfg.sampler, system, spec.name)
    check_int_at_least("chains", cfg.n_chains, 1)
    check_int_at_least("samples", cfg.n_samples, 1)
    if cfg.n_discard is not None:
        check_int_at_least("discard", cfg.n_discard, 0)
    check_choice("optimizer", cfg.optimizer, OPTIMIZERS)
    check_positive("lr", cfg.lr)
    if cfg.lr_end is not None:
        check_positive("lr_end", cfg.lr_end)
    check_positive("diag_shift", cfg.diag_shift, strict=False)
    if cfg.diag_shift_end is not None:
        check_positive("diag_shift_end", cfg.diag_shift_end)
        if cfg.diag_shift <= 0:
            raise InputError("diag_shift_end needs a positive diag_shift to interpolate from")
    if cfg.optimizer in ("sr", "minsr") and cfg.diag_shift <= 0:
        raise InputError(f"diag_shift must be > 0 for optimizer {cfg.optimizer!r}, got {cfg.diag_shift!r}")
    check_int_at_least("steps", cfg.steps, 1)
    check_int_at_least("lens_every", cfg.lens_every, 0)
    check_int_at_least("checkpoint_every", cfg.checkpoint_every, 1)
    check_int_at_least("seed", cfg.seed, 0)
    ref = cfg.reference_energy_per_site
    if ref is not None:
        try:
            ref = float(ref)
        except (TypeError, ValueError):
            raise InputError(f"reference_energy_per_site must be a number, got {ref!r}") from None
        check_finite("reference_energy_per_site", ref)
        if ref == 0:
            raise InputError("reference_energy_per_site must be nonzero (it divides the error)")
    if sampler not in ("direct", "exact") and cfg.n_samples < cfg.n_chains:
        raise InputError(f"samples ({cfg.n_samples}) must be at least chains ({cfg.n_chains})")
    check_memory(f"VMC with {cfg.n_samples} samples, {cfg.n_chains} chains and model "
                 f"{_model_words(spec)} on {system.n_sites} sites",
                 memory_lower_bound(system, spec, n_samples=cfg.n_samples,
                                    n_chains=cfg.n_chains, optimizer=cfg.optimizer,
                                    lens_every=cfg.lens_every))
    return dataclasses.replace(cfg, model=spec.to_dict(), sampler=sampler, lr=float(cfg.lr),
                               diag_shift=float(cfg.diag_shift), reference_energy_per_site=ref,
                               couplings={k: float(v) for k, v in dict(cfg.couplings).items()})


#: the largest lattice (sites) VMC accepts. Measured on the 2-core machine, NetKet's
#: ``LocalOperator`` built term by term takes 0.3–2.6 s at 20x20 (tfim, heisenberg, j1j2),
#: 3–4 s at 32x32, 9 s (heisenberg) at 50x50 and 17 s at 64x64, growing faster than
#: linearly (1000x1000 did not finish); a 10x10 step with 1024 samples already takes
#: ~35 s. 64x64 is far beyond what a run can converge, but still builds in seconds.
MAX_SITES = 4096


def _model_words(spec: ModelSpec) -> str:
    uses = {"rbm": ("alpha",), "ffnn": ("alpha",), "rbmsymm": ("alpha",),
            "backflow": ("alpha",), "gcnn": ("layers", "features"), "ar": ("layers", "features")}
    return spec.name + "".join(f" {k}={getattr(spec, k)!r}" for k in uses.get(spec.name, ()))


def memory_lower_bound(system, spec: ModelSpec, *, n_samples: int, n_chains: int,
                       optimizer: str = "sr", lens_every: int = 0) -> float:
    """A lower bound on the bytes a VMC step holds at once, from the sizes alone.

    Counted: the parameters (8 bytes per real one; complex ones count twice), the
    samples and chain states (``(n_samples + n_chains) x n_cols`` int8), the activations
    of log ψ on the samples (``n_samples x`` hidden width, for the models with one) and,
    where SR or the lens builds it, the Jacobian of log ψ (``n_samples x`` parameters).
    The parameter counts are those of the model's shape, without biases:

    * rbm, ffnn: α·N hidden units × N inputs; rbmsymm: the same after symmetrization
      (NetKet expands the symmetric kernel to α·N × N);
    * gcnn: ``features² × |G|`` per layer (|G| = the lattice's space group);
    * ar: ``N² × features`` per layer (masked dense layers);
    * slater: 2N × N_f orbitals; backflow: α·2N hidden × 2N × (1 + N_f).

    Arguments:
        system: the :class:`~qsntk.physics.System`; spec: a validated :class:`ModelSpec`.
        n_samples, n_chains: samples per step, Markov chains.
        optimizer: a key of :data:`OPTIMIZERS`; lens_every: 0 when the lens is off.

    Returns:
        bytes (float: the products may exceed any integer type).
    """
    n, cols = float(system.n_sites), float(system.n_cols)
    a = float(spec.alpha)
    hidden = a * cols
    if spec.name in ("rbm", "ffnn", "rbmsymm"):
        n_par = hidden * cols
    elif spec.name == "gcnn":
        group = float(len(system.graph.space_group()))
        n_par = spec.layers * float(spec.features) ** 2 * group
        hidden = spec.features * group
    elif spec.name == "ar":
        n_par = spec.layers * n * n * float(spec.features)
        hidden = spec.features * n
    elif spec.name == "slater":
        n_par = cols * float(system.n_up + system.n_down)
        hidden = 0.0
    else:                                                # backflow
        n_par = hidden * cols * (1.0 + float(system.n_up + system.n_down))
    real_bytes = 16.0 if spec.complex else 8.0
    total = n_par * real_bytes + (float(n_samples) + float(n_chains)) * cols
    total += float(n_samples) * hidden * real_bytes
    if optimizer in ("sr", "minsr") or lens_every:
        total += float(n_samples) * n_par * real_bytes
    return total
