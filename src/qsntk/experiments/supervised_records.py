"""What a supervised-learning run takes from records already on disk.

A cell (one target, train size and width) is finished when its ``metrics.json`` entry is
logged at every step of the grid (:func:`finished_record`); a run resumes its own cells, and
``--reuse`` takes cells of other runs that trained the same cell (:func:`adopt_cell`), from
their checkpoints or, for runs kept without them, from their finished records.
"""

from __future__ import annotations

import json
from pathlib import Path

from qsntk.errors import InputError
from qsntk.experiments.supervised_config import DEFAULTS

def _recorded_config(out) -> dict | None:
    try:
        old = json.loads((Path(out) / "config.json").read_text())
    except (OSError, ValueError):
        return None
    return old if isinstance(old, dict) else None


def as_recorded(out, cfg: dict) -> dict:
    """``cfg`` without settings added after ``out`` was created, where they have their
    default value (so runs made before a new option existed still resume); a run made before
    target files were fingerprinted (``target_digests``) resumes without them."""
    old = _recorded_config(out)
    if old is None:
        return cfg
    return {k: v for k, v in cfg.items()
            if k in old or (v != DEFAULTS.get(k, object()) and k != "target_digests")}


def check_target_files(out, cfg: dict) -> None:
    """Refuse to resume ``out`` on a target file whose ``x`` or ``psi`` changed since the run
    was made there (its :meth:`~qsntk.physics.targets.Target.digest` differs), naming the
    file: the path alone would let the run continue on the old target's curves.

    Raises:
        InputError: a target file at the same place in ``targets`` has another digest.
    """
    old = _recorded_config(out)
    if old is None or old.get("targets") != cfg["targets"]:
        return
    then, now = old.get("target_digests") or [], cfg.get("target_digests") or []
    for t, a, b in zip(cfg["targets"], then, now):
        if a is not None and b is not None and a != b:
            raise InputError(f"target file {t!r} has changed since the run in {str(out)!r} was "
                             f"made (x/psi digest {a} then, {b} now); use another --out or "
                             "--overwrite")


# settings that do not change what one ensemble cell computes
_NOT_PER_CELL = ("targets", "train_sizes", "widths", "checkpoint_s", "linearized", "drift",
                 "target_digests")


def _cell_settings(cfg: dict, target_index: int) -> dict:
    full = {**DEFAULTS, **cfg}
    digests = full["target_digests"] or [None] * len(full["targets"])
    return {**{k: v for k, v in full.items() if k not in _NOT_PER_CELL},
            "target": full["targets"][target_index], "target_digest": digests[target_index]}


_CELL_META = ("target", "n_train", "width", "analytic")


def finished_record(cell, grid, members: int, meta: dict | None = None) -> dict | None:
    """The logged records of a cell entry of ``metrics.json`` when it is complete and fits
    this cell; None otherwise (the cell is then trained).

    Complete: logged at every step of ``grid`` (the log-spaced steps), or at a prefix of
    it and stopped as diverged. Fits: ``members`` losses per logged step on both sets,
    and ``meta`` (``target``, ``n_train``, ``width``) equal to the entry's where it has them.
    """
    if not isinstance(cell, dict) or not cell.get("steps"):
        return None
    try:
        steps = [int(v) for v in cell["steps"]]
        grid = [int(g) for g in grid]
        full = steps == grid or (bool(cell.get("diverged")) and steps == grid[: len(steps)])
        shaped = all(len(cell[part]) == len(steps) and all(len(r) == members for r in cell[part])
                     for part in ("train", "test"))
    except (KeyError, TypeError, ValueError):
        return None
    if not (full and shaped) or any(k in cell and cell[k] != v for k, v in (meta or {}).items()):
        return None
    return {k: v for k, v in cell.items() if k not in _CELL_META}


