"""Progress bars for long runs (stderr, via rich).

Drivers take a ``progress`` argument: any callable ``progress(total, description)``
returning a context manager with ``advance(n=1)``. :func:`progress_bar` is the
rich implementation used by the command line; :func:`no_progress` does nothing
and is the library default, so the science stays silent unless asked.
"""

from __future__ import annotations

import contextlib
import os
import sys


class _Silent:
    def advance(self, n: int = 1) -> None:  # noqa: D401 - trivial
        pass

    def update(self, **_kw) -> None:
        pass


@contextlib.contextmanager
def no_progress(total: int | None = None, description: str = ""):
    """A progress reporter that reports nothing."""
    yield _Silent()


class _RichTask:
    def __init__(self, progress, task_id):
        self._p, self._id = progress, task_id

    def advance(self, n: int = 1) -> None:
        self._p.advance(self._id, n)

    def update(self, **kw) -> None:
        self._p.update(self._id, **kw)


@contextlib.contextmanager
def progress_bar(total: int | None, description: str = ""):
    """A rich progress bar on stderr; silent if ``QSNTK_NO_PROGRESS=1``."""
    if os.environ.get("QSNTK_NO_PROGRESS") == "1":
        yield _Silent()
        return
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    console = Console(file=sys.stderr)
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn()]
    with Progress(*columns, console=console, transient=False,
                  disable=not console.is_terminal) as prog:
        tid = prog.add_task(description, total=total)
        yield _RichTask(prog, tid)
