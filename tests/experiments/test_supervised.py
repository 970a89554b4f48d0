"""The supervised-learning driver: structured GD, λ_max, resume, interruption, CLI and the
finite-width → infinite-width agreement on a small target."""

import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from qsntk.dynamics import ensemble as ens
from qsntk.dynamics.supervised import random_split
from qsntk.errors import InputError
from qsntk.experiments.supervised import make_config, run_supervised
from qsntk.kernels import real_blocks
from qsntk.nets import FCNet, RealImagPair, paper_pair
from qsntk.physics.targets import make_target


@pytest.fixture(scope="module")
def target_file(tmp_path_factory):
    t = make_target("tfim", lx=3, ly=2, tau=1.0, J=0.5)  # 64 states, complex
    f = tmp_path_factory.mktemp("target") / "tfim6.npz"
    t.save(f)
    return str(f), t


def _tree_maxdiff(a, b):
    return max(float(jnp.abs(u - v).max()) for u, v in
               zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)))


@pytest.mark.parametrize("model", [
    paper_pair(37),
    RealImagPair(*(FCNet((29,), activation="tanh", W_std=1.2, b_std=0.3, parameterization="standard")
                   for _ in range(2)))], ids=["paper-relu", "tanh-standard"])
def test_structured_gd_equals_autodiff_gd(model, target_file):
    _, t = target_file
    pb = ens.make_problem(t.x, t.psi, random_split(64, 40, seed=0), dtype=jnp.float64)
    assert ens.supports_structured(model)
    p = ens.init_ensemble(model, 6, 3, key=jax.random.PRNGKey(0), dtype=jnp.float64)
    a = ens.gd_fn(model.apply, pb.x_train, pb.y_train, 0.3, chunk=16)(p, 5)
    b = ens.structured_gd_fn(model, pb.x_train, pb.y_train, 0.3, chunk=7)(p, 5)
    assert _tree_maxdiff(a, b) < 1e-13
    assert _tree_maxdiff(a, p) > 1e-3  # the parameters moved


_SHARDED = """
import sys
from qsntk.hostdevices import expose_host_cores
assert expose_host_cores(2) == 2
import jax, jax.numpy as jnp, numpy as np
from qsntk.dynamics import ensemble as ens
from qsntk.nets import paper_pair
assert len(jax.devices()) == 2 and expose_host_cores(2) == 0  # too late: backend started
rng = np.random.default_rng(0)
x = jnp.asarray(rng.choice([-1.0, 1.0], size=(50, 6)))
y = jnp.asarray(rng.normal(size=50) + 1j * rng.normal(size=50))
m = paper_pair(23)
p = ens.init_ensemble(m, 6, 3, key=jax.random.PRNGKey(0), dtype=jnp.float64)
both = ens.structured_gd_fn(m, x, y, 0.3, chunk=16, native=False)(p, 4)     # the XLA split
one = ens.structured_gd_fn(m, x, y, 0.3, chunk=16, devices=jax.devices()[:1], native=False)(p, 4)
auto = ens.gd_fn(m.apply, x, y, 0.3, chunk=16)(p, 4)
leaf = lambda t: jax.tree_util.tree_leaves(t)
assert ens._net_mesh(6, None).devices.size == 2  # the six networks are split over both
assert leaf(both)[0].sharding == leaf(p)[0].sharding  # and come back where they were
print(max(float(jnp.abs(a - b).max()) for a, b in zip(leaf(both), leaf(one))),
      max(float(jnp.abs(a - b).max()) for a, b in zip(leaf(both), leaf(auto))))
"""


