"""Settings of a supervised-learning run (``qsntk supervised``): defaults and validation.

Kept apart from the driver (:mod:`qsntk.experiments.supervised`) so that the run-directory
bookkeeping (:mod:`qsntk.experiments.supervised_records`) can read them without importing it.
"""

from __future__ import annotations

from pathlib import Path

from qsntk.errors import InputError, check_choice, check_int_at_least, check_positive

DEFAULTS = dict(
    targets=["tfim-quench"], train_sizes=[2400], widths=[300, 1000, 5000], members=10,
    steps=10_000, n_log=60, eta_factor=0.9, activation="relu", depth=1, W_std=0.5, b_std=0.1,
    parameterization="ntk", precision="float32", seed=0, chunk=128, checkpoint_s=120.0,
    linearized=False, drift=False, target_digests=None,
)
"""The settings of a run. ``target_digests`` is not chosen but recorded: for each target
file, :meth:`~qsntk.physics.targets.Target.digest` of its ``x`` and ``psi`` (None for a preset),
so that a rerun on a file since rewritten is refused instead of resuming on the old results."""


def make_config(**overrides) -> dict:
    """A complete, validated config from :data:`DEFAULTS` and ``overrides``."""
    unknown = set(overrides) - set(DEFAULTS)
    if unknown:
        raise InputError(f"unknown setting(s) {sorted(unknown)}; known: {sorted(DEFAULTS)}")
    cfg = {**DEFAULTS, **overrides}
    cfg["targets"] = [str(t) for t in cfg["targets"]]
    for k in ("train_sizes", "widths"):
        cfg[k] = sorted({int(v) for v in cfg[k]})
    validate(cfg)
    return cfg


def validate(cfg: dict) -> None:
    """Raise :class:`InputError` naming the first bad setting (before anything is written)."""
    from qsntk.nets.activations import ACTIVATIONS
    from qsntk.physics.targets import PRESETS

    if not cfg["targets"]:
        raise InputError("give at least one target")
    for t in cfg["targets"]:
        if t in PRESETS:
            continue
        if t.endswith(".npz"):
            if not Path(t).is_file():
                raise InputError(f"target file {t!r} does not exist" if not Path(t).exists()
                                 else f"target {t!r} is not a file")
            continue
        raise InputError(f"unknown target {t!r}; choose a preset ({', '.join(PRESETS)}) "
                         "or a target file (.npz, written by `qsntk target` or np.savez with x "
                         "and psi)")
    from qsntk.experiments.supervised_plots import _label

    labels = [_label(t) for t in cfg["targets"]]
    for i, lab in enumerate(labels):
        if lab in labels[:i]:
            raise InputError(f"target {cfg['targets'][i]!r} repeats the name {lab!r} of an earlier "
                             "target (figures and metrics are kept per name)")
    for k in ("train_sizes", "widths"):
        if not cfg[k]:
            raise InputError(f"{k.replace('_', ' ')} must not be empty")
        for v in cfg[k]:
            check_int_at_least(k[:-1].replace("_", " "), v, 1)
    check_int_at_least("members", cfg["members"], 1)
    check_int_at_least("steps", cfg["steps"], 1)
    check_int_at_least("n_log", cfg["n_log"], 2)
    check_int_at_least("depth", cfg["depth"], 1)
    check_int_at_least("chunk", cfg["chunk"], 1)
    check_positive("eta_factor", cfg["eta_factor"])
    if cfg["eta_factor"] >= 2.0:
        raise InputError(f"eta_factor must be below 2 (GD diverges), got {cfg['eta_factor']}")
    check_positive("W_std", cfg["W_std"])
    check_positive("b_std", cfg["b_std"], strict=False)
    check_positive("checkpoint_s", cfg["checkpoint_s"])
    check_choice("activation", cfg["activation"], tuple(ACTIVATIONS))
    check_choice("parameterization", cfg["parameterization"], ("ntk", "standard"))
    check_choice("precision", cfg["precision"], ("float32", "float64"))
    check_int_at_least("seed", cfg["seed"], 0)
    if cfg["seed"] >= 2**31:  # the cells' network seeds are taken mod 2**31: s, s + 2**31 would collide
        raise InputError(f"seed must be below 2**31 = {2**31}, got {cfg['seed']}")
    d = cfg["target_digests"]
    if d is not None and not (isinstance(d, list) and len(d) == len(cfg["targets"])
                              and all(v is None or isinstance(v, str) for v in d)):
        raise InputError(f"target_digests must be None or one string (or None) per target, got {d!r}")
    for k in ("linearized", "drift"):
        if not isinstance(cfg[k], bool):
            raise InputError(f"{k} must be true or false, got {cfg[k]!r}")
