"""``qsntk qntk`` and ``qsntk reproduce liu2023-*``: run directories, resume, bad input."""

import json

import numpy as np
import pytest

from qsntk.cli import main


def _run(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    return exc.value.code, out, err


@pytest.mark.parametrize("argv, needle", [
    (["kernel", "--qubits", "0"], "qubits must be >= 1, got 0"),
    (["kernel", "--qubits", "11"], "qubits must be <= 10"),
    (["kernel", "--layers", "4,x"], "'4,x'"),
    (["kernel", "--layers", "0"], "layers must be >= 1, got 0"),
    (["kernel", "--samples", "1"], "samples must be >= 2, got 1"),
    (["kernel", "--terms", "0"], "terms must be >= 1, got 0"),
    (["kernel", "--seed", "-3"], "'--seed': -3 is not in the range"),
    (["train", "--eta", "nan"], "eta must be finite, got nan"),
    (["train", "--eta", "-1e-4"], "eta must be > 0, got -0.0001"),
    (["train", "--target", "inf"], "target must be finite, got inf"),
    (["train", "--steps", "0"], "steps must be >= 1, got 0"),
    (["supervised", "--qubits", "2", "--sizes", "2,5"], "sizes must be <= 2^qubits = 4 for orthogonal inputs, got 5"),
    (["supervised", "--inputs", "frame"], "'frame'"),
    (["theory", "--data", "40"], "data must be <= 2^qubits = 16, got 40"),
    (["kernel", "--qubits", "two"], "'two'"),
    (["kernel", "--dtype", "float16"], "dtype must be float32 or float64, got 'float16'"),
])
def test_bad_input_is_one_line_and_exit_2(argv, needle, capsys, tmp_path):
    out_dir = tmp_path / "run"
    extra = [] if argv[0] == "theory" else ["--out", str(out_dir)]
    code, out, err = _run(["qntk", *argv, *extra], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("qsntk: error:") and needle in lines[0], err
    assert not out_dir.exists()                               # validated before writing


def test_kernel_in_single_precision_matches_double(capsys, tmp_path):
    """``--dtype float32``: the same K samples to single-precision rounding, recorded in
    the config (so a float64 run directory is not resumed as float32)."""
    base = ["qntk", "kernel", "--qubits", "3", "--layers", "4,12", "--instances", "2",
            "--samples", "32"]
    assert _run(base + ["--out", str(tmp_path / "d")], capsys)[0] == 0
    assert _run(base + ["--dtype", "float32", "--out", str(tmp_path / "s")], capsys)[0] == 0
    assert "dtype" not in json.loads((tmp_path / "d" / "config.json").read_text())
    assert json.loads((tmp_path / "s" / "config.json").read_text())["dtype"] == "float32"
    d, s = np.load(tmp_path / "d" / "arrays.npz"), np.load(tmp_path / "s" / "arrays.npz")
    for k in ("K_L4", "K_L12", "mu_L12"):
        err = np.max(np.abs(s[k] - d[k])) / np.max(np.abs(d[k]))
        assert 1e-10 < err < 2e-5, (k, err)
    code, _, err = _run(base + ["--dtype", "float32", "--out", str(tmp_path / "d")], capsys)
    assert code == 2 and "config" in err.lower()          # another config: not resumed


def test_kernel_run_directory_and_resume(capsys, tmp_path):
    d = tmp_path / "k"
    argv = ["qntk", "kernel", "--qubits", "2", "--layers", "1,3", "--instances", "2", "--samples", "16",
            "--out", str(d)]
    code, out, _ = _run(argv, capsys)
    assert code == 0
    summary = json.loads(out)
    assert summary["out"] == str(d)
    for f in ("config.json", "metrics.json", "arrays.npz", "qntk_kernel.png", "checkpoints/L1.npz",
              "checkpoints/L3.npz"):
        assert (d / f).exists(), f
    cfg = json.loads((d / "config.json").read_text())
    assert cfg["layers"] == [1, 3] and cfg["seed"] == 0
    first = dict(np.load(d / "arrays.npz"))
    # interrupted run: one depth's checkpoint lost -> rerun recomputes it identically
    (d / "checkpoints/L3.npz").unlink()
    code, _, _ = _run(argv, capsys)
    assert code == 0
    again = dict(np.load(d / "arrays.npz"))
    np.testing.assert_array_equal(first["K_L3"], again["K_L3"])
    np.testing.assert_array_equal(first["mu_L1"], again["mu_L1"])
    assert json.loads((d / "metrics.json").read_text())["resumed"] is True
    # another config on the same directory is refused
    code, _, err = _run(argv[:-4] + ["--samples", "8", "--out", str(d)], capsys)
    assert code == 2 and "another config" in err and "samples" in err


def test_train_supervised_theory_and_reproduce_list(capsys, tmp_path):
    code, out, _ = _run(["qntk", "train", "--qubits", "1", "--layers", "4", "--inits", "3", "--steps", "30",
                         "--chunk", "20", "--eta", "0.01", "--out", str(tmp_path / "t")], capsys)
    assert code == 0
    m = json.loads((tmp_path / "t" / "metrics.json").read_text())
    assert len(m["mean_ratio"]) == 31 and m["mean_ratio"][0] == 1.0
    code, out, _ = _run(["qntk", "supervised", "--qubits", "2", "--layers", "4", "--sizes", "2,3",
                         "--instances", "2", "--inputs", "basis", "--out", str(tmp_path / "s")], capsys)
    assert code == 0
    eig = np.load(tmp_path / "s" / "arrays.npz")["eig_A3"]
    assert eig.shape == (2, 3) and np.all(eig > -1e-12)
    code, out, _ = _run(["qntk", "theory", "--qubits", "3", "--layers", "8", "--data", "3"], capsys)
    th = json.loads(out)
    assert code == 0 and th["Kbar_exact"] > th["Kbar_eq9"] > 0 and "lowest_eig_eq21" in th
    code, out, _ = _run(["reproduce", "--list"], capsys)
    assert code == 0 and all(f"liu2023-fig{i}" in out for i in (1, 2, 3))


def _ckpt_seconds(path):
    with np.load(path) as data:
        return json.loads(bytes(data["__meta__"]).decode())["wall_s"]


@pytest.mark.parametrize("argv, pieces", [
    (["kernel", "--qubits", "2", "--layers", "1,3", "--instances", "2", "--samples", "16"],
     ["L1", "L3"]),
    (["train", "--qubits", "1", "--layers", "4", "--inits", "3", "--steps", "30", "--chunk", "20",
      "--eta", "0.01"], ["train"]),
    (["supervised", "--qubits", "2", "--layers", "4", "--sizes", "2,3", "--instances", "2",
      "--inputs", "basis"], ["A2", "A3"]),
])
def test_wall_time_is_that_of_the_work_done_over_sessions(argv, pieces, capsys, tmp_path):
    """``wall_s``: a no-op rerun keeps the fresh run's value (not the rerun's own few ms);
    a rerun that recomputes a lost piece adds its own time to the pieces it kept."""
    d = tmp_path / "run"
    argv = ["qntk", *argv, "--out", str(d)]
    assert _run(argv, capsys)[0] == 0
    fresh = json.loads((d / "metrics.json").read_text())
    secs = {p: _ckpt_seconds(d / "checkpoints" / f"{p}.npz") for p in pieces}
    assert all(s > 0 for s in secs.values()) and sum(secs.values()) <= fresh["wall_s"]
    raw = {f: (d / f).read_bytes() for f in ("metrics.json", "arrays.npz")}
    assert _run(argv, capsys)[0] == 0                          # every piece checkpointed
    again = json.loads((d / "metrics.json").read_text())
    assert again["resumed"] is False and again["wall_s"] == fresh["wall_s"]
    # a no-op rerun leaves the results byte for byte as they were (audit: it rewrote
    # metrics.json with "resumed": true)
    assert all((d / f).read_bytes() == b for f, b in raw.items())
    (d / "checkpoints" / f"{pieces[-1]}.npz").unlink()         # a lost piece is recomputed
    assert _run(argv, capsys)[0] == 0
    redo = json.loads((d / "metrics.json").read_text())
    kept = sum(secs[p] for p in pieces[:-1])
    new = _ckpt_seconds(d / "checkpoints" / f"{pieces[-1]}.npz")
    assert redo["wall_s"] >= kept + new and redo["wall_s"] != fresh["wall_s"]


@pytest.mark.parametrize("argv, needle", [
    (["kernel", "--layers", "1000000000"], "needs at least"),
    (["kernel", "--instances", "1000000000"], "1000000000 instances"),
    (["kernel", "--samples", "1000000000"], "1000000000 samples"),
    (["kernel", "--terms", "1000000000"], "1000000000 Pauli terms"),
    (["train", "--steps", "1000000000000"], "steps of history"),
    (["train", "--terms", "1000000000"], "1000000000 Pauli terms"),
    (["train", "--target", "1e308"], "target 1e+308 makes the loss"),
    (["supervised", "--instances", "1000000000000"], "instances"),
    (["supervised", "--layers", "1000000000"], "needs at least"),
    (["theory", "--terms", "1000000000"], "1000000000 Pauli terms"),
])
def test_absurd_sizes_are_refused_before_anything_is_written(argv, needle, capsys, tmp_path):
    """Audit: these crashed with a traceback (exit 1) or were OOM-killed, and left a
    config.json that blocked the corrected rerun. Now one line, exit 2, no directory."""
    out_dir = tmp_path / "run"
    extra = [] if argv[0] == "theory" else ["--out", str(out_dir)]
    code, out, err = _run(["qntk", *argv, *extra], capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("qsntk: error:"), err
    assert needle in lines[0], err
    assert not out_dir.exists()
    if argv[0] != "theory":       # the corrected command then runs in that directory
        assert not tmp_path.joinpath("run").exists()


def test_theory_mu_pairs_is_not_round_off_times_L_squared(capsys):
    """Audit: theory --layers 1e9 gave mu_mean_pairs = 505 from a 3e-15 round-off of a zero
    E kappa_3 amplified by L^2; a zero within round-off is now reported as 0."""
    for L in ("4", "1000000000"):
        code, out, _ = _run(["qntk", "theory", "--layers", L], capsys)
        assert code == 0 and json.loads(out)["mu_mean_pairs"] == 0.0
    from qsntk.circuits import theory
    O = np.diag([1.0, 3.0, 0.0, -0.5]).astype(complex)      # E kappa_3 != 0: kept
    a, b = theory.mu_mean_pairs(O, 10), theory.mu_mean_pairs(O, 1000)
    assert a != 0 and np.isclose(b / a, 999 * 998 / (9 * 8))


def test_duplicate_layers_are_one_depth_and_give_no_slope(capsys, tmp_path):
    """Audit: --layers 2,2 gave slope "nan". Repeated values are merged (sorted, as the other
    list options of the CLI do) and one depth has no slope: null, with a note."""
    d = tmp_path / "k"
    code, out, _ = _run(["qntk", "kernel", "--qubits", "1", "--layers", "2,2", "--instances", "2",
                         "--samples", "4", "--out", str(d)], capsys)
    assert code == 0
    m = json.loads((d / "metrics.json").read_text())
    assert m["layers"] == [2] and m["slope_dK_over_K"] is None and "two distinct" in m["slope_note"]
    assert json.loads(out)["metrics"]["slope_dK_over_K"] is None


def test_diverging_training_is_reported(capsys, tmp_path):
    """Audit: --eta 1e3 diverged silently (gamma_fit "nan"). Now metrics say diverged (and
    at which step), gamma_fit is null, stderr has one warning line; exit 0, as the
    supervised driver records a diverged run."""
    base = ["qntk", "train", "--qubits", "2", "--layers", "8", "--inits", "3", "--steps", "40",
            "--chunk", "20"]
    code, out, err = _run(base + ["--eta", "1e3", "--out", str(tmp_path / "bad")], capsys)
    assert code == 0
    m = json.loads((tmp_path / "bad" / "metrics.json").read_text())
    assert m["diverged"] is True and m["diverged_at_step"] >= 1 and m["gamma_fit"] is None
    assert json.loads(out)["metrics"]["diverged"] is True
    assert len([ln for ln in err.splitlines() if "diverged" in ln]) == 1
    code, out, err = _run(base + ["--eta", "0.01", "--out", str(tmp_path / "ok")], capsys)
    m = json.loads((tmp_path / "ok" / "metrics.json").read_text())
    assert code == 0 and m["diverged"] is False and m["diverged_at_step"] is None
    assert "diverged" not in err


def test_supervised_at_full_size_reports_absolute_error_where_eq21_is_zero(capsys, tmp_path):
    """Audit: --sizes ...,D gave max_rel_err "inf" (eq. 21 is 0 at |A| = D). That size is
    left out of the relative errors and gets an absolute one."""
    d = tmp_path / "s"
    code, out, _ = _run(["qntk", "supervised", "--qubits", "1", "--layers", "4", "--sizes", "1,2",
                         "--instances", "3", "--out", str(d)], capsys)
    assert code == 0
    m = json.loads((d / "metrics.json").read_text())
    assert np.isfinite(m["max_rel_err_mean_kernel_vs_eq21"])
    assert np.isfinite(m["max_rel_err_mean_lmin_vs_eq21"])
    assert 0 <= m["abs_err_mean_kernel_vs_eq21_where_zero"] < 1e-9     # rank |A| - 1 = 1 < 2
    assert "|A| = D = 2" in m["eq21_zero_note"]
    assert "inf" not in (d / "metrics.json").read_text()