def test_structured_gd_split_over_devices_equals_one_device():
    """Networks split over two XLA CPU devices step exactly as on one (fresh process)."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env["JAX_PLATFORMS"] = "cpu"
    out = subprocess.run([sys.executable, "-c", _SHARDED], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    same, vs_autodiff = map(float, out.stdout.split()[-2:])
    assert same == 0.0 and vs_autodiff < 1e-13


def test_power_iteration_matches_kernel_eigenvalue(target_file):
    _, t = target_file
    model = paper_pair(50)
    x = jnp.asarray(t.x)
    p = ens.init_ensemble(model, 6, 2, key=jax.random.PRNGKey(1), dtype=jnp.float64)
    lam = ens.top_ntk_eigenvalue(model.apply, p, x, iters=120, key=jax.random.PRNGKey(2))
    for e in range(2):
        pe = jax.tree_util.tree_map(lambda a: a[e], p)
        K = np.asarray(real_blocks(model, pe, x))
        big = np.block([[K[0, 0], K[0, 1]], [K[1, 0], K[1, 1]]])
        top = np.linalg.eigvalsh(big)[-1]
        assert top * (1 - 1e-4) < lam[e] <= top * (1 + 1e-12)  # converges from below


def _cfg(target, **kw):
    base = dict(targets=[target], train_sizes=[40], widths=[16, 2048], members=4, steps=60,
                n_log=12, precision="float64", checkpoint_s=0.01)
    return make_config(**{**base, **kw})


def test_run_writes_resumes_and_tracks_theory(target_file, tmp_path):
    f, _ = target_file
    cfg = _cfg(f, linearized=True)
    out = tmp_path / "run"
    r = run_supervised(out, cfg)
    for name in ("config.json", "metrics.json", "arrays.npz"):
        assert (out / name).is_file()
    assert r["figures"] and all(p.endswith(".png") for p in r["figures"])
    m = json.loads((out / "metrics.json").read_text())
    a = m["analytic"]["t0_n40"]
    assert a["train_psi_inf"] < 1e-8 * a["train_psi"][0]        # τ = ∞ fits the train set
    np.testing.assert_allclose(a["test_psi_inf"], a["test_mu_inf"] + a["test_gamma_inf"])
    wide, narrow = r["summary"]["t0_n40_w2048"], r["summary"]["t0_n40_w16"]
    # the linearized twins (each member's own frozen kernel) follow the trained nets closely
    assert wide["test_max_rel_dev_linearized"] < 0.02
    assert wide["test_max_rel_dev_linearized"] < wide["test_max_rel_dev_members"]
    # the wide ensemble follows the infinite-width prediction from its own f0 ...
    # (late train losses sit in the slowest modes, the most width-sensitive: ~3/sqrt(N))
    assert wide["train_max_rel_dev_members"] < 0.12 and wide["test_max_rel_dev_members"] < 0.05
    # ... and the gap to the NTK shrinks with width
    assert narrow["test_max_rel_dev_members"] > 2 * wide["test_max_rel_dev_members"]
    _check_gap_rows(cfg, m, r["summary"])
    # rerunning resumes: nothing recomputed, identical metrics, and no file of the run
    # directory rewritten (bytes and modification times as they were)
    import os

    files = sorted(q for q in out.rglob("*") if q.is_file())
    for q in files:
        os.utime(q, ns=(10**18, 10**18))
    before = {q: q.read_bytes() for q in files}
    run_supervised(out, cfg)
    assert sorted(q for q in out.rglob("*") if q.is_file()) == files
    assert all(q.read_bytes() == before[q] and q.stat().st_mtime_ns == 10**18 for q in files)
    with pytest.raises(InputError, match="another config"):
        run_supervised(out, _cfg(f, members=3))


def _check_gap_rows(cfg, m, summary):
    """`qsntk status --gap` against the run's own summary (another function of the records)."""
    from qsntk.experiments.supervised_status import gap_rows, twin_losses

    rows = gap_rows(cfg, m)
    assert len(rows) == 2 * len(cfg["widths"])
    for r in rows:
        c = m["cells"][f"t0_n40_w{r['width']}"]
        worst = summary[f"t0_n40_w{r['width']}"][f"{r['set']}_max_rel_dev_members"]
        loose = gap_rows(cfg, m, tolerance=worst * 1.001 + 1e-15)
        tight = gap_rows(cfg, m, tolerance=worst * 0.999)
        pick = lambda rs: next(x for x in rs if x["width"] == r["width"] and x["set"] == r["set"])
        assert pick(loose)["held_until"] == c["steps"][-1]
        assert pick(tight)["held_until"] is None or pick(tight)["held_until"] < c["steps"][-1]
        assert r["networks"] == pytest.approx(summary[f"t0_n40_w{r['width']}"][f"{r['set']}_mean"][-1])
        # a twin diverges exactly when η is above its member's own η_max (power iteration)
        ratio = np.asarray(c["eta_over_member_max"])
        _, bad = twin_losses(c, r["set"])
        if np.all(np.abs(ratio - 1) > 0.01):
            assert bad.tolist() == (ratio > 1).tolist()
        if not bad.any():
            assert r["networks_over_eq17"] == pytest.approx(r["networks_over_twins"] * r["twins_over_eq17"])
        else:
            assert r["twins_diverged"] == bad.sum() and "networks_over_twins" not in r
        assert r["ntk_eq18"] == pytest.approx(m["analytic"]["t0_n40"][f"{r['set']}_psi"][-1])


