"""Progress bars for long runs (stderr, via rich).

Drivers take a ``progress`` argument: any callable ``progress(total, description)``
returning a context manager with ``advance(n=1)`` and, optionally, ``skip(n)`` for work a
resumed run finds already done (drivers call :func:`skip`, which falls back to ``advance``).
:func:`progress_bar` is the
rich implementation used by the command line; :func:`no_progress` does nothing
and is the library default, so the science stays silent unless asked.

When stderr is not a terminal (a batch job, ``nohup``, a log file) a live bar
would be invisible, so :func:`progress_bar` prints one plain line instead at most
every ``QSNTK_PROGRESS_INTERVAL`` seconds (default 60) and when the run ends::

    ensemble GD: 12000/90000 (13.3%), 0:20:05 elapsed, eta 2:10:31
"""

from __future__ import annotations

import contextlib
import os
import sys
import time


def skip(task, n: int) -> None:
    """Count ``n`` units that a resumed run found done (no time spent on them here)."""
    if n:
        getattr(task, "skip", task.advance)(n)


class _Silent:
    def advance(self, n: int = 1) -> None:  # noqa: D401 - trivial
        pass

    def skip(self, n: int) -> None:
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

    skip = advance  # rich has no notion of resumed work

    def update(self, **kw) -> None:
        self._p.update(self._id, **kw)


def _hms(seconds: float) -> str:
    s = int(round(max(0.0, seconds)))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


class _LineTask:
    """Plain progress lines on a stream that is not a terminal."""

    def __init__(self, total, description, stream, interval: float, clock=time.monotonic):
        self.total, self.description, self.stream = total, description, stream
        self.interval, self.clock = interval, clock
        self.done, self.skipped, self.t0 = 0, 0, clock()
        self.last = self.t0
        self.mark = None        # (time, units worked) at the first advance: the rate starts there

    def line(self) -> str:
        el = self.clock() - self.t0
        if not self.total:
            return f"{self.description}: {self.done}, {_hms(el)} elapsed"
        frac = self.done / self.total
        # The rate counts only work done in this run, from its first advance on: setup before
        # it (kernels, eigendecompositions) and units skipped on resume would distort it.
        rest = ""
        if self.mark is not None:
            t1, w1 = self.mark
            worked, spent = self.done - self.skipped - w1, self.clock() - t1
            if worked > 0 and spent > 0:
                rest = f", eta {_hms(spent * (self.total - self.done) / worked)}"
        return (f"{self.description}: {self.done}/{self.total} ({100 * frac:.1f}%), "
                f"{_hms(el)} elapsed{rest}")

    def _print(self) -> None:
        print(self.line(), file=self.stream, flush=True)
        self.last = self.clock()

    def _start_rate(self) -> None:
        """At the first unit of work: its time is mixed with setup, so the rate starts after it."""
        if self.mark is None:
            self.mark = (self.clock(), self.done - self.skipped)

    def advance(self, n: int = 1) -> None:
        self.done += n
        self._start_rate()
        if self.clock() - self.last >= self.interval:
            self._print()

    def skip(self, n: int) -> None:
        self.done += n
        self.skipped += n

    def update(self, **kw) -> None:
        if "completed" in kw:
            self.done = kw["completed"]
            self._start_rate()
        if "total" in kw:
            self.total = kw["total"]
        if "description" in kw:
            self.description = kw["description"]

    def close(self) -> None:
        self._print()


def _interval() -> float:
    raw = os.environ.get("QSNTK_PROGRESS_INTERVAL", "60")
    try:
        v = float(raw)
    except ValueError:
        v = float("nan")
    return v if v >= 0 else 60.0  # nan and negatives fall back to the default


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
    if not console.is_terminal:
        task = _LineTask(total, description, sys.stderr, _interval())
        try:
            yield task
        finally:
            task.close()
        return
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn()]
    with Progress(*columns, console=console, transient=False) as prog:
        tid = prog.add_task(description, total=total)
        yield _RichTask(prog, tid)
