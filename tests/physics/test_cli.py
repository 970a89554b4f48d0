"""``qsntk exact`` and ``qsntk target`` from the command line."""

import json
import subprocess
import sys

import numpy as np
import pytest

from qsntk.cli import main


def run(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    out, err = capsys.readouterr()
    return info.value.code, out, err


def test_exact_json_heisenberg(capsys):
    code, out, err = run(["exact", "heisenberg", "--lx", "4", "--ly", "4", "--sz0", "--json"],
                         capsys)
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert result["dim"] == 12870 and result["system"] == "heisenberg" and result["pbc"] is True
    assert result["E0"] == pytest.approx(-11.228483, abs=5e-7)
    assert result["E0_per_site"] == pytest.approx(-11.228483 / 16, abs=1e-7)


def test_exact_hubbard_excited_and_table(capsys):
    code, out, _ = run(["exact", "hubbard", "--lx", "4", "--n-up", "2", "--n-down", "2",
                        "--U", "0", "--obc", "--k", "3", "--json"], capsys)
    result = json.loads(out)
    assert code == 0 and result["dim"] == 36 and len(result["energies"]) == 3
    assert result["pbc"] is False and result["couplings"] == {"t": 1.0, "U": 0.0}
    eps = -2 * np.cos(np.pi * np.arange(1, 5) / 5)  # open 4-chain levels
    assert result["E0"] == pytest.approx(2 * (eps[0] + eps[1]), abs=1e-10)
    code, out, _ = run(["exact", "tfim", "--lx", "3", "--J", "0.5"], capsys)
    assert code == 0 and "dim          8" in out and "E0/site" in out


def test_target_writes_npz(tmp_path, capsys):
    path = tmp_path / "t.npz"
    code, _, err = run(["target", "tfim-quench", "--obc", "--out", str(path)], capsys)
    assert code == 0 and "4096 amplitudes" in err
    with np.load(path, allow_pickle=False) as data:
        assert data["x"].shape == (4096, 12) and data["psi"].dtype == np.complex128
        assert data["basis"].dtype == np.int8
        meta = json.loads(str(data["meta"][0]))
    assert meta["pbc"] is False and meta["preset"] == "tfim-quench" and meta["tau"] == 2.1


def test_custom_target_from_the_command_line(tmp_path, capsys):
    path = tmp_path / "c.npz"
    code, _, _ = run(["target", "hubbard", "--lx", "4", "--n-up", "1", "--n-down", "1",
                      "--U", "6", "--from", "U=2", "--tau", "0.5", "--out", str(path)], capsys)
    assert code == 0
    with np.load(path) as data:
        meta = json.loads(str(data["meta"][0]))
        assert data["psi"].shape == (16,)
    assert meta["initial"]["couplings"] == {"t": 1.0, "U": 2.0} and meta["couplings"]["U"] == 6.0


@pytest.mark.parametrize("argv,message", [
    (["exact", "tfim", "--lx", "0"], "lx must be >= 1, got 0"),
    (["exact", "hubbard", "--lx", "3", "--ly", "4", "--n-up", "13", "--n-down", "2"],
     "n_up=13 does not fit on 12 sites"),
    (["exact", "potts", "--lx", "3"], "unknown system 'potts'"),
    (["exact", "tfim", "--lx", "3", "--J", "inf"], "coupling J must be finite, got inf"),
    (["exact", "tfim", "--lx", "3", "--U", "2"], "has no coupling 'U'"),
    (["exact", "tfim", "--lx", "2", "--k", "9"], "--k 9 exceeds"),
    (["exact", "tfim"], "--lx is required"),
    (["target", "hubbard-quench", "--tau", "-1", "--out", "OUT"], "tau must be >= 0, got -1.0"),
    (["target", "ising-quench", "--out", "OUT"], "unknown target 'ising-quench'"),
    (["target", "hubbard-quench", "--n-down", "20", "--out", "OUT"], "n_down=20 does not fit"),
    (["target", "hubbard-quench", "--from", "U", "--out", "OUT"], "--from needs NAME=VALUE"),
    (["target", "tfim-quench", "--out", "BLOCKED/x.npz"], "is not a directory"),
    (["target", "tfim-quench", "--out", "DIR"], "is a directory"),
    (["target", "tfim", "--lx", "8", "--tau", "1", "--out", "OUT.NPZ"], "--out must end in .npz"),
    (["target", "tfim-quench", "--out", "KEEP"], "exists; use --overwrite"),
    (["target", "tfim-quench", "--tau", "1e300", "--out", "OUT"], "tau up to"),
    (["kernel", "--inputs", "NPY", "--width", "8", "--out", "OUT"], "not a single .npy array"),
    (["kernel", "--inputs", "JUNK", "--width", "8", "--out", "OUT"], "BadZipFile"),
    (["kernel", "--inputs", "EMPTY", "--width", "8", "--out", "OUT"], "n, d >= 1"),
    (["kernel", "--inputs", "X", "--sigma-w", "nan", "--out", "OUT"], "sigma_w must be finite"),
    (["kernel", "--inputs", "X", "--seed", "-1", "--out", "OUT"], "not in the range"),
    (["supervised", "--target", "NANTARGET", "--out", "DIR/run"], "psi has non-finite entries"),
    (["supervised", "--target", "JUNK", "--out", "DIR/run"], "cannot read target"),
    (["supervised", "--target", "KEEP", "--widths", "10,,20", "--out", "DIR/run"], "empty item"),
    (["entanglement", "state", "X"], "is an .npz archive"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(argv, message, tmp_path, capsys):
    (tmp_path / "BLOCKED").write_text("a file, not a directory")
    (tmp_path / "DIR").mkdir()
    files = {"KEEP": "keep.npz", "NPY": "x.npy", "JUNK": "junk.npz", "EMPTY": "empty.npz",
             "X": "x.npz", "NANTARGET": "nan_target.npz"}
    (tmp_path / "keep.npz").write_bytes(b"an earlier result")
    np.save(tmp_path / "x.npy", np.ones((3, 3)))
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 not really a zip")
    np.savez(tmp_path / "empty.npz", x=np.ones((0, 3)))
    np.savez(tmp_path / "x.npz", x=np.ones((3, 3)))
    np.savez(tmp_path / "nan_target.npz", x=np.ones((4, 3)), psi=np.array([1, np.nan, 0, 0], complex),
             basis=np.arange(4), meta=np.array([json.dumps({})]))
    for key, name in files.items():
        argv = [str(tmp_path / name) if a == key else a for a in argv]
    argv = [a.replace("OUT", str(tmp_path / "out.npz")).replace("BLOCKED", str(tmp_path / "BLOCKED"))
            .replace("DIR", str(tmp_path / "DIR")) for a in argv]
    snapshot = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    before = sorted(p.name for p in tmp_path.iterdir())
    code, out, err = run(argv, capsys)
    assert code == 2 and out == ""
    assert err.startswith("qsntk: error: ") and err.count("\n") == 1 and message in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == snapshot
    assert list((tmp_path / "DIR").iterdir()) == []


def test_subprocess_error_has_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "qsntk.cli", "target", "hubbard-quench",
                           "--lx", "0", "--out", str(tmp_path / "x.npz")],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "qsntk: error: lx must be >= 1, got 0"
    assert not (tmp_path / "x.npz").exists()


def test_target_out_must_end_in_npz_before_anything_is_computed(tmp_path, capsys, monkeypatch):
    """`--target` of `qsntk supervised`/`kernel` reads only names ending in .npz, so `qsntk
    target` refuses another --out (as `qsntk kernel` does) before it computes anything."""
    import qsntk.physics.targets as targets

    def never(*args, **kwargs):
        raise AssertionError("computed a target for an --out that cannot be used")

    monkeypatch.setattr(targets, "quench_target", never)
    monkeypatch.chdir(tmp_path)
    code, out, err = run(["target", "tfim", "--lx", "8", "--tau", "1", "--out", "t21.txt"], capsys)
    assert code == 2 and out == ""
    assert err == "qsntk: error: --out must end in .npz, got 't21.txt'\n"
    assert list(tmp_path.iterdir()) == []
