"""Run directories: checkpoints round-trip exactly, scalars keep their type, mismatches are refused."""

import numpy as np
import pytest

from qsntk.errors import InputError
from qsntk.io import RunDir


def test_checkpoint_round_trip_keeps_values_dtypes_and_python_scalars(tmp_path):
    run = RunDir(tmp_path / "r", {"seed": 1})
    rng = np.random.default_rng(0)
    tree = {"w": rng.normal(size=(3, 4)).astype(np.float32), "c": rng.normal(size=5) + 1j,
            "step": 7, "lr": 0.25, "done": False}
    run.save_checkpoint("cell", tree, step=7, note="x")
    like = {"w": np.zeros((3, 4), np.float32), "c": np.zeros(5, complex), "step": 0, "lr": 0.0,
            "done": True}
    got, meta = run.load_checkpoint("cell", like)
    assert meta == {"step": 7, "note": "x"}
    assert got["w"].dtype == np.float32 and np.array_equal(got["w"], tree["w"])
    assert np.array_equal(got["c"], tree["c"])
    for k in ("step", "lr", "done"):
        assert type(got[k]) is type(tree[k]) and got[k] == tree[k]


def test_checkpoint_of_another_shape_or_structure_is_not_restored(tmp_path):
    run = RunDir(tmp_path / "r", {"seed": 1})
    run.save_checkpoint("cell", {"w": np.ones((2, 2))}, step=1)
    assert run.load_checkpoint("cell", {"w": np.ones((3, 2))}) is None
    assert run.load_checkpoint("cell", {"w": np.ones((2, 2)), "b": np.ones(2)}) is None
    assert run.load_checkpoint("other", {"w": np.ones((2, 2))}) is None


def test_rerun_with_a_different_config_is_refused(tmp_path):
    RunDir(tmp_path / "r", {"seed": 1})
    assert RunDir(tmp_path / "r", {"seed": 1}).resumed
    with pytest.raises(InputError, match="seed"):
        RunDir(tmp_path / "r", {"seed": 2})


def test_overwrite_drops_the_old_runs_results_with_its_config(tmp_path):
    """--overwrite: an old config's checkpoints, metrics and arrays do not survive into the
    new run (a rerun after an interrupted start would otherwise resume from them)."""
    run = RunDir(tmp_path / "r", {"seed": 1})
    run.save_checkpoint("cell", {"w": np.ones(2)}, step=1)
    run.save_metrics({"cells": {"old": 1}})
    run.save_arrays(x=np.ones(3))
    new = RunDir(tmp_path / "r", {"seed": 2}, overwrite=True)
    assert not new.resumed and new.load_metrics() == {} and new.load_arrays() is None
    assert new.load_checkpoint("cell", {"w": np.ones(2)}) is None
    assert RunDir(tmp_path / "r", {"seed": 2}).resumed


