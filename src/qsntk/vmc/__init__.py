"""Variational Monte Carlo on NetKet, seen through the quantum-state NTK.

* :mod:`qsntk.vmc.models` — RBM, FFNN, GCNN, autoregressive, Slater and Slater-backflow;
* :mod:`qsntk.vmc.samplers` — local, exchange, Hamiltonian, fermion-hop, direct, exact;
* :mod:`qsntk.vmc.run_config` — :class:`VMCConfig` and its :func:`validate`;
* :mod:`qsntk.vmc.driver` — :func:`run_vmc`: SGD/Adam/SR/minSR with per-step
  diagnostics (energy, variance, R̂, τ_corr, acceptance), checkpoints and the lens;
* :mod:`qsntk.vmc.errorbars` — error bars of the mean of correlated per-step energies;
* :mod:`qsntk.vmc.lens` — the sample-space QS-NTK (Θ_s, Φ_s, Ω_RI) whose nonzero
  spectrum is that of the quantum geometric tensor S.

See ``docs/vmc.md``.
"""

from qsntk.vmc.driver import RhatWarning, build, run_vmc
from qsntk.vmc.run_config import OPTIMIZERS, VMCConfig, validate
from qsntk.vmc.models import MODELS, ModelSpec, make_model
from qsntk.vmc.samplers import SAMPLERS, make_sampler

__all__ = ["MODELS", "ModelSpec", "make_model", "SAMPLERS", "make_sampler", "OPTIMIZERS",
           "RhatWarning", "VMCConfig", "build", "run_vmc", "validate"]
