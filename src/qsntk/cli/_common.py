"""Options and printing shared by the commands."""

from __future__ import annotations

import json
import sys

import click


SEED = click.IntRange(0, 2**32 - 1)
"""The type of every ``--seed``: what a PRNG key accepts."""


def split_items(name: str, text: str) -> list[str]:
    """The items of a comma-separated list; an empty one between commas is refused."""
    from qsntk.errors import InputError

    items = text.split(",")
    if len(items) > 1 and any(not t.strip() for t in items):
        raise InputError(f"{name} has an empty item: {text!r}")
    return [t for t in items if t.strip()]


def out_option(default: str | None = None, required: bool = False):
    return click.option("--out", "out", type=click.Path(file_okay=False, dir_okay=True),
                        default=default, required=required, show_default=default is not None,
                        help="Run directory (created; rerunning on it resumes).")


overwrite_option = click.option("--overwrite", is_flag=True,
                                 help="Start afresh if --out holds a run with another config.")

float32_option = click.option("--float32", "float32", is_flag=True,
                              help="Compute in single precision (default: double).")


def apply_precision(float32: bool) -> None:
    if float32:
        import qsntk

        qsntk.set_precision("float32")


def print_json(obj) -> None:
    from qsntk.io import to_jsonable

    click.echo(json.dumps(to_jsonable(obj), indent=None))


def say(msg: str) -> None:
    """Human-readable status on stderr (stdout stays machine-readable)."""
    click.echo(msg, err=True)


def report_run(summary: dict) -> None:
    """Where a run directory's results are (stderr), then its summary as JSON (stdout)."""
    say(f"results in {summary['out']}")
    for f in summary["figures"]:
        say(f"figure: {f}")
    print_json(summary)


def parse_int_list(name: str, text: str) -> list[int]:
    from qsntk.errors import InputError

    items = split_items(name, text)
    try:
        vals = [int(t) for t in items]
    except ValueError:
        raise InputError(f"{name} must be a comma-separated list of integers, got {text!r}") from None
    if not vals:
        raise InputError(f"{name} must not be empty")
    return vals


def parse_float_list(name: str, text: str) -> list[float]:
    from qsntk.errors import InputError, check_finite

    items = split_items(name, text)
    try:
        vals = [float(t) for t in items]
    except ValueError:
        raise InputError(f"{name} must be a comma-separated list of numbers, got {text!r}") from None
    if not vals:
        raise InputError(f"{name} must not be empty")
    for v in vals:
        check_finite(name, v)
    return vals


def stdout_is_tty() -> bool:
    return sys.stdout.isatty()