def test_kernel_drift_at_the_end_of_each_cell(target_file, tmp_path, capsys):
    """``drift=True``: each member's kernel movement, measured when its cell finishes, and
    added afterwards to cells trained without it (from their checkpoints, via --reuse)."""
    from qsntk.cli import main
    from qsntk.experiments.supervised_status import format_gap_markdown, gap_rows

    f, _ = target_file
    plain = _cfg(f, members=2, linearized=True)
    run_supervised(tmp_path / "plain", plain)
    m0 = json.loads((tmp_path / "plain" / "metrics.json").read_text())
    assert all("drift" not in c for c in m0["cells"].values())
    cfg = _cfg(f, members=2, linearized=True, drift=True)
    run_supervised(tmp_path / "drift", cfg, reuse=[tmp_path / "plain"])
    m = json.loads((tmp_path / "drift" / "metrics.json").read_text())
    frob = {}
    for w in (16, 2048):
        c = m["cells"][f"t0_n40_w{w}"]
        d = c["drift"]
        assert c["train"] == m0["cells"][f"t0_n40_w{w}"]["train"]      # adopted, not retrained
        assert d["epoch"] == 60 and len(d["frob"]) == 2
        # the network's train loss over its twin's, from the residual split, equals the
        # recorded losses: the twins by the full-basis eq. 15 (another code path), the
        # networks by the loss function in training (float64 here)
        for e in range(2):
            twin = c["linearized"]["train"][-1][e]
            if d["parallel"][e] is None:                 # a twin above its own η_max
                assert twin > 10 * c["linearized"]["train"][0][e]
                continue
            ratio = d["parallel"][e] ** 2 + d["orthogonal"][e] ** 2
            assert ratio == pytest.approx(c["train"][-1][e] / twin, rel=1e-8)
            # a Rayleigh quotient of the initial kernel lies below its top eigenvalue
            assert 0 < d["rate_twin"][e] <= c["lam_max_members"][e] * (1 + 1e-6)
        assert np.all(np.asarray(d["rate_net"]) > 0)
        frob[w] = np.mean(d["frob"])
    assert frob[16] > 1e-3 and frob[2048] < frob[16] / 8        # 128x the width: lazier
    # the slow end of the wide kernel's spectrum moved by well under 1 %
    assert abs(np.mean(m["cells"]["t0_n40_w2048"]["drift"]["slow_ratio"]) - 1) < 0.01
    # the same numbers measured as the cells finish, without --reuse
    run_supervised(tmp_path / "fresh", cfg)
    fresh = json.loads((tmp_path / "fresh" / "metrics.json").read_text())
    for name, c in m["cells"].items():
        np.testing.assert_allclose(fresh["cells"][name]["drift"]["frob"], c["drift"]["frob"], rtol=1e-9)
    rows = [x for x in gap_rows(cfg, m) if x["set"] == "train"]
    assert [x["drift_frob"] for x in rows] == pytest.approx([frob[16], frob[2048]])
    # the rms network-twin difference obeys the triangle inequality with the two losses
    c = m["cells"]["t0_n40_w2048"]
    net, twin = np.sqrt(c["train"][-1]), np.sqrt(c["linearized"]["train"][-1])
    assert np.mean(np.abs(net - twin)) <= rows[1]["drift_deviation"] <= np.mean(net + twin)
    narrow = m["cells"]["t0_n40_w16"]["drift"]["parallel"]
    assert ("drift_deviation" in rows[0]) == (None not in narrow)
    # a run kept without its checkpoints lends records but no trained parameters: said, not hidden
    kept = tmp_path / "kept"
    kept.mkdir()
    for name in ("config.json", "metrics.json"):
        (kept / name).write_text((tmp_path / "plain" / name).read_text())
    r = run_supervised(tmp_path / "from-records", cfg, reuse=[kept])
    assert r["drift_not_measured"] == ["t0_n40_w16", "t0_n40_w2048"]
    assert not any("drift" in c for c in json.loads(
        (tmp_path / "from-records" / "metrics.json").read_text())["cells"].values())
    assert "Kernel drift in training" in format_gap_markdown(rows)
    with pytest.raises(SystemExit) as e:
        main(["status", "--gap", str(tmp_path / "drift")])
    assert e.value.code == 0 and "slow spectrum K / K₀" in capsys.readouterr().out


def test_member_drift_of_a_twin_that_has_fit_the_train_set():
    """A well-conditioned K₀ and many steps: the twin's residual underflows to nothing, so the
    twin's columns are None (not a crash at the end of a long run); the rest is measured."""
    from qsntk.experiments.supervised import member_drift

    rng = np.random.default_rng(5)
    x = jnp.asarray(rng.choice([-1.0, 1.0], size=(4, 6)))
    y = 0.2 * (rng.normal(size=4) + 1j * rng.normal(size=4))
    model = paper_pair(256)
    p0 = ens.init_ensemble(model, 6, 1, key=jax.random.PRNGKey(3), dtype=jnp.float64)
    lam = float(ens.top_ntk_eigenvalue(model.apply, p0, x, key=jax.random.PRNGKey(4))[0])
    eta = 0.9 * 4 / lam
    p1 = ens.gd_fn(model.apply, x, jnp.asarray(y), eta)(p0, 20)
    fit = member_drift(model, p0, p1, x, y, eta, 10**6)
    assert fit["rate_twin"] == [None] and fit["parallel"] == [None] and fit["orthogonal"] == [None]
    assert fit["frob"][0] > 0 and fit["rate_net"][0] > 0
    # one step: network and twin differ only at second order in the step (measured 0.007 and
    # 0.026 here; a twin evolved for a wrong number of steps is off by 1 − 2ηλ/n ~ O(1))
    one = member_drift(model, p0, ens.gd_fn(model.apply, x, jnp.asarray(y), eta)(p0, 1), x, y, eta, 1)
    assert abs(one["parallel"][0] - 1) < 0.03 and one["orthogonal"][0] < 0.08


class _Interrupt:
    def __init__(self, after):
        self.after, self.n = after, 0

    def __call__(self, total, description=""):
        import contextlib
        outer = self

        class Bar:
            def advance(self, n=1):
                outer.n += n
                if outer.n >= outer.after:
                    raise KeyboardInterrupt

        return contextlib.nullcontext(Bar())


def test_interrupted_run_resumes_to_the_same_numbers(target_file, tmp_path):
    f, _ = target_file
    cfg = _cfg(f, widths=[32])
    full = run_supervised(tmp_path / "full", cfg)
    with pytest.raises(KeyboardInterrupt):
        run_supervised(tmp_path / "cut", cfg, progress=_Interrupt(25))
    partial = json.loads((tmp_path / "cut" / "metrics.json").read_text())
    logged = partial["cells"]["t0_n40_w32"]["steps"] if partial.get("cells") else []
    resumed = run_supervised(tmp_path / "cut", cfg)
    a = json.loads((tmp_path / "full" / "metrics.json").read_text())["cells"]["t0_n40_w32"]
    b = json.loads((tmp_path / "cut" / "metrics.json").read_text())["cells"]["t0_n40_w32"]
    assert b["steps"][: len(logged)] == logged and a["steps"] == b["steps"]
    np.testing.assert_allclose(b["train"], a["train"], rtol=1e-12)
    np.testing.assert_allclose(b["test"], a["test"], rtol=1e-12)
    assert resumed["summary"] == full["summary"]


