r"""The state of a supervised-learning run directory, cell by cell (``qsntk status``).

Pure functions of ``config.json`` and ``metrics.json``: a reproduction that runs for
hours can be read while it trains, or after it was carried elsewhere as those two
files (see :func:`qsntk.experiments.supervised_records.adopt_cell`).

The total MSE of Fig. 3 of Luo–Halverson is the loss over the whole basis,

.. math:: L_{\rm tot} = \frac{|B|\,L_{\rm train} + |T|\,L_{\rm test}}{|B| + |T|},

for each member at one logged step, and for the ∞-NNQS the same combination of
eq. 18 on the train and test sets.
"""

from __future__ import annotations

import math

import numpy as np

from qsntk.experiments.supervised import TWIN_BLOWUP

__all__ = ["total_mse", "theory_total", "cell_rows", "estimate_left", "format_duration", "format_rows",
           "format_markdown", "gap_rows", "format_gap_markdown", "twin_losses", "draw_figures"]


def total_mse(c: dict, a: dict, step_index: int = -1) -> np.ndarray:
    """Per-member MSE over all states, ``(|B| L_train + |T| L_test) / n``, at one logged step.

    Arguments:
        c: a cell of ``metrics["cells"]``; a: its entry of ``metrics["analytic"]``.

    Returns:
        ``(members,)``.
    """
    n_tr, n_te = a["n_train"], a["n_test"]
    tr, te = np.asarray(c["train"][step_index]), np.asarray(c["test"][step_index])
    return (n_tr * tr + n_te * te) / (n_tr + n_te)


def theory_total(a: dict, idx: int | None) -> float:
    """The ∞-NNQS total MSE (eq. 18 on train and test) at analytic step index ``idx``
    (``None``: at :math:`\\tau = \\infty`)."""
    n_tr, n_te = a["n_train"], a["n_test"]
    tr = a["train_psi_inf"] if idx is None else a["train_psi"][idx]
    te = a["test_psi_inf"] if idx is None else a["test_psi"][idx]
    return (n_tr * tr + n_te * te) / (n_tr + n_te)


def _state(c: dict | None, steps: int) -> str:
    if not c or not c.get("steps"):
        return "not started"
    if c.get("diverged"):
        return "diverged"
    return "done" if int(c["steps"][-1]) >= steps else "partial"


def cell_rows(cfg: dict, metrics: dict) -> list[dict]:
    """One row per (target, train size, width) of ``cfg``, in the order they are trained.

    Each row: ``target``, ``n_train``, ``width``, ``state`` (``done``; ``partial``: part of
    the way, still training or stopped; ``not started``; ``diverged``), ``epoch`` (last
    logged) of ``steps``, ``wall_s`` (training time so far), and once logged: the ensemble mean train and test losses
    and the ∞-NNQS ones (eq. 18) at that epoch, the total MSE (mean and std over
    members) and its ∞-NNQS value at that epoch and at :math:`\\tau = \\infty`.

    Raises:
        InputError: ``metrics`` does not have the layout a supervised run writes, or does not
            belong to ``cfg`` (named in one line).
    """
    return _as_layout_error(_rows, cfg, metrics)


def _as_layout_error(fn, *args):
    """``fn(*args)``, a records layout it cannot read named in one line (``InputError``)."""
    from qsntk.errors import InputError

    try:
        return fn(*args)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        raise InputError("metrics.json does not match a supervised run of its config.json "
                         f"({type(exc).__name__}: {exc})") from None


def _cells(cfg: dict, metrics: dict):
    """``(target, |B|, width, cell or None, its analytic entry or None)`` in training order."""
    from qsntk.experiments.supervised import _cell_name

    if not isinstance(metrics, dict):
        raise TypeError(f"metrics is a {type(metrics).__name__}, not an object")
    cells, analytic = metrics.get("cells", {}), metrics.get("analytic", {})
    for ti, tname in enumerate(cfg["targets"]):
        for n in cfg["train_sizes"]:
            for w in cfg["widths"]:
                c = cells.get(_cell_name(ti, n, w))
                a = analytic.get(c.get("analytic", f"t{ti}_n{n}")) if c else None
                yield tname, n, w, c, a


