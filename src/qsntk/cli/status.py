"""``qsntk status DIR``: what a run directory holds and how far it has got."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import click

from qsntk.cli._common import print_json


_MISSING = object()


def _read(path: Path, what: str):
    from qsntk.errors import InputError

    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return _MISSING
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {what} {str(path)!r}: {exc}") from None


def check_figure_dir(path: str) -> Path:
    """Refuse, before anything is printed, a --figures-to that cannot receive figures.

    Creates the directory (and missing parents) and writes and removes a probe file in it;
    on failure the directories this created are removed again and the error is one line.
    """
    from qsntk.errors import InputError

    p = Path(path)
    if p.exists() and not p.is_dir():
        raise InputError(f"--figures-to {path!r} exists and is not a directory")
    created, q = [], p
    while not q.exists() and q != q.parent:
        created.append(q)
        q = q.parent
    try:
        p.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".qsntk-probe-", dir=p)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        for c in created:                      # deepest first
            try:
                c.rmdir()
            except OSError:
                pass
        raise InputError(f"--figures-to {path!r} cannot be written: {exc.strerror or exc}") from None
    return p


@click.command(short_help="Where a run directory stands, cell by cell")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON (stdout).")
@click.option("--markdown", is_flag=True, help="Supervised runs: print the cells as a Markdown table.")
@click.option("--figures-to", type=click.Path(file_okay=False), default=None,
              help="Supervised runs: draw Fig. 2 (cells so far) and Fig. 3 (finished cells) "
                   "into this directory (the run directory is not written).")
@click.option("--gap", is_flag=True,
              help="Supervised runs: the finite-width gap at each cell's last logged epoch, split "
                   "into networks/twins and twins/eq. 17 (twins: runs made with --linearized), "
                   "and the last epoch within 10 % of eq. 17; a Markdown table (--json: rows).")
def status(run_dir, as_json, markdown, figures_to, gap):
    """The state of run directory RUN_DIR, read from its config.json and metrics.json
    (safe while the run trains).

    For supervised runs (`qsntk supervised`, `reproduce luo2023-fig2/3`) one line per
    cell: state, epochs, training time, the ensemble's test and total MSE at its last
    logged epoch next to the infinite-width NTK's. Other runs (VMC, entanglement, QNTK):
    their config, metrics keys, how far each checkpointed piece has got (VMC: step
    k/steps) and files.
    """
    from qsntk.errors import InputError

    if as_json and markdown:
        raise InputError("--json and --markdown: choose one")
    d = Path(run_dir)
    cfg = _read(d / "config.json", "config")
    if cfg is _MISSING:
        raise InputError(f"{run_dir!r} is not a run directory (no config.json)")
    metrics = _read(d / "metrics.json", "metrics")
    metrics = {} if metrics is _MISSING else metrics
    if isinstance(cfg, dict) and {"targets", "train_sizes", "widths", "steps"} <= cfg.keys():
        from qsntk.experiments.supervised_status import cell_rows, format_rows

        if gap and markdown:
            raise InputError("--gap prints Markdown already; drop --markdown")
        if gap:
            from qsntk.experiments.supervised_status import gap_rows

            rows = gap_rows(cfg, metrics)
        else:
            rows = cell_rows(cfg, metrics)
        if figures_to is not None:           # before anything is printed
            check_figure_dir(figures_to)
        if gap:
            from qsntk.experiments.supervised_status import format_gap_markdown

            print_json(rows) if as_json else click.echo(format_gap_markdown(rows))
        elif as_json:
            print_json(rows)
        elif markdown:
            from qsntk.experiments.supervised_status import format_markdown

            click.echo(format_markdown(rows))
        else:
            click.echo(format_rows(rows))
        if figures_to is not None:
            from qsntk.experiments.supervised_status import draw_figures

            for f in draw_figures(cfg, metrics, figures_to, title=f"qsntk ({d.name})"):
                click.echo(f"figure: {f}", err=True)
        return
    if figures_to is not None or markdown or gap:
        flag = "--figures-to" if figures_to is not None else "--markdown" if markdown else "--gap"
        raise InputError(f"{flag}: {run_dir!r} is not a supervised run directory")
    files = sorted(str(p.relative_to(d)) for p in d.rglob("*") if p.is_file())
    info = {"config": cfg, "metrics_keys": sorted(map(str, metrics)) if isinstance(metrics, dict) else [],
            "checkpoints": checkpoint_rows(d, cfg), "files": files}
    if as_json:
        print_json(info)
    else:
        click.echo(f"config: {json.dumps(cfg)}")
        click.echo(f"metrics: {', '.join(info['metrics_keys']) or '(none yet)'}")
        for row in info["checkpoints"]:
            click.echo(f"checkpoint {row['name']}: {row['text']}")
        click.echo(f"files: {', '.join(files)}")


def checkpoint_rows(d: Path, cfg) -> list[dict]:
    """How far each resumable piece of a (non-supervised) run has got, from the metadata its
    checkpoint records: ``step`` out of the config's ``steps`` where both are there (a VMC
    run), else the recorded keys. Read without loading the checkpoints' arrays."""
    from qsntk.io import read_checkpoint_meta

    rows = []
    for f in sorted((d / "checkpoints").glob("*.npz")):
        meta = read_checkpoint_meta(f)
        if meta is None:
            rows.append({"name": f.stem, "meta": None, "text": "unreadable"})
            continue
        parts = []
        steps = cfg.get("steps") if isinstance(cfg, dict) else None
        for k, v in meta.items():
            if k == "step" and isinstance(v, int) and isinstance(steps, int) and steps > 0:
                parts.append(f"step {v}/{steps} ({100 * v / steps:.0f} %)")
            elif k == "wall_s" and isinstance(v, (int, float)):
                from qsntk.experiments.supervised_status import format_duration

                parts.append(f"{format_duration(v)} of work")
            elif isinstance(v, (str, int, float, bool)) or v is None:
                parts.append(f"{k} {v}")
        rows.append({"name": f.stem, "meta": meta, "text": ", ".join(parts) or "(no metadata)"})
    return rows
