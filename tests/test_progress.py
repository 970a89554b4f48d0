"""Plain-line progress when stderr is not a terminal (batch jobs, log files)."""

import io

from qsntk import progress


class _Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_line_task_prints_at_interval_with_eta():
    clock, out = _Clock(), io.StringIO()
    task = progress._LineTask(100, "ensemble GD", out, interval=30.0, clock=clock)
    clock.t = 10.0
    task.advance(10)          # before the interval: silent
    assert out.getvalue() == ""
    clock.t = 40.0
    task.advance(30)          # 40 of 100 after 40 s -> 60 s to go
    assert out.getvalue().strip() == "ensemble GD: 40/100 (40.0%), 0:00:40 elapsed, eta 0:01:00"
    clock.t = 100.0
    task.close()
    # the rate counts from the first advance: 30 units in 90 s, 60 to go -> 180 s
    assert out.getvalue().splitlines()[-1] == "ensemble GD: 40/100 (40.0%), 0:01:40 elapsed, eta 0:03:00"


def test_progress_bar_off_a_terminal_writes_lines(monkeypatch, capsys):
    monkeypatch.setenv("QSNTK_PROGRESS_INTERVAL", "0")
    monkeypatch.delenv("QSNTK_NO_PROGRESS", raising=False)
    with progress.progress_bar(4, "work") as bar:
        bar.advance(2)
        bar.advance(2)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("work: 2/4 (50.0%)")
    assert lines[-1].startswith("work: 4/4 (100.0%)")


def test_bad_interval_falls_back_to_default(monkeypatch):
    monkeypatch.setenv("QSNTK_PROGRESS_INTERVAL", "soon")
    assert progress._interval() == 60.0
    monkeypatch.setenv("QSNTK_PROGRESS_INTERVAL", "-1")
    assert progress._interval() == 60.0


def test_silenced(monkeypatch, capsys):
    monkeypatch.setenv("QSNTK_NO_PROGRESS", "1")
    with progress.progress_bar(3, "quiet") as bar:
        bar.advance(3)
    assert capsys.readouterr().err == ""


def test_skipped_work_does_not_count_in_the_rate():
    """A resumed run skips what it found done; the eta uses only this run's rate."""
    clock, out = _Clock(), io.StringIO()
    task = progress._LineTask(100, "resumed", out, interval=1e9, clock=clock)
    progress.skip(task, 50)
    clock.t = 10.0
    task.advance(10)
    clock.t = 20.0
    task.advance(10)                 # 10 units in 10 s, 30 to go -> 30 s (not 4 s)
    assert task.line() == "resumed: 70/100 (70.0%), 0:00:20 elapsed, eta 0:00:30"


def test_setup_before_the_first_unit_does_not_count_in_the_rate():
    """Kernels and eigendecompositions run before the first epoch: a resumed run that
    skipped most of its units and then spent minutes on setup must not report an eta of
    thousands of hours (seen on a resumed Fig. 3)."""
    clock, out = _Clock(), io.StringIO()
    task = progress._LineTask(1000, "resumed", out, interval=1e9, clock=clock)
    progress.skip(task, 500)
    clock.t = 90.0
    task.advance(1)                  # the first unit, after 90 s of setup
    assert task.line() == "resumed: 501/1000 (50.1%), 0:01:30 elapsed"   # no rate yet
    clock.t = 100.0
    task.advance(100)                # 100 units in 10 s, 399 to go -> 40 s
    assert task.line() == "resumed: 601/1000 (60.1%), 0:01:40 elapsed, eta 0:00:40"


def test_skip_falls_back_to_advance_for_user_progress_objects():
    class Mine:
        n = 0

        def advance(self, n=1):
            self.n += n

    m = Mine()
    progress.skip(m, 3)
    progress.skip(m, 0)
    assert m.n == 3


def test_skipped_after_work_does_not_count_as_fast_work():
    """Drivers skip finished pieces between worked ones (a checkpointed depth, a cell
    finished elsewhere): those units must not speed up the rate."""
    clock, out = _Clock(), io.StringIO()
    task = progress._LineTask(1000, "mixed", out, interval=1e9, clock=clock)
    task.advance(10)                 # the first unit of work marks the start
    clock.t = 100.0
    task.advance(100)                # 100 units in 100 s
    progress.skip(task, 500)         # then 500 found done
    assert task.line() == "mixed: 610/1000 (61.0%), 0:01:40 elapsed, eta 0:06:30"


def test_update_completed_alone_gives_an_eta():
    clock, out = _Clock(), io.StringIO()
    task = progress._LineTask(100, "updated", out, interval=1e9, clock=clock)
    task.update(completed=10)
    clock.t = 10.0
    task.update(completed=30)        # 20 units in 10 s, 70 to go -> 35 s
    assert task.line() == "updated: 30/100 (30.0%), 0:00:10 elapsed, eta 0:00:35"