def test_a_cell_stopped_between_logged_steps_resumes_from_reuse(target_file, tmp_path, monkeypatch):
    """The committed Fig. 3 case: a checkpoint taken between two logged steps, carried to
    a new run directory with ``--reuse``, finishes to the numbers of an unbroken run."""
    import shutil

    from qsntk.experiments import supervised as sup

    f, _ = target_file
    cfg = _cfg(f, widths=[32], checkpoint_s=1e-9)
    full = run_supervised(tmp_path / "full", cfg)
    monkeypatch.setattr(sup, "BLOCK_WORK", 1)              # one GD step between checks
    with pytest.raises(KeyboardInterrupt):
        run_supervised(tmp_path / "cut", cfg, progress=_Interrupt(37))
    grid = json.loads((tmp_path / "full" / "metrics.json").read_text())["cells"]["t0_n40_w32"]["steps"]
    with np.load(tmp_path / "cut" / "checkpoints" / "t0_n40_w32.npz") as z:
        step = json.loads(bytes(z["__meta__"]).decode())["step"]
    kept = tmp_path / "kept"                               # what results/ holds: no arrays.npz
    kept.mkdir()
    for name in ("config.json", "metrics.json"):
        shutil.copy(tmp_path / "cut" / name, kept)
    shutil.copytree(tmp_path / "cut" / "checkpoints", kept / "checkpoints")
    monkeypatch.setattr(sup, "BLOCK_WORK", 2e8)
    resumed = run_supervised(tmp_path / "new", cfg, reuse=[kept])
    a = json.loads((tmp_path / "full" / "metrics.json").read_text())["cells"]["t0_n40_w32"]
    b = json.loads((tmp_path / "new" / "metrics.json").read_text())["cells"]["t0_n40_w32"]
    assert 0 < step < 37 and step not in grid and a["steps"] == b["steps"]
    np.testing.assert_allclose(b["train"], a["train"], rtol=1e-12)
    np.testing.assert_allclose(b["test"], a["test"], rtol=1e-12)
    assert resumed["summary"] == full["summary"]
    # the source recorded another learning rate (kernels computed otherwise): refused
    m = json.loads((kept / "metrics.json").read_text())
    m["analytic"]["t0_n40"]["eta"] *= 1 + 1e-6
    (kept / "metrics.json").write_text(json.dumps(m))
    with pytest.raises(InputError, match="learning rate"):
        run_supervised(tmp_path / "new2", cfg, reuse=[kept])
    # --reuse of --out itself with --overwrite would delete the source first: refused
    with pytest.raises(InputError, match="--overwrite would empty"):
        run_supervised(kept, _cfg(f, widths=[32], checkpoint_s=1e-9, seed=3), reuse=[kept],
                       overwrite=True)
    assert (kept / "checkpoints" / "t0_n40_w32.npz").is_file()


def test_a_finished_target_keeps_its_figures_when_the_run_stops_later(target_file, tmp_path):
    f, _ = target_file
    t2 = make_target("tfim", lx=2, ly=2, tau=0.5, J=0.3)             # 16 states
    f2 = str(tmp_path / "tfim4.npz")
    t2.save(f2)
    cfg = _cfg(f, widths=[16], train_sizes=[8, 12], steps=20, n_log=6)
    cfg["targets"] = [f, f2]
    out = tmp_path / "run"
    # each target is 20 epochs at |B| = 8 (1 work unit each) and at 12 (2 units): 60 units;
    # stop 5 epochs into the second target
    with pytest.raises(KeyboardInterrupt):
        run_supervised(out, cfg, progress=_Interrupt(65))
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs == ["fig2_tfim6_n12.png", "fig2_tfim6_n8.png", "fig3_tfim6.png"]
    r = run_supervised(out, cfg)                                      # resume: all figures
    assert sorted(p.name for p in out.glob("*.png")) == sorted(
        pngs + ["fig2_tfim4_n12.png", "fig2_tfim4_n8.png", "fig3_tfim4.png"])
    assert len(r["figures"]) == 6


def test_progress_counts_work_units_and_adds_up_on_resume(target_file, tmp_path):
    from qsntk.experiments.supervised import work_units

    assert work_units([2400, 3200, 4000], [300, 1000, 5000]) == {
        (2400, 300): 1, (3200, 300): 1, (4000, 300): 2, (2400, 1000): 3, (3200, 1000): 4,
        (4000, 1000): 6, (2400, 5000): 17, (3200, 5000): 22, (4000, 5000): 28}
    f, _ = target_file
    cfg = _cfg(f, widths=[16, 48], train_sizes=[8], steps=20, n_log=6)

    class Count:
        def __call__(self, total, description=""):
            import contextlib
            self.total, self.done, self.skipped = total, 0, 0
            outer = self

            class Bar:
                def advance(self, n=1):
                    outer.done += n

                def skip(self, n):
                    outer.skipped += n
            return contextlib.nullcontext(Bar())

    c = Count()
    run_supervised(tmp_path / "run", cfg, progress=c)
    assert c.total == 20 * (1 + 3) and c.done == c.total and c.skipped == 0
    run_supervised(tmp_path / "run", cfg, progress=c)                 # resumed: all skipped
    assert c.skipped == c.total and c.done == 0


