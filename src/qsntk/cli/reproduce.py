"""``qsntk reproduce NAME``: one command per paper figure."""

from __future__ import annotations

import click

from qsntk.cli._common import out_option, overwrite_option, say


@click.command(short_help="Reproduce a figure of the seed papers (see --list)")
@click.argument("name", required=False)
@click.option("--quick", is_flag=True, help="Smaller settings that finish in minutes.")
@out_option()
@overwrite_option
@click.option("--list", "list_", is_flag=True,
              help="List the reproducible figures with their expected wall times.")
@click.option("--reuse", multiple=True, metavar="DIR",
              help="Supervised figures: start identically-set cells from run directory DIR "
                   "(e.g. luo2023-fig3 from luo2023-fig2's |B| = 2400 cells).")
def reproduce(name, quick, out, overwrite, list_, reuse):
    """Reproduce a figure of the seed papers (see --list)."""
    import inspect

    from qsntk import experiments
    from qsntk.errors import InputError
    from qsntk.progress import progress_bar

    if list_ or name is None:
        names = experiments.available()
        mods = [experiments.load(n) for n in names]
        times = [(experiments.wall_time(m, "full"), experiments.wall_time(m, "quick")) for m in mods]
        w = max([9] + [len(t) for pair in times for t in pair])
        click.echo(f"{'name':14s}  {'full':>{w}s}  {'--quick':>{w}s}  title")
        for n, m, (full, quick) in zip(names, mods, times):
            click.echo(f"{n:14s}  {full:>{w}s}  {quick:>{w}s}  {m.TITLE}")
        click.echo("(full, --quick: expected wall time on a 2-core CPU, start-up included, as "
                   "recorded in docs/qntk.md, docs/entanglement.md and docs/results.md)")
        return
    mod = experiments.load(name)
    if out is None:
        out = f"runs/{name}{'-quick' if quick else ''}"
    extra = {}
    if reuse:
        if "reuse" not in inspect.signature(mod.run).parameters:
            raise InputError(f"{name} does not take --reuse")
        extra["reuse"] = reuse
    summary = mod.run(out, quick=quick, overwrite=overwrite, progress=progress_bar, **extra)
    if not isinstance(summary, dict) or "out" not in summary:
        raise InputError(f"experiment {name!r} returned no summary")
    say(f"{name}: results in {summary['out']}")
    for fig in summary.get("figures", []):
        click.echo(f"figure: {fig}")
    for key in ("metrics",):
        if key in summary:
            click.echo(f"{key}: {summary[key]}")
