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
