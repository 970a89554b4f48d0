"""``qsntk kernel``: files it writes agree with the library, bad input exits 2 and writes nothing."""

import json

import jax
import numpy as np
import pytest

from qsntk.cli import main
from qsntk.kernels import infinite_real_blocks, qs_ntk
from qsntk.nets import init_params, paper_pair

X = np.sign(np.random.default_rng(0).normal(size=(10, 5)))


def _run(args):
    with pytest.raises(SystemExit) as e:
        main(["kernel", *args])
    return e.value.code


@pytest.fixture()
def inputs(tmp_path):
    f = tmp_path / "x.npz"
    np.savez(f, x=X)
    return str(f)


def test_empirical_and_infinite_files(inputs, tmp_path):
    out = tmp_path / "k.npz"
    assert _run(["--inputs", inputs, "--width", "64", "--seed", "3", "--omega", "--out", str(out)]) == 0
    with np.load(out) as f:
        model = paper_pair(64)
        ref = qs_ntk(model, init_params(model, 5, key=jax.random.PRNGKey(3)), X)
        np.testing.assert_allclose(f["theta"], ref.theta, rtol=1e-12)
        np.testing.assert_allclose(f["phi"], ref.phi, rtol=1e-12)
        np.testing.assert_allclose(f["phi"], f["phi"].conj().T, atol=1e-14)  # Hermitian
        assert f["omega"].shape == (20, 20)
        ev = f["omega_ri_eigenvalues"]
        info = json.loads(bytes(f["info"]).decode())
    K = np.asarray(ref.phi.real + ref.theta.real, float) / 2  # = K11 for a pair
    np.testing.assert_allclose(ev[-1], max(np.linalg.eigvalsh(K)[-1],
                                            np.linalg.eigvalsh((ref.phi.real - ref.theta.real) / 2)[-1]))
    assert info["spectrum"]["eta_max"] == pytest.approx(10 / ev[-1])
    out2 = tmp_path / "inf.npz"
    assert _run(["--inputs", inputs, "--kind", "infinite", "--out", str(out2)]) == 0
    with np.load(out2) as f:
        Kinf = np.asarray(infinite_real_blocks(paper_pair(1), X, get="ntk"))
        np.testing.assert_allclose(f["theta"], Kinf[0, 0] - Kinf[1, 1], atol=1e-15)  # Θ = Θ1 − Θ2 = 0
        np.testing.assert_allclose(f["phi"], Kinf[0, 0] + Kinf[1, 1], rtol=1e-13)