def adopt_cell(run, name: str, cfg: dict, target_index: int, reuse, *, grid=None,
               meta: dict | None = None, eta: float | None = None,
               analytic_key: str | None = None) -> tuple[str | None, dict | None]:
    """Start cell ``name`` from the first run directory in ``reuse`` that trained the same
    cell (same target at the same index, seed, members, steps, …).

    From a directory with the cell's checkpoint, the checkpoint is copied and the cell
    resumes from it (a finished cell is not retrained). From one with only ``config.json``
    and ``metrics.json`` (a run kept without its checkpoints, e.g. a long reproduction's
    results committed cell by cell), a *finished* cell's records are taken as they are
    (:func:`finished_record` on ``grid``, default the log-spaced steps of ``cfg``, and
    ``meta``). Nothing is adopted when ``run`` has the cell's checkpoint already (the
    caller checks its own finished records first).

    Both are taken when both are there: a checkpoint left from a session that stopped
    inside the cell is behind the records once the cell has finished elsewhere, and
    :func:`train_cell` then keeps the records.

    ``eta`` (this run's learning rate for the cell, from its own ∞-NTK) is checked against
    the one the source recorded under ``analytic_key``: a cell trained at another rate
    (kernels computed differently) is not continued at this one.

    Raises:
        InputError: the source's learning rate differs from ``eta`` by more than 1e-9.

    Returns:
        ``(directory, records)``: where it came from (None if nowhere) and the finished
        records found there (None if the cell is not finished there).
    """
    import shutil

    from qsntk.io import call_atomically

    mine = run.checkpoint_path(name)
    if mine.exists():
        return None, None
    want = _cell_settings(cfg, target_index)
    for d in reuse:
        d = Path(d)
        src = d / mine.relative_to(run.path)
        try:
            other = json.loads((d / "config.json").read_text())
        except (OSError, ValueError):
            continue
        if target_index >= len(other.get("targets", [])) or _cell_settings(other, target_index) != want:
            continue
        try:
            recorded = json.loads((d / "metrics.json").read_text())
            cells = recorded.get("cells", {})
            theirs = recorded.get("analytic", {}).get(analytic_key, {}).get("eta")
        except (OSError, ValueError, AttributeError):
            cells, theirs = {}, None
        if eta is not None and theirs is not None and abs(float(theirs) / eta - 1.0) > 1e-9:
            raise InputError(f"--reuse {str(d)!r}: cell {name} was trained at learning rate "
                             f"{float(theirs):.12g}, this run's is {eta:.12g} (the kernels "
                             "differ); drop that --reuse or rerun it")
        if grid is None:
            from qsntk.dynamics.ensemble import log_steps

            grid = log_steps(cfg["steps"], cfg["n_log"])
        rec = finished_record(cells.get(name) if isinstance(cells, dict) else None, grid,
                              want["members"], meta)
        if src.is_file():   # with finished records too: train_cell keeps whichever is further
            call_atomically(mine, lambda tmp, src=src: shutil.copyfile(src, tmp))
        if src.is_file() or rec is not None:
            return str(d), rec
    return None, None


def resumed_metrics(run) -> dict:
    """``metrics.json`` of a resumed run, its layout checked where the run reads it (a
    hand-edited or foreign file is named in one line instead of failing deep inside)."""
    m = run.load_metrics()
    where = f"metrics.json in {str(run.path)!r}"
    if not isinstance(m, dict):
        raise InputError(f"{where} is not a JSON object; rerun with --overwrite to start afresh")
    m.setdefault("analytic", {})
    m.setdefault("cells", {})
    for part in ("analytic", "cells"):
        if not isinstance(m[part], dict) or not all(isinstance(v, dict) for v in m[part].values()):
            raise InputError(f"{where}: {part!r} must map names to objects; rerun with --overwrite")
    for k, a in m["analytic"].items():
        eta = a.get("eta")
        if not isinstance(eta, (int, float)) or isinstance(eta, bool) or not 0 < eta < float("inf"):
            raise InputError(f"{where}: analytic entry {k!r} has no valid learning rate 'eta' "
                             f"(got {eta!r}); rerun with --overwrite")
    return m
