"""``qsntk status`` durations and --figures-to, ``qsntk reproduce --list`` timings."""

import json
import types
from pathlib import Path

import pytest

from qsntk.cli import main


def _run(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    return exc.value.code, out, err


# ---------------------------------------------------------------- durations
@pytest.mark.parametrize("seconds, text", [
    (0, "0 s"), (0.04, "0.04 s"), (4.2, "4.2 s"), (42, "42 s"), (59.4, "59 s"),
    (59.7, "1.0 min"), (440, "7.3 min"), (2520, "42 min"), (3569, "59 min"),
    (3599, "1.0 h"), (8571, "2.4 h"), (30059, "8.3 h"), (540000, "150 h"),
    (-1, "unknown"), (float("nan"), "unknown"), (float("inf"), "unknown"),
])
def test_format_duration(seconds, text):
    from qsntk.experiments.supervised_status import format_duration

    assert format_duration(seconds) == text


def test_status_table_writes_short_times_in_seconds_and_minutes():
    """Short runs used to read "0.01 h" so far and "about 0.0 h left"."""
    from qsntk.experiments.supervised_status import estimate_left, format_rows

    def row(n, w, state, epoch, wall):
        return {"target": "t", "n_train": n, "width": w, "state": state, "epoch": epoch,
                "steps": 100, "wall_s": wall}

    rows = estimate_left([row(10, 300, "done", 100, 30.0), row(10, 1000, "partial", 40, 20.0),
                          row(20, 1000, "not started", 0, 0.0)])
    text = format_rows(rows)                     # left: 30 s + 100 s
    assert text.splitlines()[-1] == ("1 of 3 cells finished; training time so far 50 s; "
                                     "about 2.2 min left at the rates so far")
    assert text.splitlines()[1].rstrip().endswith("30 s")
    assert " h" not in text


# ---------------------------------------------------------------- status --figures-to
@pytest.fixture
def supervised_dir(tmp_path):
    """A supervised run directory whose cells have not started (config.json only)."""
    d = tmp_path / "run"
    d.mkdir()
    (d / "config.json").write_text(json.dumps({"targets": ["tfim-quench"], "train_sizes": [40],
                                               "widths": [16, 24], "steps": 60}))
    return d


@pytest.mark.parametrize("where", ["/proc/nope", "AFILE", "AFILE/sub"])
def test_status_refuses_an_unwritable_figures_dir_before_printing(where, supervised_dir,
                                                                  tmp_path, capsys):
    if where == "/proc/nope" and not Path("/proc").is_dir():
        pytest.skip("no /proc")
    (tmp_path / "afile").write_text("a file")
    where = where.replace("AFILE", str(tmp_path / "afile"))
    before = sorted(p.name for p in tmp_path.rglob("*"))
    code, out, err = _run(["status", str(supervised_dir), "--figures-to", where], capsys)
    assert code == 2 and out == ""                      # no table printed first
    assert err.count("\n") == 1 and err.startswith("qsntk: error: ") and "--figures-to" in err
    assert where in err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_status_figures_dir_is_created(supervised_dir, tmp_path, capsys):
    figs = tmp_path / "new" / "figs"
    code, out, _ = _run(["status", str(supervised_dir), "--figures-to", str(figs)], capsys)
    assert code == 0 and "0 of 2 cells finished" in out and figs.is_dir()
    assert list(figs.iterdir()) == []                   # no probe left behind (nothing to draw)


# ---------------------------------------------------------------- reproduce --list
def test_reproduce_list_shows_the_wall_times_of_every_experiment(capsys):
    from qsntk import experiments

    code, out, _ = _run(["reproduce", "--list"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["name", "full", "--quick"]
    assert set(experiments.available()) == set(experiments.REGISTRY)
    for name in experiments.REGISTRY:
        mod = experiments.load(name)
        full, quick = mod.WALL_TIME["full"], mod.WALL_TIME["quick"]
        assert full and quick and "not recorded" not in (full, quick)
        line = next(ln for ln in lines if ln.startswith(name + " "))
        cols = line[len(name):].split("  ")
        assert [c.strip() for c in cols if c.strip()][:3] == [full, quick, mod.TITLE], line
    assert "2-core CPU" in lines[-1]


def test_wall_time_of_a_module_that_records_none():
    from qsntk.experiments import wall_time

    assert wall_time(types.SimpleNamespace(), "full") == "not recorded"
    assert wall_time(types.SimpleNamespace(WALL_TIME={"full": "1 h"}), "quick") == "not recorded"
    assert wall_time(types.SimpleNamespace(WALL_TIME={"full": "1 h"}), "full") == "1 h"


def test_status_gap_takes_figures_to_too(supervised_dir, tmp_path, capsys):
    """--gap used to return before --figures-to was looked at (the option did nothing)."""
    (tmp_path / "afile").write_text("a file")
    code, out, err = _run(["status", str(supervised_dir), "--gap", "--figures-to",
                           str(tmp_path / "afile" / "sub")], capsys)
    assert code == 2 and out == "" and "--figures-to" in err
    figs = tmp_path / "figs"
    code, out, _ = _run(["status", str(supervised_dir), "--gap", "--figures-to", str(figs)], capsys)
    assert code == 0 and "networks / twins" in out and figs.is_dir()


# ---------------------------------------------------------------- status of other runs
def test_status_of_a_resumable_run_shows_each_checkpoints_progress(tmp_path, capsys):
    """A VMC-like run stopped at step 3 of 10: status says so from the checkpoint's metadata
    (read without its arrays); an unreadable checkpoint is named, not a traceback."""
    import numpy as np

    from qsntk.io import RunDir

    run = RunDir(tmp_path / "r", {"kind": "vmc", "steps": 10})
    run.save_checkpoint("vmc", {"w": np.ones(3)}, step=3, wall_s=1.5)
    run.save_checkpoint("L4", {"k": np.ones(2)}, L=4)
    (tmp_path / "r" / "checkpoints" / "junk.npz").write_bytes(b"not a zip")
    before = sorted(p.name for p in (tmp_path / "r").rglob("*"))
    code, out, err = _run(["status", str(tmp_path / "r")], capsys)
    assert code in (0, None) and err == ""
    lines = out.splitlines()
    assert "checkpoint vmc: step 3/10 (30 %), 1.5 s of work" in lines
    assert "checkpoint L4: L 4" in lines and "checkpoint junk: unreadable" in lines
    code, out, _ = _run(["status", str(tmp_path / "r"), "--json"], capsys)
    rows = {r["name"]: r["meta"] for r in json.loads(out)["checkpoints"]}
    assert rows == {"L4": {"L": 4}, "junk": None, "vmc": {"step": 3, "wall_s": 1.5}}
    assert sorted(p.name for p in (tmp_path / "r").rglob("*")) == before      # nothing written
