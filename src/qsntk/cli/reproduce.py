"""``qsntk reproduce NAME``: one command per paper figure."""

from __future__ import annotations

import click

from qsntk.cli._common import out_option, overwrite_option, say


@click.command()
@click.argument("name", required=False)
@click.option("--quick", is_flag=True, help="Smaller settings that finish in minutes.")
@out_option()
@overwrite_option
@click.option("--list", "list_", is_flag=True, help="List the reproducible figures.")
def reproduce(name, quick, out, overwrite, list_):
    """Reproduce a figure of the seed papers (see --list)."""
    from qsntk import experiments
    from qsntk.errors import InputError
    from qsntk.progress import progress_bar

    if list_ or name is None:
        for n in experiments.available():
            click.echo(f"{n:14s} {experiments.load(n).TITLE}")
        return
    mod = experiments.load(name)
    if out is None:
        out = f"runs/{name}{'-quick' if quick else ''}"
    summary = mod.run(out, quick=quick, overwrite=overwrite, progress=progress_bar)
    if not isinstance(summary, dict) or "out" not in summary:
        raise InputError(f"experiment {name!r} returned no summary")
    say(f"{name}: results in {summary['out']}")
    for fig in summary.get("figures", []):
        click.echo(f"figure: {fig}")
    for key in ("metrics",):
        if key in summary:
            click.echo(f"{key}: {summary[key]}")