def test_fig3_leaves_out_cells_that_have_not_reached_the_last_epoch(target_file, tmp_path):
    import unittest.mock as um

    from qsntk.experiments import supervised_plots as plots

    f, _ = target_file
    cfg = _cfg(f, widths=[16], train_sizes=[8, 12], steps=20, n_log=6)
    out = tmp_path / "run"
    m = json.loads(Path(run_supervised(out, cfg)["metrics"]).read_text())
    drawn = []

    class Ax:     # records the widths fig3 draws and the points of each
        def errorbar(self, xs, m, **kw):
            drawn.append((kw["label"], list(xs)))

        def __getattr__(self, name):
            return lambda *a, **k: None

    class Plt:
        def subplots(self, *a, **k):
            return type("F", (), {"tight_layout": lambda s: None})(), Ax()

        def close(self, fig):
            pass

    cut = json.loads(json.dumps(m))
    c = cut["cells"]["t0_n12_w16"]
    for key in ("steps", "train", "test"):
        c[key] = c[key][:-2]                                          # stopped before the end
    saved = []
    run = type("Run", (), {"save_figure": lambda self, fig, name: saved.append(name) or name})()
    with um.patch.object(plots, "_plt", lambda: Plt()):
        plots.fig3(run, cut)
        assert drawn == [("width 16", [8])] and saved == ["fig3_tfim6"]
        drawn.clear()
        plots.fig3(run, m)
        assert drawn == [("width 16", [8, 12])]


def test_bad_settings_are_named(target_file):
    f, _ = target_file
    for kw, msg in [(dict(widths=[0]), "width"), (dict(members=0), "members"),
                    (dict(eta_factor=2.5), "eta_factor"), (dict(activation="swish"), "activation"),
                    (dict(targets=["nope"]), "unknown target"), (dict(precision="half"), "precision"),
                    (dict(bogus=1), "unknown setting"), (dict(targets=[f, f]), "repeats the name"),
                    (dict(seed=2**31), "seed must be below")]:
        with pytest.raises(InputError, match=msg):
            _cfg(f, **kw)


def test_a_malformed_metrics_file_is_named_on_resume_and_left_alone(target_file, tmp_path):
    f, _ = target_file
    cfg = _cfg(f, widths=[8], members=2, steps=5, n_log=3)
    out = tmp_path / "run"
    run_supervised(out, cfg)
    m = json.loads((out / "metrics.json").read_text())
    del m["analytic"]["t0_n40"]["eta"]                      # e.g. edited by hand
    (out / "metrics.json").write_text(json.dumps(m))
    before = (out / "metrics.json").read_bytes()
    with pytest.raises(InputError, match="analytic entry 't0_n40' has no valid learning rate"):
        run_supervised(out, cfg)
    assert (out / "metrics.json").read_bytes() == before
    (out / "metrics.json").write_text("[1, 2]")
    with pytest.raises(InputError, match="not a JSON object"):
        run_supervised(out, cfg)


def test_cli_runs_and_rejects_bad_input(target_file, tmp_path):
    from qsntk.cli import main

    f, _ = target_file
    with pytest.raises(SystemExit) as e:
        main(["supervised", "--target", f, "--train-sizes", "40", "--widths", "8", "--members", "2",
              "--steps", "5", "--n-log", "3", "--out", str(tmp_path / "ok")])
    assert e.value.code == 0 and (tmp_path / "ok" / "metrics.json").is_file()
    with pytest.raises(SystemExit) as e:
        main(["supervised", "--target", f, "--train-sizes", "64", "--out", str(tmp_path / "bad")])
    assert e.value.code == 2 and not (tmp_path / "bad").exists()


def test_cells_are_reused_from_an_identically_set_run(target_file, tmp_path):
    """Fig. 3 may start from Fig. 2's cells: same numbers, no retraining; other seeds refused."""
    f, _ = target_file
    first = run_supervised(tmp_path / "a", _cfg(f, widths=[24]))
    cfg = _cfg(f, train_sizes=[40, 48], widths=[24])
    both = run_supervised(tmp_path / "b", cfg, reuse=[tmp_path / "a"])
    ck = "checkpoints/t0_n40_w24.npz"  # adopted as it was, not retrained
    assert (tmp_path / "b" / ck).read_bytes() == (tmp_path / "a" / ck).read_bytes()
    a = json.loads((tmp_path / "a" / "metrics.json").read_text())["cells"]["t0_n40_w24"]
    b = json.loads((tmp_path / "b" / "metrics.json").read_text())["cells"]["t0_n40_w24"]
    assert a["train"] == b["train"] and a["test"] == b["test"]
    assert both["summary"]["t0_n40_w24"] == first["summary"]["t0_n40_w24"]
    fresh = run_supervised(tmp_path / "c", cfg)          # the same run without reuse
    assert fresh["summary"] == both["summary"]
    # a different seed trains a different cell: nothing adopted from "a"
    other = run_supervised(tmp_path / "d", _cfg(f, widths=[24], seed=5), reuse=[tmp_path / "a"])
    assert other["summary"]["t0_n40_w24"] != first["summary"]["t0_n40_w24"]
    with pytest.raises(InputError, match="not a run directory"):
        run_supervised(tmp_path / "e", cfg, reuse=[tmp_path / "missing"])