def test_overwrite_drops_the_old_runs_figures(tmp_path):
    """A figure of the old run (another target, another |B|) is not left next to the new
    run's, where it would read as a result of the new config."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run = RunDir(tmp_path / "r", {"seed": 1})
    run.save_figure(plt.figure(), "fig2_old_n64")
    (tmp_path / "r" / "notes.txt").write_text("kept")
    new = RunDir(tmp_path / "r", {"seed": 2}, overwrite=True)
    assert (tmp_path / "r" / "fig2_old_n64.png").exists()          # nothing written yet
    new.save_figure(plt.figure(), "fig2_new_n32")
    names = sorted(p.name for p in (tmp_path / "r").iterdir())
    assert names == ["config.json", "fig2_new_n32.png", "notes.txt"]
    plt.close("all")


def test_a_volatile_setting_does_not_block_a_resume(tmp_path):
    """How often to checkpoint does not change the results: a rerun with another value
    resumes (keeping the checkpoints) and records it; any other key is still refused."""
    import json

    run = RunDir(tmp_path / "r", {"seed": 1, "checkpoint_s": 300}, volatile=("checkpoint_s",))
    run.save_checkpoint("cell", {"w": np.ones(2)}, step=5)
    again = RunDir(tmp_path / "r", {"seed": 1, "checkpoint_s": 60}, volatile=("checkpoint_s",))
    assert again.resumed and again.load_checkpoint("cell", {"w": np.ones(2)})[1] == {"step": 5}
    assert json.loads((tmp_path / "r" / "config.json").read_text())["checkpoint_s"] == 60
    with pytest.raises(InputError, match="seed"):
        RunDir(tmp_path / "r", {"seed": 2, "checkpoint_s": 60}, volatile=("checkpoint_s",))
    with pytest.raises(InputError, match="checkpoint_s"):          # volatile only when named
        RunDir(tmp_path / "r", {"seed": 1, "checkpoint_s": 1})


def test_unreadable_records_are_one_line_errors(tmp_path):
    run = RunDir(tmp_path / "r", {"seed": 1})
    run.save_checkpoint("cell", {"w": np.ones(2)}, step=1)
    run.checkpoint_path("cell").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(InputError, match="cannot read checkpoint .*delete it"):
        run.load_checkpoint("cell", {"w": np.ones(2)})
    (tmp_path / "r" / "metrics.json").write_text("")
    with pytest.raises(InputError, match="metrics.json"):
        run.load_metrics()


def test_overwrite_waits_for_the_first_write(tmp_path):
    """--overwrite with a command that stops on bad input before writing: the old run
    (config, metrics, checkpoints) is left as it was."""
    import json

    run = RunDir(tmp_path / "r", {"seed": 1})
    run.save_checkpoint("cell", {"w": np.ones(2)}, step=1)
    run.save_metrics({"cells": {"old": 1}})
    new = RunDir(tmp_path / "r", {"seed": 2}, overwrite=True)      # ... and then it fails
    assert json.loads((tmp_path / "r" / "config.json").read_text()) == {"seed": 1}
    assert new.load_metrics() == {} and new.load_arrays() is None
    again = RunDir(tmp_path / "r", {"seed": 1})
    assert again.resumed and again.load_metrics() == {"cells": {"old": 1}}
    assert again.load_checkpoint("cell", {"w": np.ones(2)})[1] == {"step": 1}
    new.save_metrics({"cells": {}})                                 # the new run starts
    assert json.loads((tmp_path / "r" / "config.json").read_text()) == {"seed": 2}
    assert not run.checkpoint_path("cell").exists()


def test_a_write_of_the_same_bytes_leaves_the_file_untouched(tmp_path):
    """Identical bytes: no write (inode and mtime stay); other bytes, or another size: written."""
    import os

    from qsntk.io import atomic_write_bytes

    f = tmp_path / "m.json"
    atomic_write_bytes(f, b'{"a": 1}')
    os.utime(f, ns=(10**18, 10**18))                    # a recognisable old mtime
    ino = f.stat().st_ino
    atomic_write_bytes(f, b'{"a": 1}')
    assert f.stat().st_mtime_ns == 10**18 and f.stat().st_ino == ino
    atomic_write_bytes(f, b'{"a": 2}')                  # same size, other bytes
    assert f.read_bytes() == b'{"a": 2}' and f.stat().st_mtime_ns != 10**18
    atomic_write_bytes(f, b'{"a": 22}')                 # other size
    assert f.read_bytes() == b'{"a": 22}'
    big = bytes(np.random.default_rng(0).integers(0, 256, 3 * 2**20 + 5, dtype=np.uint8))
    atomic_write_bytes(f, big)                          # several 1 MiB chunks compared
    os.utime(f, ns=(10**18, 10**18))
    atomic_write_bytes(f, big)
    assert f.stat().st_mtime_ns == 10**18
    atomic_write_bytes(f, big[:-1] + bytes([big[-1] ^ 1]))   # differs in the last chunk only
    assert f.read_bytes()[-1] == big[-1] ^ 1
    run = RunDir(tmp_path / "r", {"seed": 1})
    run.save_metrics({"x": 1})
    m = run.path / "metrics.json"
    os.utime(m, ns=(10**18, 10**18))
    run.save_metrics({"x": 1})
    assert m.stat().st_mtime_ns == 10**18
    assert not [q for q in tmp_path.rglob("*.tmp")]


def test_a_same_bytes_write_still_fixes_the_mode_and_replaces_a_link(tmp_path):
    """A file holding the bytes but written 0600 (old versions) gets the mode a write would
    give; a symbolic link is replaced by a file, as a write of other bytes would do."""
    import os
    import stat

    from qsntk.io import atomic_write_bytes

    f = tmp_path / "m.json"
    f.write_bytes(b"{}")
    os.chmod(f, 0o600)
    old = os.umask(0o022)
    try:
        atomic_write_bytes(f, b"{}")
        assert stat.S_IMODE(f.stat().st_mode) == 0o644
        real, link = tmp_path / "real.json", tmp_path / "link.json"
        real.write_bytes(b"{}")
        link.symlink_to(real)
        atomic_write_bytes(link, b"{}")
        assert not link.is_symlink() and link.read_bytes() == b"{}" and real.read_bytes() == b"{}"
    finally:
        os.umask(old)


def test_atomic_writes_get_the_mode_of_a_plain_open(tmp_path):
    """Results are readable as the umask allows (mkstemp alone would leave them 0600)."""
    import os
    import stat

    from qsntk.io import atomic_write_bytes, call_atomically

    old = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "a.json", b"{}")
        call_atomically(tmp_path / "b.bin", lambda tmp: tmp.write_bytes(b"x"))
        RunDir(tmp_path / "r", {"seed": 1}).save_metrics({"x": 1})
        os.umask(0o077)
        atomic_write_bytes(tmp_path / "c.json", b"{}")
    finally:
        os.umask(old)
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
    assert [mode(tmp_path / n) for n in ("a.json", "b.bin", "r/metrics.json", "r/config.json")] == [0o644] * 4
    assert mode(tmp_path / "c.json") == 0o600
