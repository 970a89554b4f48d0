"""``qsntk entanglement`` and ``qsntk reproduce luo2023-fig1``: run directories, resume, bad input."""

import json
import math

import numpy as np
import pytest

from qsntk.cli import main


def _run(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    return exc.value.code, out, err


@pytest.mark.parametrize("argv, needle", [
    (["ensemble", "--sites", "1"], "sites must be >= 2, got 1"),
    (["ensemble", "--sites", "17"], "sites must be <= 16"),
    (["ensemble", "--widths", "4,x"], "'4,x'"),
    (["ensemble", "--widths", "0"], "width must be >= 1, got 0"),
    (["ensemble", "--sigma-w", "nan"], "sigma_w must be finite"),
    (["ensemble", "--sigma-w", "-1"], "sigma_w must be > 0"),
    (["ensemble", "--draws", "1"], "draws must be >= 2, got 1"),
    (["ensemble", "--mc", "1"], "mc samples must be 0"),
    (["ensemble", "--seed", "-2"], "'--seed': -2 is not in the range"),
    (["ensemble", "--net", "lstm"], "'lstm'"),
    (["ensemble", "--net", "relu", "--sigma-out", "1"], "net 'relu' takes no sigma-out"),
    (["ensemble", "--scan-sigma-w", "1,0"], "scan sigma_w must be > 0, got 0.0"),
    (["bound", "--sigma-w", "1,y"], "'1,y'"),
    (["page", "--sites", "1"], "sites must be >= 2, got 1"),
])
def test_bad_input_is_one_line_and_exit_2(argv, needle, capsys, tmp_path):
    out_dir = tmp_path / "run"
    extra = [] if argv[0] == "page" else ["--out", str(out_dir)]
    code, out, err = _run(["entanglement", *argv, *extra], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("qsntk: error:") and needle in lines[0], err
    assert not out_dir.exists()                               # validated before writing


def test_ensemble_run_directory_resume_and_config_guard(capsys, tmp_path):
    d = tmp_path / "e"
    argv = ["entanglement", "ensemble", "--sites", "6", "--widths", "32", "--sigma-w", "3",
            "--scan-sigma-w", "1", "--draws", "6", "--mc", "40", "--out", str(d)]
    code, out, _ = _run(argv, capsys)
    assert code == 0
    summary = json.loads(out)
    assert summary["out"] == str(d)
    for f in ("config.json", "metrics.json", "arrays.npz", "entanglement.png",
              "checkpoints/N32_sw3.npz", "checkpoints/N32_sw1.npz", "checkpoints/mc_sw3.npz"):
        assert (d / f).exists(), f
    m = json.loads((d / "metrics.json").read_text())
    assert set(m["ensembles"]) == {"N32_sw3", "N32_sw1"}
    assert len(m["page"]) == 5 and m["checks"]["jensen_gap_min"] >= 0
    first = dict(np.load(d / "arrays.npz"))
    (d / "checkpoints/N32_sw1.npz").unlink()                  # an interrupted run lost one ensemble
    code, _, _ = _run(argv, capsys)
    assert code == 0
    again = dict(np.load(d / "arrays.npz"))
    for k in first:
        assert np.allclose(first[k], again[k], atol=1e-12), k
    code, _, err = _run([*argv[:-2], "--draws", "8", "--out", str(d)], capsys)
    assert code == 2 and "holds a run with another config (draws: 6 there, 8 now)" in err


def _ckpt_seconds(path):
    with np.load(path) as data:
        return json.loads(bytes(data["__meta__"]).decode())["wall_s"]


def test_wall_time_is_that_of_the_work_done_over_sessions(capsys, tmp_path):
    """``wall_s``: a no-op rerun keeps the fresh run's value (not the rerun's own time); a
    rerun that redoes a lost ensemble adds its own time to the checkpointed work it kept."""
    d = tmp_path / "e"
    argv = ["entanglement", "ensemble", "--sites", "6", "--widths", "32", "--sigma-w", "3",
            "--scan-sigma-w", "1", "--draws", "6", "--mc", "40", "--out", str(d)]
    assert _run(argv, capsys)[0] == 0
    fresh = json.loads((d / "metrics.json").read_text())
    secs = {k: _ckpt_seconds(d / "checkpoints" / f"{k}.npz")
            for k in ("N32_sw3", "N32_sw1", "mc_sw1", "mc_sw3")}
    assert all(s > 0 for s in secs.values()) and sum(secs.values()) <= fresh["wall_s"]
    assert _run(argv, capsys)[0] == 0                          # everything checkpointed
    again = json.loads((d / "metrics.json").read_text())
    assert again == fresh                                      # a no-op rerun rewrites nothing
    (d / "checkpoints/N32_sw1.npz").unlink()
    assert _run(argv, capsys)[0] == 0
    redo = json.loads((d / "metrics.json").read_text())
    kept = secs["N32_sw3"] + secs["mc_sw1"] + secs["mc_sw3"]
    assert redo["wall_s"] >= kept + _ckpt_seconds(d / "checkpoints/N32_sw1.npz")
    assert redo["wall_s"] != fresh["wall_s"]


def test_bound_page_and_state_commands(capsys, tmp_path):
    code, out, _ = _run(["entanglement", "bound", "--sites", "6", "--sigma-w", "0.5,20", "--mc", "200",
                         "--out", str(tmp_path / "b")], capsys)
    assert code == 0
    m = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert m["ensembles"] == {} and set(m["gp"]) == {"0.5", "20"}
    assert m["checks"]["mc_max_abs_z"] < 4.5
    assert np.allclose(m["gp"]["20"]["bound"], m["haar_s2_annealed"], atol=1e-6)   # iid limit

    code, out, _ = _run(["entanglement", "page", "--sites", "4"], capsys)
    rows = json.loads(out)["rows"]
    assert code == 0 and abs(rows[1]["page_S1"] - (1 / 5 + 1 / 6 + 1 / 7 + 1 / 8 + 1 / 9 + 1 / 10 + 1 / 11
                                                    + 1 / 12 + 1 / 13 + 1 / 14 + 1 / 15 + 1 / 16 - 3 / 8)) < 1e-14

    ghz = np.zeros(2**5)
    ghz[[0, -1]] = 1.0
    f = tmp_path / "ghz.npy"
    np.save(f, ghz)
    code, out, _ = _run(["entanglement", "state", str(f), "--subsystem", "0,3"], capsys)
    res = json.loads(out)
    assert code == 0 and res["sites"] == 5 and abs(res["cuts"][0]["S1"] - math.log(2)) < 1e-14
    code, _, err = _run(["entanglement", "state", str(f), "--subsystem", "0,7"], capsys)
    assert code == 2 and "site 7 of subsystem A is not in 0..4" in err
    np.save(tmp_path / "bad.npy", np.ones(6))
    code, _, err = _run(["entanglement", "state", str(tmp_path / "bad.npy")], capsys)
    assert code == 2 and "not local-dim**sites" in err


def test_reproduce_lists_fig1(capsys):
    code, out, _ = _run(["reproduce", "--list"], capsys)
    assert code == 0 and "luo2023-fig1" in out


@pytest.mark.parametrize("argv, needle", [
    (["bound", "--sigma-w", "1e300", "--mc", "0"], "sigma_w 1e+300 is too large"),
    (["ensemble", "--draws", "1000000000"], "draws 1000000000 needs at least"),
    (["ensemble", "--widths", "1000000000"], "width 1000000000 needs at least"),
    (["ensemble", "--sigma-a", "0"], "sigma-a 0 makes every cosnet amplitude 0"),
])
def test_refused_runs_leave_no_directory(argv, needle, capsys, tmp_path):
    out_dir = tmp_path / "run"
    code, out, err = _run(["entanglement", *argv, "--out", str(out_dir)], capsys)
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1
    assert not out_dir.exists()


def test_state_file_friction(capsys, tmp_path):
    good = tmp_path / "int.npy"
    np.save(good, np.array([1, 0, 0, 1]))
    code, out, err = _run(["entanglement", "state", str(good)], capsys)
    assert code == 0 and abs(json.loads(out)["cuts"][0]["S1"] - math.log(2)) < 1e-15
    huge = tmp_path / "huge.npy"
    np.save(huge, np.array([1e300, 0, 0, 1e300]))
    code, out, err = _run(["entanglement", "state", str(huge), "--orders", "1,2,inf"], capsys)
    assert code == 0 and all(abs(v - math.log(2)) < 1e-15 for k, v in json.loads(out)["cuts"][0].items()
                             if k != "A")
    text = tmp_path / "t.npy"
    text.write_text("hello")
    for args, needle in [([str(text)], "is not a .npy array file"),
                         ([str(good), "--sites", "1000000000"], "--sites 1000000000 with --local-dim 2 does not match"),
                         ([str(good), "--sites", "1"], "--sites must be >= 2, got 1")]:
        code, out, err = _run(["entanglement", "state", *args], capsys)
        assert code == 2 and needle in err and len(err.strip().splitlines()) == 1


def test_finished_ensemble_rerun_is_a_no_op_and_duplicates_dedupe(capsys, tmp_path):
    out_dir = tmp_path / "run"
    argv = ["entanglement", "ensemble", "--sites", "4", "--widths", "8,8", "--draws", "4", "--mc", "0",
            "--out", str(out_dir)]
    code, out, err = _run(argv, capsys)
    assert code == 0
    m = json.loads((out_dir / "metrics.json").read_text())
    assert list(m["ensembles"]) == ["N8_sw10"]
    assert "S1_half_increases_with_width" not in m["checks"]           # one width: no trend
    before = {p.name: p.read_bytes() for p in out_dir.iterdir() if p.is_file()}
    code, out, err = _run([a if a != "8,8" else "8" for a in argv], capsys)
    assert code == 0
    assert {p.name: p.read_bytes() for p in out_dir.iterdir() if p.is_file()} == before