def test_finished_cells_are_reused_from_records_alone(target_file, tmp_path):
    """A run kept as config.json + metrics.json (no checkpoints) lends its finished cells."""
    import shutil

    f, _ = target_file
    run_supervised(tmp_path / "a", _cfg(f, widths=[24]))
    cfg = _cfg(f, train_sizes=[40, 48], widths=[24])
    fresh = run_supervised(tmp_path / "fresh", cfg)
    kept = tmp_path / "kept"
    kept.mkdir()
    shutil.copy(tmp_path / "a" / "config.json", kept)
    m = json.loads((tmp_path / "a" / "metrics.json").read_text())
    cell = m["cells"]["t0_n40_w24"]
    cell["test"] = [[2 * v for v in row] for row in cell["test"]]  # marks what was adopted
    (kept / "metrics.json").write_text(json.dumps(m))
    r = run_supervised(tmp_path / "b", cfg, reuse=[kept])
    got = json.loads((tmp_path / "b" / "metrics.json").read_text())["cells"]["t0_n40_w24"]
    assert got["test"] == cell["test"] and got["train"] == cell["train"]
    assert not (tmp_path / "b" / "checkpoints" / "t0_n40_w24.npz").exists()
    assert r["summary"]["t0_n48_w24"] == fresh["summary"]["t0_n48_w24"]  # trained here
    # rerun on the same directory: the finished cell comes from its own metrics.json
    again = run_supervised(tmp_path / "b", cfg)
    assert again["summary"] == r["summary"]
    # a checkpoint left from inside the cell, next to its finished records: the records win
    with pytest.raises(KeyboardInterrupt):
        run_supervised(tmp_path / "cut", _cfg(f, widths=[24]), progress=_Interrupt(25))
    (kept / "checkpoints").mkdir()
    shutil.copy(tmp_path / "cut" / "checkpoints" / "t0_n40_w24.npz", kept / "checkpoints")
    run_supervised(tmp_path / "b2", cfg, reuse=[kept])
    got = json.loads((tmp_path / "b2" / "metrics.json").read_text())["cells"]["t0_n40_w24"]
    assert got["test"] == cell["test"]
    shutil.rmtree(kept / "checkpoints")
    # records of another seed (its config.json) are not adopted
    other = tmp_path / "other"
    other.mkdir()
    (other / "config.json").write_text(json.dumps({**json.loads((kept / "config.json").read_text()),
                                                   "seed": 5}))
    shutil.copy(kept / "metrics.json", other)
    assert run_supervised(tmp_path / "s", cfg, reuse=[other])["summary"] == fresh["summary"]
    # an unfinished cell is not adopted from records: it is trained from the start
    cell["steps"], cell["train"], cell["test"] = cell["steps"][:-2], cell["train"][:-2], cell["test"][:-2]
    (kept / "metrics.json").write_text(json.dumps(m))
    part = run_supervised(tmp_path / "c", cfg, reuse=[kept])
    assert part["summary"] == fresh["summary"]


def test_status_reads_a_run_cell_by_cell(target_file, tmp_path, capsys):
    """`qsntk status`: state, epoch and the last losses of every cell, also mid-run."""
    from qsntk.cli import main
    from qsntk.experiments.supervised_status import cell_rows

    f, _ = target_file
    cfg = _cfg(f, widths=[16, 24])
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):          # stopped inside the second cell
        run_supervised(out, cfg, progress=_Interrupt(60 + 25))
    m = json.loads((out / "metrics.json").read_text())
    rows = cell_rows(cfg, m)
    assert [(r["width"], r["state"]) for r in rows] == [(16, "done"), (24, "partial")]
    assert rows[1]["epoch"] == m["cells"]["t0_n40_w24"]["steps"][-1] < 60
    n = 64
    for r, name in zip(rows, ("t0_n40_w16", "t0_n40_w24")):
        s = m["summary"][name]
        assert r["test"] == pytest.approx(s["test_mean"][-1], rel=1e-12)
        assert r["total"] == pytest.approx((40 * s["train_mean"][-1] + 24 * s["test_mean"][-1]) / n,
                                           rel=1e-12)
        assert r["total_ntk_inf"] < r["total_ntk"]  # the NTK keeps learning after this epoch
    with pytest.raises(SystemExit) as e:
        main(["status", str(out)])
    assert e.value.code == 0
    text = capsys.readouterr().out
    assert "partial" in text and "1 of 2 cells finished" in text
    with pytest.raises(SystemExit) as e:
        main(["status", "--json", str(out)])
    assert e.value.code == 0 and json.loads(capsys.readouterr().out) == json.loads(json.dumps(rows))
    with pytest.raises(SystemExit) as e:             # the Markdown table of docs/results.md
        main(["status", "--markdown", str(out)])
    md = capsys.readouterr().out.strip().splitlines()
    assert e.value.code == 0 and len(md) == 2 + len(rows)
    first = [x.strip() for x in md[2].strip("|").split("|")]
    gap = 100 * (rows[0]["total"] / rows[0]["total_ntk"] - 1)
    assert first[:4] == ["tfim6", "40", "16", "done"] and first[9] == f"{gap:+.1f} %"
    assert float(first[7].split("±")[0]) == pytest.approx(rows[0]["total"], rel=1e-3)
    with pytest.raises(SystemExit) as e:             # the finite-width gap, two sets per cell
        main(["status", "--gap", str(out)])
    md = capsys.readouterr().out.strip().splitlines()
    assert e.value.code == 0 and len(md) == 2 + 2 * len(rows) and "networks / twins" in md[0]
    assert [x.strip() for x in md[2].strip("|").split("|")][7] == "—"   # no twins in this run
    with pytest.raises(SystemExit) as e:
        main(["status", "--gap", "--markdown", str(out)])
    assert e.value.code == 2 and "--gap" in capsys.readouterr().err
    before = sorted((p.name, p.stat().st_mtime_ns) for p in out.rglob("*"))
    with pytest.raises(SystemExit) as e:             # figures elsewhere; the run is not touched
        main(["status", str(out), "--figures-to", str(tmp_path / "figs")])
    assert e.value.code == 0 and (tmp_path / "figs" / "fig2_tfim6_n40.png").is_file()
    assert sorted((p.name, p.stat().st_mtime_ns) for p in out.rglob("*")) == before
    capsys.readouterr()
    (tmp_path / "afile").write_text("x")
    with pytest.raises(SystemExit) as e:
        main(["status", str(out), "--figures-to", str(tmp_path / "afile")])
    assert e.value.code == 2 and "afile" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["status", str(tmp_path / "nowhere")])
    assert e.value.code == 2 and "not a run directory" in capsys.readouterr().err
    stray = {"analytic": {"t0_n40": {"steps": [0, 1]}},           # epoch 7 is not on its grid
             "cells": {"t0_n40_w16": {"steps": [0, 7], "analytic": "t0_n40"}}}
    for bad in ("{broken", "[1]", json.dumps(stray)):
        (out / "metrics.json").write_text(bad)        # unreadable, not an object, not this run
        with pytest.raises(SystemExit) as e:
            main(["status", str(out)])
        err = capsys.readouterr().err
        assert e.value.code == 2 and "metrics.json" in err and len(err.strip().splitlines()) == 1