@pytest.mark.parametrize("args, msg", [
    (["--activation", "swish"], "activation"),
    (["--kind", "finite"], "kind"),
    (["--arch", "cosnet", "--wavefunction", "complex"], "complex"),
    (["--width", "0"], "width"),
])
def test_bad_options_exit_2_and_write_nothing(inputs, tmp_path, capsys, args, msg):
    out = tmp_path / "k.npz"
    assert _run(["--inputs", inputs, *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert msg in err and err.count("\n") == 1 and not out.exists()


def test_bad_inputs_exit_2(tmp_path, capsys):
    out = str(tmp_path / "k.npz")
    bad = tmp_path / "bad.npz"
    np.savez(bad, x=X, x2=X[:, :3])
    assert _run(["--inputs", str(bad), "--out", out]) == 2
    assert "x2" in capsys.readouterr().err
    nan = X.copy()
    nan[2, 1] = np.nan
    np.savez(bad, x=nan)
    assert _run(["--inputs", str(bad), "--out", out]) == 2
    assert "finite" in capsys.readouterr().err
    np.savez(bad, y=X)
    assert _run(["--inputs", str(bad), "--out", out]) == 2
    assert "no array 'x'" in capsys.readouterr().err
    assert _run(["--out", out]) == 2
    assert "exactly one" in capsys.readouterr().err
    open(out, "w").close()
    np.savez(bad, x=X)
    assert _run(["--inputs", str(bad), "--out", out]) == 2
    assert "exists" in capsys.readouterr().err


def _strict(text):
    """json.loads that refuses the non-standard Infinity, -Infinity and NaN."""
    def refuse(name):
        raise ValueError(f"non-standard JSON constant {name}")
    return json.loads(text, parse_constant=refuse)


def test_info_is_strict_json_and_says_inf_as_stdout_does(tmp_path, capsys):
    f = tmp_path / "same.npz"
    np.savez(f, x=np.ones((4, 3)))                  # identical rows: a singular kernel
    out = tmp_path / "k.npz"
    assert _run(["--inputs", str(f), "--width", "16", "--out", str(out)]) == 0
    printed = _strict(capsys.readouterr().out)
    with np.load(out) as g:
        info = _strict(bytes(g["info"]).decode())
    assert info["spectrum"]["condition"] == "inf" == printed["spectrum"]["condition"]
    assert info == {**printed, "seconds_kernel": info["seconds_kernel"]}


def test_info_records_only_what_entered(inputs, tmp_path, capsys):
    out = tmp_path / "k.npz"
    assert _run(["--inputs", inputs, "--kind", "infinite", "--out", str(out)]) == 0
    with np.load(out) as f:
        info = _strict(bytes(f["info"]).decode())
    assert not {"width", "seed", "n_params", "sigma_a", "sigma_w"} & set(info)
    assert info["depth"] == 1 and info["activation"] == "relu" and info["W_std"] == 0.5
    assert _run(["--inputs", inputs, "--arch", "cosnet", "--width", "32", "--out", str(out),
                 "--overwrite"]) == 0
    with np.load(out) as f:
        info = _strict(bytes(f["info"]).decode())
    assert not {"depth", "activation", "W_std", "b_std"} & set(info)
    assert info["width"] == 32 and info["seed"] == 0 and info["sigma_w"] == 1.0
    # the standard parameterization's infinite NTK scales with the width: it is used and recorded
    assert _run(["--inputs", inputs, "--kind", "infinite", "--parameterization", "standard",
                 "--width", "20", "--out", str(out), "--overwrite"]) == 0
    with np.load(out) as f:
        info = _strict(bytes(f["info"]).decode())
        k20 = f["phi"]
    assert info["width"] == 20 and "seed" not in info
    assert _run(["--inputs", inputs, "--kind", "infinite", "--parameterization", "standard",
                 "--width", "40", "--out", str(out), "--overwrite"]) == 0
    with np.load(out) as f:
        assert not np.allclose(f["phi"], k20)


@pytest.mark.parametrize("args, msg", [
    (["--arch", "cosnet", "--depth", "3"], "--depth is not used by --arch cosnet"),
    (["--arch", "gaussnet", "--activation", "tanh"], "--activation is not used by --arch gaussnet"),
    (["--arch", "cosnet", "--W-std", "1"], "--W-std is not used by --arch cosnet"),
    (["--b-std", "0.2", "--arch", "cosnet"], "--b-std is not used"),
    (["--sigma-a", "2"], "--sigma-a is not used by --arch fc"),
    (["--kind", "infinite", "--seed", "1"], "--seed is not used by --kind infinite"),
    (["--kind", "infinite", "--width", "20"], "--width is not used by --kind infinite"),
    (["--kind", "infinite", "--seed", "0"], "--seed is not used"),   # even at its default value
])
def test_unused_options_are_refused(inputs, tmp_path, capsys, args, msg):
    out = tmp_path / "k.npz"
    assert _run(["--inputs", inputs, *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert msg in err and err.count("\n") == 1 and not out.exists()


@pytest.mark.parametrize("x, msg", [
    (X + 1j, "array 'x' has dtype complex128"),
    (X.astype(np.complex64), "array 'x' has dtype complex64"),
    (np.array([["1", "2"]]), "array 'x' has dtype <U1"),
    (np.array([[1, "a"]], dtype=object), "array 'x' has dtype object"),
])
def test_non_real_inputs_are_refused(tmp_path, capsys, x, msg):
    f, out = tmp_path / "xbad.npz", tmp_path / "k.npz"
    np.savez(f, x=x) if x.dtype != object else np.savez(f, x=x, allow_pickle=True)
    assert _run(["--inputs", str(f), "--width", "8", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert msg in err and str(f) in err and "real numbers" in err
    assert err.count("\n") == 1 and not out.exists()
    np.savez(f, x=X, x2=x)
    assert _run(["--inputs", str(f), "--width", "8", "--out", str(out)]) == 2
    assert "array 'x2' has dtype" in capsys.readouterr().err


def test_integer_and_bool_inputs_are_read_as_float(tmp_path, inputs):
    ref = tmp_path / "ref.npz"
    assert _run(["--inputs", inputs, "--width", "8", "--out", str(ref)]) == 0
    for x in (X.astype(np.int8), (X > 0)):
        f, out = tmp_path / "xi.npz", tmp_path / "k.npz"
        np.savez(f, x=x)
        assert _run(["--inputs", str(f), "--width", "8", "--out", str(out), "--overwrite"]) == 0
        with np.load(out) as g, np.load(ref) as r:
            if x.dtype == np.int8:
                np.testing.assert_array_equal(g["phi"], r["phi"])
            assert g["phi"].shape == (10, 10)


@pytest.mark.parametrize("content, msg", [
    (b"x y\n1 2\n3 4\n", "is not an .npz array file"),
    (b"", "is empty, not an .npz array file"),
])
def test_a_file_that_is_not_an_npz_is_named(tmp_path, capsys, content, msg):
    f, out = tmp_path / "text.npz", tmp_path / "k.npz"
    f.write_bytes(content)
    assert _run(["--inputs", str(f), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert msg in err and str(f) in err and "pickle" not in err
    assert err.count("\n") == 1 and not out.exists()


@pytest.mark.parametrize("args", [["--width", "64"], ["--arch", "cosnet", "--width", "64"],
                                  ["--kind", "infinite"]])
def test_a_size_beyond_memory_is_refused_before_work(inputs, tmp_path, capsys, monkeypatch, args):
    import qsntk.errors

    out = tmp_path / "k.npz"
    monkeypatch.setattr(qsntk.errors, "physical_memory_bytes", lambda: 2000)
    called = []
    import qsntk.kernels

    for name in ("real_blocks", "infinite_real_blocks"):              # no kernel work starts
        monkeypatch.setattr(qsntk.kernels, name, lambda *a, **k: called.append(name))
    assert _run(["--inputs", inputs, *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "kernel of 10 x 10 inputs" in err and "needs at least" in err and "2000" not in err
    assert err.count("\n") == 1 and not out.exists() and not called