def _rows(cfg: dict, metrics: dict) -> list[dict]:
    steps = int(cfg["steps"])
    rows = []
    for tname, n, w, c, a in _cells(cfg, metrics):
        row = {"target": str(tname), "n_train": int(n), "width": int(w),
               "state": _state(c, steps),
               "epoch": int(c["steps"][-1]) if c and c.get("steps") else 0,
               "steps": steps, "wall_s": float(c.get("wall_s", 0.0)) if c else 0.0}
        # the step its wall time belongs to: the checkpoint's (runs before it was
        # recorded: the last logged epoch)
        row["trained"] = int(c.get("trained_steps", row["epoch"])) if c else 0
        if c and c.get("steps") and a is not None and not c.get("diverged"):
            i = a["steps"].index(c["steps"][-1])
            tot = total_mse(c, a)
            row.update(train=float(np.mean(c["train"][-1])),
                       train_ntk=float(a["train_psi"][i]),
                       test=float(np.mean(c["test"][-1])), test_ntk=float(a["test_psi"][i]),
                       total=float(tot.mean()), total_std=float(tot.std()),
                       total_ntk=float(theory_total(a, i)),
                       total_ntk_inf=float(theory_total(a, None)))
        rows.append(row)
    return estimate_left(rows)


def estimate_left(rows: list[dict]) -> list[dict]:
    """Add ``left_s`` to every row: its training time still to come, estimated from the
    cells trained so far (``None`` while no cell of any width has trained).

    An epoch of full-batch GD on a one-hidden-layer network costs in proportion to
    :math:`|B| \times N` (its GEMMs), so each width's rate (seconds per epoch per train
    point) is fitted to that width's cells with a logged epoch, partial ones included; a
    width with none takes the nearest trained width's rate scaled by the width ratio. Epochs
    are counted to the step of the cell's last checkpoint (row ``trained``, which its
    ``wall_s`` belongs to; the last logged epoch where a row has none). Wall times include any
    time the run was paused or shared its cores, so this is a rough guide.
    """
    def done_steps(r):
        return max(int(r.get("trained", r["epoch"])), r["epoch"])

    trained = [r for r in rows if done_steps(r) > 0 and r["wall_s"] > 0]
    rate = {}
    for w in {r["width"] for r in trained}:
        mine = [r for r in trained if r["width"] == w]
        rate[w] = sum(r["wall_s"] for r in mine) / sum(done_steps(r) * r["n_train"] for r in mine)
    for r in rows:
        if r["state"] in ("done", "diverged"):
            r["left_s"] = 0.0
        elif not rate:
            r["left_s"] = None
        else:
            w = r["width"]
            per = rate.get(w)
            if per is None:
                near = min(rate, key=lambda v: (abs(np.log(v / w)), v))
                per = rate[near] * w / near
            r["left_s"] = per * r["n_train"] * max(r["steps"] - done_steps(r), 0)
    return rows


def format_duration(seconds: float) -> str:
    """A duration as a person reads it: seconds under a minute, minutes under an hour, hours
    above (``"0 s"``, ``"0.04 s"``, ``"4.2 s"``, ``"42 s"``, ``"7.3 min"``, ``"42 min"``,
    ``"2.4 h"``, ``"150 h"``: one decimal below ten of a unit, whole units above).
    Rounding never shows 60 of a smaller unit (59.7 s is ``"1.0 min"``).
    ``"unknown"`` for a negative or non-finite value.
    """
    s = float(seconds)
    if not math.isfinite(s) or s < 0:
        return "unknown"
    if s == 0:
        return "0 s"
    if s < 0.095:
        return f"{s:.1g} s"
    for value, unit, nxt in ((s, "s", 60.0), (s / 60, "min", 60.0), (s / 3600, "h", math.inf)):
        if round(value, 1) < 9.95:
            return f"{value:.1f} {unit}"
        if round(value) < nxt:
            return f"{value:.0f} {unit}"
    raise AssertionError("unreachable")


def _label(target: str) -> str:
    from pathlib import Path

    return Path(target).stem if target.endswith(".npz") else target