def test_status_estimates_the_time_left():
    """`qsntk status`: time left from each width's rate per epoch and train point."""
    from qsntk.experiments.supervised_status import estimate_left, format_rows

    def row(n, w, state, epoch, wall):
        return {"target": "t", "n_train": n, "width": w, "state": state, "epoch": epoch,
                "steps": 100, "wall_s": wall}

    rows = estimate_left([row(10, 300, "done", 100, 30.0),        # 0.03 s per epoch and point
                          row(20, 300, "not started", 0, 0.0),
                          row(10, 1000, "partial", 40, 20.0),       # 0.05 s per epoch and point
                          row(20, 1000, "not started", 0, 0.0),
                          row(10, 5000, "not started", 0, 0.0),    # no rate: 1000's × 5
                          row(10, 50, "diverged", 3, 1.0)])
    assert [r["left_s"] for r in rows] == pytest.approx([0, 60, 30, 100, 250, 0])
    assert "about 7.3 min left" in format_rows(rows)
    fresh = estimate_left([row(10, 300, "not started", 0, 0.0)])
    assert fresh[0]["left_s"] is None and "left" not in format_rows(fresh)
    # a partial cell checkpointed at step 80, last logged at 40 (log-spaced grid): its 20 s
    # are for 80 epochs, and 20 are left, not 60
    late = row(10, 1000, "partial", 40, 20.0)
    late["trained"] = 80
    rows = estimate_left([late, row(20, 1000, "not started", 0, 0.0)])
    assert [r["left_s"] for r in rows] == pytest.approx([5, 50])