def format_rows(rows: list[dict]) -> str:
    """A plain-text table of :func:`cell_rows` (and a line with the totals); durations as
    :func:`format_duration` writes them."""
    head = (f"{'target':16s} {'|B|':>5s} {'width':>6s} {'state':>11s} {'epoch':>12s} {'wall':>8s} "
            f"{'test':>9s} {'test NTK':>9s} {'total MSE':>9s} {'NTK':>9s} {'NTK τ=∞':>9s}")
    lines = [head]
    for r in rows:
        ep = f"{r['epoch']}/{r['steps']}"
        line = (f"{_label(r['target'])[:16]:16s} {r['n_train']:5d} {r['width']:6d} {r['state']:>11s} "
                f"{ep:>12s} {format_duration(r['wall_s']):>8s}")
        if "total" in r:
            line += (f" {r['test']:9.3e} {r['test_ntk']:9.3e} {r['total']:9.3e} {r['total_ntk']:9.3e}"
                     f" {r['total_ntk_inf']:9.3e}")
        lines.append(line)
    done = sum(r["state"] in ("done", "diverged") for r in rows)
    tail = (f"{done} of {len(rows)} cells finished; training time so far "
            f"{format_duration(sum(r['wall_s'] for r in rows))}")
    left = [r.get("left_s") for r in rows if r["state"] not in ("done", "diverged")]
    if left and None not in left:
        tail += f"; about {format_duration(sum(left))} left at the rates so far"
    lines.append(tail)
    return "\n".join(lines)