def test_chunks_are_balanced():
    from qsntk.dynamics.ensemble import _chunks, chunk_rows

    assert chunk_rows(2400, 2133) == (2, 1200)
    assert chunk_rows(4000, 128) == (32, 125)
    assert chunk_rows(100, None) == (1, 100) and chunk_rows(100, 500) == (1, 100)
    for n in range(1, 60):
        for chunk in range(1, 70):
            m, c = chunk_rows(n, chunk)
            assert c <= chunk and m * c >= n and m * c - n < m and m == -(-n // min(chunk, n))
    x = jnp.arange(10.0)[:, None]
    xs, ys, ws = _chunks(x, jnp.arange(10.0), 7)      # 2 chunks of 5, not 2 of 7 (4 padded)
    assert xs.shape == (2, 5, 1) and float(ws.sum()) == 10.0
    assert np.array_equal(np.asarray(xs).ravel(), np.arange(10.0))


def test_summary_standard_error_and_z():
    from qsntk.experiments.supervised import summarize

    analytic = {"a": {"steps": [0, 1, 2], "train_psi": [1.0, 0.5, 0.25], "test_psi": [2.0, 1.0, 0.5]}}
    train = [[1.1, 0.9, 1.3, 0.7], [0.5, 0.5, 0.5, 0.5], [0.3, 0.3, 0.3, 0.3]]
    test = [[2.0, 2.0, 2.0, 2.0], [1.2, 1.0, 1.1, 0.9], [0.5, 0.6, 0.4, 0.5]]
    cell = {"analytic": "a", "steps": [0, 1, 2], "train": train, "test": test, "diverged": False,
            "theory_members": {"train": train, "test": test}}
    s = summarize({"c": cell}, analytic)["c"]
    sem0 = np.std(train[0], ddof=1) / 2
    assert np.isclose(s["train_sem"][0], sem0)
    assert s["train_max_z"] == np.inf          # step 2: all members 0.3 vs 0.25, zero spread
    assert np.isclose(s["train_max_rel_dev"], 0.2)
    sem1 = np.std(test[1], ddof=1) / 2
    assert np.isclose(s["test_max_z"], 0.05 / sem1)
    assert s["test_max_rel_dev_members"] == 0.0
    flat = dict(cell, train=[[1.5] * 4, [0.6] * 4, [0.3] * 4])   # no spread anywhere, all off
    assert summarize({"c": flat}, analytic)["c"]["train_max_z"] == np.inf


def test_a_diverging_twin_is_flagged_not_averaged(target_file, tmp_path, capsys):
    """A member above its own η_max has a twin whose loss grows without bound (JSON: "inf");
    summary, `status --gap` and the figures say so instead of averaging it or failing."""
    from qsntk.cli import main
    from qsntk.experiments.supervised import summarize
    from qsntk.experiments.supervised_status import draw_figures, gap_rows, twin_losses

    f, _ = target_file
    cfg = _cfg(f, widths=[2048], members=3, steps=20, n_log=6, linearized=True)
    out = tmp_path / "run"
    run_supervised(out, cfg)
    m = json.loads((out / "metrics.json").read_text())
    c = m["cells"]["t0_n40_w2048"]
    ok = summarize(m["cells"], m["analytic"])["t0_n40_w2048"]
    assert np.isfinite(ok["train_max_rel_dev_linearized"]) and ok["train_linearized_diverged"] == 0
    for part in ("train", "test"):
        for k, row in enumerate(c["linearized"][part]):     # member 1's twin blows up
            row[1] = "inf" if k == len(c["steps"]) - 1 else row[1] * 30.0 ** k
    (out / "metrics.json").write_text(json.dumps(m))
    m = json.loads((out / "metrics.json").read_text())
    L, bad = twin_losses(m["cells"]["t0_n40_w2048"], "train")
    assert bad.tolist() == [False, True, False] and np.isinf(L[-1, 1])
    s = summarize(m["cells"], m["analytic"])["t0_n40_w2048"]
    assert s["train_max_rel_dev_linearized"] == float("inf") and s["train_linearized_diverged"] == 1
    g = gap_rows(cfg, m)
    assert [r["twins_diverged"] for r in g] == [1, 1] and all("twins" not in r for r in g)
    assert draw_figures(cfg, m, tmp_path / "figs")
    with pytest.raises(SystemExit) as e:
        main(["status", "--gap", str(out)])
    assert e.value.code == 0 and "1 of 3 diverge" in capsys.readouterr().out


def test_a_rewritten_target_file_is_not_resumed_nor_reused(tmp_path):
    """The run records a digest of each target file's x and psi: a file rewritten with other
    amplitudes under the same name is refused on resume (naming it) and its cells are not
    taken by --reuse, where the path alone would carry the old target's curves over."""
    f = tmp_path / "t.npz"
    make_target("tfim", lx=3, ly=2, tau=1.0, J=0.5).save(f)
    cfg = _cfg(str(f), widths=[8], members=2, steps=5, n_log=3)
    first = tmp_path / "first"
    run_supervised(first, cfg)
    recorded = json.loads((first / "config.json").read_text())["target_digests"]
    assert len(recorded) == 1 and len(recorded[0]) == 16
    run_supervised(first, cfg)                                          # unchanged: resumes
    make_target("tfim", lx=3, ly=2, tau=1.0, J=0.7).save(f)             # same name, new psi
    before = (first / "metrics.json").read_bytes()
    with pytest.raises(InputError, match="target file '.*t.npz' has changed since the run"):
        run_supervised(first, cfg)
    assert (first / "metrics.json").read_bytes() == before
    fresh = run_supervised(tmp_path / "fresh", cfg)
    reused = run_supervised(tmp_path / "reused", cfg, reuse=[first])
    m = [json.loads(Path(r["metrics"]).read_text()) for r in (fresh, reused)]
    for part in ("train", "test"):                         # trained anew, not taken from first
        assert m[0]["cells"]["t0_n40_w8"][part] == m[1]["cells"]["t0_n40_w8"][part]
    old = json.loads((first / "metrics.json").read_text())
    assert old["analytic"]["t0_n40"]["train_mu"] != m[1]["analytic"]["t0_n40"]["train_mu"]
    run_supervised(first, cfg, overwrite=True)                         # --overwrite starts afresh


def test_a_width_that_cannot_fit_in_memory_is_refused_before_anything_is_written(
        target_file, tmp_path):
    f, _ = target_file
    cfg = _cfg(f, widths=[8, 10**9], members=2, steps=5, n_log=3)
    with pytest.raises(InputError, match=r"^width 1000000000 \(2 members of two networks, depth 1\) "
                                         r"needs at least .* GiB, more than this machine's"):
        run_supervised(tmp_path / "big", cfg)
    assert not (tmp_path / "big").exists()


def test_the_supervised_path_runs_without_netket(tmp_path):
    """`qsntk supervised` on a preset never imports NetKet (benchmarks/device_supervised.sh
    relies on it: the GPU image has JAX but no NetKet)."""
    import os
    import subprocess
    import sys

    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text('import sys\nsys.modules["netket"] = None\n')
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "site"), *sys.path]),
           "QSNTK_NO_PROGRESS": "1"}
    r = subprocess.run([sys.executable, "-m", "qsntk.cli", "supervised", "--target", "tfim-quench",
                        "--train-sizes", "2400", "--widths", "16", "--members", "2", "--steps", "4",
                        "--n-log", "3", "--out", str(tmp_path / "run")],
                       capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert (tmp_path / "run" / "metrics.json").is_file()
    check = subprocess.run([sys.executable, "-c", "import netket"], capture_output=True, env=env)
    assert check.returncode != 0                      # the block itself works