def format_markdown(rows: list[dict]) -> str:
    """:func:`cell_rows` as a Markdown table (for ``docs/results.md``): the ensemble's test
    and total MSE at its last logged epoch against the ∞-NNQS at that epoch, their relative
    gap, and the ∞-NNQS total at :math:`\\tau = \\infty`."""
    lines = ["| target | \\|B\\| | width | state | epoch | wall | test: ensemble / NTK "
             "| total MSE (± std) | NTK, same epoch | gap | NTK τ=∞ |",
             "|---|--:|--:|---|--:|--:|--:|--:|--:|--:|--:|"]
    for r in rows:
        cells = [_label(r["target"]).replace("|", "\\|"), str(r["n_train"]), str(r["width"]), r["state"],
                 str(r["epoch"]), f"{r['wall_s']:.0f} s"]
        if "total" in r:
            gap = f"{100 * (r['total'] / r['total_ntk'] - 1):+.1f} %" if r["total_ntk"] else "—"
            cells += [f"{r['test']:.3e} / {r['test_ntk']:.3e}",
                      f"{r['total']:.3e} ± {r['total_std']:.1e}", f"{r['total_ntk']:.3e}",
                      gap, f"{r['total_ntk_inf']:.3e}"]
        else:
            cells += [""] * 5
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def twin_losses(c: dict, part: str, n_steps: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A cell's linearized-twin losses ``(T, E)`` as floats and the mask ``(E,)`` of twins that
    diverge.

    A twin keeps its member's empirical NTK frozen, so where η lies above that member's
    own :math:`\\eta_{\\max}` (a narrow network's λ_max can exceed the infinite kernel's by
    more than 1/0.9) its loss grows without bound, while the network itself, whose kernel
    moves, can still train. Such a twin (a non-finite loss, or one above
    :data:`~qsntk.experiments.supervised.TWIN_BLOWUP` = 10 times its start) is flagged
    rather than averaged.
    """
    L = np.asarray(c["linearized"][part], dtype=float)
    if n_steps is not None:
        L = L[:n_steps]
    with np.errstate(invalid="ignore"):
        bad = ~np.all(np.isfinite(L), axis=0) | np.any(L > TWIN_BLOWUP * L[:1], axis=0)
    return L, bad


def gap_rows(cfg: dict, metrics: dict, *, tolerance: float = 0.1) -> list[dict]:
    r"""The finite-width gap of every logged cell at its last logged epoch, split in two.

    Per cell and set (train, test), ensemble means of: the trained networks, eq. 17 from
    these members' own initial outputs with the *infinite* NTK (``members_eq17``), eq. 18
    (``ntk_eq18``, the expectation over initializations) and, where the run was made with
    ``--linearized``, each member's linearized twin (its own empirical NTK frozen at
    initialization, ``twins``; left out, with ``twins_diverged`` counting them, where some
    twins diverge: see :func:`twin_losses`). Then

    .. math:: \frac{\rm networks}{\rm eq.\,17}
              = \underbrace{\frac{\rm networks}{\rm twins}}_{\text{the kernel moves in training}}
                \times \underbrace{\frac{\rm twins}{\rm eq.\,17}}_{\text{the kernel at init} \ne \Theta_\infty},

    and ``held_until``: the last logged epoch up to which the networks stay within
    ``tolerance`` (relative) of eq. 17 at every logged epoch (``None``: not even at the first).

    Where the run was made with ``--drift``, the train rows also hold the members' means of
    :func:`qsntk.experiments.supervised.member_drift` at the end of training as
    ``drift_<key>`` (``drift_frob``, ``drift_slow_ratio``, ``drift_rate_net`` and, where no
    twin diverges, ``drift_rate_twin``, ``drift_parallel``, ``drift_orthogonal`` and, with
    ``--linearized``, ``drift_deviation``), with ``drift_epoch``, ``drift_members`` and
    ``drift_twins_diverged``.

    Raises:
        InputError: ``metrics`` does not have the layout a supervised run writes.
    """
    return _as_layout_error(_gap_rows, cfg, metrics, tolerance)


def _gap_rows(cfg: dict, metrics: dict, tolerance: float) -> list[dict]:
    rows = []
    for tname, n, w, c, a in _cells(cfg, metrics):
        if not c or not c.get("steps") or c.get("diverged") or "theory_members" not in c:
            continue
        if a is None:
            raise KeyError(f"analytic entry {c.get('analytic')!r}")
        steps = [int(v) for v in c["steps"]]
        for part in ("train", "test"):
            net = np.mean(c[part], axis=1)
            mem = np.mean(np.asarray(c["theory_members"][part])[: len(steps)], axis=1)
            bad = np.flatnonzero(np.abs(net / mem - 1.0) > tolerance)
            held = steps[-1] if bad.size == 0 else (steps[bad[0] - 1] if bad[0] > 0 else None)
            row = {"target": str(tname), "n_train": int(n), "width": int(w),
                   "members": int(np.shape(c[part])[1]), "epoch": steps[-1], "set": part,
                   "networks": float(net[-1]), "members_eq17": float(mem[-1]),
                   "ntk_eq18": float(a[f"{part}_psi"][a["steps"].index(steps[-1])]),
                   "networks_over_eq17": float(net[-1] / mem[-1]),
                   "held_until": held, "tolerance": float(tolerance)}
            if "linearized" in c:
                L, bad = twin_losses(c, part, len(steps))
                row["twins_diverged"] = int(bad.sum())
                if not bad.any():
                    tw = float(L[-1].mean())
                    row.update(twins=tw, networks_over_twins=float(net[-1] / tw),
                               twins_over_eq17=float(tw / mem[-1]))
            if part == "train" and "drift" in c:
                row.update(_drift_means(c["drift"], c))
            rows.append(row)
    return rows


def _drift_means(d: dict, c: dict) -> dict:
    r"""Member means of a cell's ``drift`` record; the twin's parts only where no twin diverged.

    With the twins' losses recorded (``--linearized``) also ``drift_deviation``, the rms
    difference of network and twin on the train set,
    :math:`\|r_{\rm net} - r_{\rm twin}\|/\sqrt{|B|} = \sqrt{(a-1)^2 + b^2}\,\sqrt{L_{\rm twin}}`.
    """
    out = {"drift_epoch": int(d["epoch"]), "drift_members": len(d["frob"])}
    mean = lambda k: float(np.mean(np.asarray(d[k], float)))  # noqa: E731 ("nan" as written)
    out.update({f"drift_{k}": mean(k) for k in ("frob", "slow_ratio", "rate_net")})
    bad = sum(v is None for v in d["rate_twin"])
    out["drift_twins_diverged"] = bad
    if not bad:
        out.update({f"drift_{k}": mean(k) for k in ("rate_twin", "parallel", "orthogonal")})
        steps = [int(v) for v in c["steps"]]
        if "linearized" in c and int(d["epoch"]) in steps:
            twin = np.asarray(c["linearized"]["train"], float)[steps.index(int(d["epoch"]))]
            a, b = np.asarray(d["parallel"], float), np.asarray(d["orthogonal"], float)
            out["drift_deviation"] = float(np.mean(np.sqrt(((a - 1) ** 2 + b**2) * twin)))
    return out


def format_gap_markdown(rows: list[dict]) -> str:
    """:func:`gap_rows` as a Markdown table (for ``docs/results.md``)."""
    tol = f"{100 * rows[0]['tolerance']:g} %" if rows else "10 %"
    lines = ["| target | \\|B\\| | width | members | set | epoch | networks | twins "
             "| eq. 17 (members' f₀) | eq. 18 | networks / eq. 17 | networks / twins "
             f"| twins / eq. 17 | within {tol} of eq. 17 until |",
             "|---|--:|--:|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for r in rows:
        tw = "twins" in r
        twins = (f"{r['twins']:.3e}" if tw else
                 f"{r['twins_diverged']} of {r['members']} diverge" if r.get("twins_diverged") else "—")
        lines.append("| " + " | ".join([
            _label(r["target"]).replace("|", "\\|"), str(r["n_train"]), str(r["width"]),
            str(r["members"]), r["set"], str(r["epoch"]), f"{r['networks']:.3e}", twins, f"{r['members_eq17']:.3e}", f"{r['ntk_eq18']:.3e}",
            f"{r['networks_over_eq17']:.3f}", f"{r['networks_over_twins']:.3f}" if tw else "—",
            f"{r['twins_over_eq17']:.3f}" if tw else "—",
            "never" if r["held_until"] is None else str(r["held_until"])]) + " |")
    drift = [r for r in rows if "drift_frob" in r]
    if drift:
        lines += ["", "Kernel drift in training (train set, mean over members; see `member_drift`):", "",
                  "| target | \\|B\\| | width | members | epoch | ‖K − K₀‖_F / ‖K₀‖_F "
                  "| slow spectrum K / K₀ | rate: twin in K₀ | network in K | r_net ∥ r_twin "
                  "| r_net ⟂ r_twin | ‖r_net − r_twin‖ / √\\|B\\| |",
                  "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
        for r in drift:
            tw = "drift_parallel" in r
            dash = f"{r['drift_twins_diverged']} of {r['drift_members']} twins diverge or fit"
            lines.append("| " + " | ".join([
                _label(r["target"]).replace("|", "\\|"), str(r["n_train"]), str(r["width"]),
                str(r["drift_members"]), str(r["drift_epoch"]), f"{r['drift_frob']:.3g}",
                f"{r['drift_slow_ratio']:.4f}", f"{r['drift_rate_twin']:.4g}" if tw else dash,
                f"{r['drift_rate_net']:.4g}", f"{r['drift_parallel']:.4f}" if tw else "—",
                f"{r['drift_orthogonal']:.4f}" if tw else "—",
                f"{r['drift_deviation']:.3e}" if "drift_deviation" in r else "—"]) + " |")
    return "\n".join(lines)


def draw_figures(cfg: dict, metrics: dict, out, *, title: str = "") -> list:
    """Fig. 2 (every (target, |B|), the cells as far as they have trained) and Fig. 3
    (finished cells only) of a supervised run's records, written to directory ``out``.

    Returns:
        the paths written.

    Raises:
        InputError: ``out`` cannot be a directory, or ``metrics`` is not a supervised run's.
    """
    from qsntk.errors import InputError
    from qsntk.experiments import supervised_plots as plots
    from qsntk.io import FigureDir

    cell_rows(cfg, metrics)  # the layout check, one line on failure
    d = FigureDir(out)
    if not metrics.get("analytic"):
        return []
    try:
        files = plots.fig2(d, metrics, title=title)
        if len(cfg["train_sizes"]) > 1:
            files += plots.fig3(d, metrics, title=title)
    except InputError:                    # e.g. the figure directory cannot be written
        raise
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise InputError("metrics.json does not match a supervised run of its config.json "
                         f"({type(exc).__name__}: {exc})") from None
    return files
