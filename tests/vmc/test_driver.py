"""run_vmc against exact diagonalization; resume bit for bit; diagnostics; SR == minSR; the CLI."""

import json
import re
import warnings

import numpy as np
import pytest

from qsntk.cli import main
from qsntk.errors import InputError
from qsntk.vmc import VMCConfig, run_vmc
from qsntk.vmc.driver import RhatWarning, VMCDivergedError, build, check_rhat, step_record
from qsntk.vmc.run_config import validate

TINY = dict(system="tfim", lx=3, ly=2, couplings={"J": 1.0}, model={"name": "rbm", "alpha": 1.0},
            n_chains=8, n_samples=256, lr=0.05, steps=24, lens_every=8, checkpoint_every=8, seed=1)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("vmc") / "run"
    res = run_vmc(out, VMCConfig(**TINY))
    return out, res, json.loads((out / "metrics.json").read_text())


def test_tiny_tfim_converges_toward_exact(tiny_run):
    """SR on a 6-site TFIM lowers the energy to within 2 % of Lanczos in 24 steps; the exact
    energy of the final network lies above E0 (variational principle)."""
    out, res, m = tiny_run
    from qsntk.physics import lowest_states, make_system

    E0 = lowest_states(make_system("tfim", lx=3, ly=2).sparse_hamiltonian(), 1)[0][0]
    assert m["exact_energy"] == pytest.approx(E0, abs=1e-10)
    assert m["final_energy_full_sum"] >= E0 - 1e-10
    assert m["rel_error_full_sum"] < 2e-2
    h = m["history"]
    assert h["energy"][-1] < h["energy"][0]
    assert len(h["energy"]) == 24 and m["steps_done"] == 24
    for key in ("energy", "energy_error", "variance", "r_hat", "tau_corr", "acceptance"):
        assert np.all(np.isfinite(h[key])), key
    assert np.all(np.asarray(h["variance"]) >= 0)
    assert 0 < min(h["acceptance"]) <= max(h["acceptance"]) <= 1
    assert m["lens"]["step"] == [0, 8, 16]
    assert all(r >= 1 for r in m["lens"]["lens_eff_rank"])
    assert all(c >= 1 for c in m["lens"]["lens_cond_shifted"])
    assert (out / "vmc.png").exists() and (out / "vmc_lens_spectrum.png").exists()
    assert (out / "checkpoints" / "vmc.npz").exists()


def test_first_step_energy_matches_full_sum_within_error(tiny_run, tmp_path):
    """The Monte-Carlo energy of step 0 agrees with the exact energy of the initial network
    within 5 standard errors (the estimator of the VMC review)."""
    out, _, m = tiny_run
    cfg = validate(VMCConfig(**TINY))
    system, vstate, _, _ = build(cfg)
    from qsntk.vmc.driver import full_sum_energy

    exact0 = full_sum_energy(system, vstate)["energy"]
    h = m["history"]
    err = h["energy_error"][0] * max(1.0, np.sqrt(max(h["tau_corr"][0], 0.5) * 2))
    assert abs(h["energy"][0] - exact0) < 5 * err + 1e-9


class _Interrupt:
    """A progress factory whose bar raises KeyboardInterrupt after ``n`` advances."""

    def __init__(self, n):
        self.n = n

    def __call__(self, total, description=""):
        import contextlib

        outer = self

        class Bar:
            count = 0

            def advance(self, k=1):
                self.count += k
                if self.count > outer.n:
                    raise KeyboardInterrupt

            def update(self, **kw):
                pass

        return contextlib.nullcontext(Bar())


def test_interrupted_run_resumes_bit_for_bit(tiny_run, tmp_path):
    """Killed after step 13 (checkpoint at 8), a rerun repeats steps 8-23 exactly: nothing lost."""
    _, _, ref = tiny_run
    out = tmp_path / "r"
    with pytest.raises(KeyboardInterrupt):
        run_vmc(out, VMCConfig(**TINY), progress=_Interrupt(13))
    part = json.loads((out / "metrics.json").read_text())
    assert part["steps_done"] == 8
    assert part["history"]["energy"] == ref["history"]["energy"][:8]
    res = run_vmc(out, VMCConfig(**TINY))
    m = json.loads((out / "metrics.json").read_text())
    assert m["resumed"] is True
    for key in ("energy", "variance", "r_hat", "acceptance"):
        assert m["history"][key] == ref["history"][key], key
    assert m["final_energy_full_sum"] == ref["final_energy_full_sum"]
    assert m["lens"]["lens_trace"] == ref["lens"]["lens_trace"]
    # wall_s: the steps' seconds over both sessions (kept in the checkpoint) and the
    # resume's own time after them
    with np.load(out / "checkpoints" / "vmc.npz") as data:
        steps_s = json.loads(bytes(data["__meta__"]).decode())["wall_s"]
    assert 0 < steps_s <= m["wall_s"]
    # a finished run reruns without a step and reports the same, its wall_s included
    run_vmc(out, VMCConfig(**TINY))
    again = json.loads((out / "metrics.json").read_text())
    assert again["history"] == m["history"] and again["wall_s"] == m["wall_s"]
    # another config in the same directory is refused
    with pytest.raises(InputError, match="another config"):
        run_vmc(out, VMCConfig(**{**TINY, "lr": 0.1}))


def test_rhat_warning_and_step_record():
    import netket as nk

    st = nk.stats.Stats(mean=-1.5 + 0.01j, error_of_mean=0.1, variance=2.0, tau_corr=3.0,
                        R_hat=1.25)
    rec = step_record(st, 0.4, 1.0)
    assert rec["energy"] == -1.5 and rec["energy_imag"] == 0.01 and rec["r_hat"] == 1.25
    assert rec["acceptance"] == 0.4 and rec["tau_corr"] == 3.0 and rec["variance"] == 2.0
    assert np.isnan(step_record(st)["acceptance"])
    with pytest.warns(RhatWarning, match="R-hat = 1.250"):
        assert check_rhat(7, 1.25)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not check_rhat(7, 1.05)


def test_sr_and_minsr_take_the_same_step():
    """(OᵀO + ε)⁻¹Oᵀ = Oᵀ(OOᵀ + ε)⁻¹: the QGT and kernel (minSR) forms give one update."""
    import jax.flatten_util

    params = []
    for opt in ("sr", "minsr"):
        cfg = validate(VMCConfig(**{**TINY, "optimizer": opt, "steps": 1, "diag_shift": 0.05}))
        _, vs, drv, info = build(cfg)
        assert info["sr_form"] == ("qgt" if opt == "sr" else "ntk")
        drv.run(1, out=(), show_progress=False)
        params.append(np.asarray(jax.flatten_util.ravel_pytree(vs.parameters)[0]))
    np.testing.assert_allclose(params[0], params[1], rtol=1e-8, atol=1e-10)


def test_auto_choices_and_validation():
    cfg = validate(VMCConfig(system="heisenberg", lx=4, ly=2, sz0=True, n_samples=64,
                             model={"name": "rbm", "alpha": 2.0}))
    assert cfg.sampler == "exchange" and cfg.model["complex"] is True
    cfg = validate(VMCConfig(system="hubbard", lx=2, ly=2, n_up=1, n_down=1,
                             model={"name": "backflow"}))
    assert cfg.sampler == "fermion-hop" and cfg.model["complex"] is False
    cfg = validate(VMCConfig(system="tfim", lx=4, model={"name": "ar"}))
    assert cfg.sampler == "direct"
    _, _, _, info = build(validate(VMCConfig(**{**TINY, "n_samples": 16, "n_chains": 8})))
    assert info["sr_form"] == "ntk"          # 48 parameters > 16 samples: the kernel form
    for bad, msg in [(dict(optimizer="newton"), "unknown optimizer"),
                     (dict(lr=float("nan")), "lr must be finite"),
                     (dict(n_samples=4), "at least chains"),
                     (dict(sampler="direct"), "autoregressive"),
                     (dict(model={"name": "slater"}), "fermionic"),
                     (dict(optimizer="sr", diag_shift=0.0), "diag_shift must be > 0"),
                     (dict(lr_end=-1.0), "lr_end must be > 0"),
                     (dict(couplings={"J": float("inf")}), "coupling J must be finite")]:
        with pytest.raises(InputError, match=msg):
            validate(VMCConfig(**{**TINY, **bad}))


@pytest.mark.filterwarnings("ignore::qsntk.vmc.driver.RhatWarning")   # 16 short chains
def test_beyond_exact_methods_with_a_reference(tmp_path):
    """A 10x10 Heisenberg run (too large for Lanczos) builds and steps on NetKet's operator;
    the error is reported against a published energy per site instead of E0."""
    ref = -0.671549
    cfg = VMCConfig(system="heisenberg", lx=10, ly=10, sz0=True,
                    model={"name": "rbm", "alpha": 0.25, "marshall": True}, n_chains=16,
                    n_samples=64, lr=0.01, steps=2, lens_every=1, checkpoint_every=2,
                    reference_energy_per_site=ref)
    m = json.loads(json.dumps(run_vmc(tmp_path / "r", cfg)["metrics"]))
    assert m["exact_energy"] is None and m["rel_error_last10pct"] is None
    assert "final_energy_full_sum" not in m
    full = json.loads((tmp_path / "r" / "metrics.json").read_text())
    e = full["energy_last10pct"]
    assert np.isfinite(e) and full["energy_per_site_last10pct"] == pytest.approx(e / 100)
    assert m["rel_error_reference_last10pct"] == pytest.approx(abs(e / 100 - ref) / abs(ref))
    assert len(full["lens"]["step"]) == 2
    for bad, msg in [(float("nan"), "reference_energy_per_site must be finite"),
                     (0.0, "must be nonzero"), ("x", "must be a number")]:
        with pytest.raises(InputError, match=msg):
            validate(VMCConfig(**{**TINY, "reference_energy_per_site": bad}))


def test_divergence_stops_with_one_line_and_keeps_the_checkpoint(tmp_path, monkeypatch, capsys):
    """A non-finite energy (here injected at step 5) stops the run at that step with a one-line
    VMCDivergedError; the checkpoint of step 4 and its metrics stay readable. A non-finite
    Jacobian stops the lens the same way."""
    import qsntk.vmc.driver as drv_mod
    from qsntk.vmc.lens import lens_spectrum

    real = drv_mod.step_record
    calls = {"n": 0}

    def poisoned(stats, acceptance=None, wall=float("nan")):
        rec = real(stats, acceptance, wall)
        calls["n"] += 1
        if calls["n"] == 6:                      # the sixth record is step 5's
            rec["energy"] = float("nan")
        return rec

    monkeypatch.setattr(drv_mod, "step_record", poisoned)
    cfg = VMCConfig(**{**TINY, "steps": 12, "lens_every": 0, "checkpoint_every": 4})
    with pytest.raises(VMCDivergedError, match=r"step 5: the Monte-Carlo energy \(nan\) is not "
                                               r"finite") as info:
        run_vmc(tmp_path / "r", cfg)
    assert "\n" not in str(info.value)
    m = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert m["steps_done"] == 4 and np.all(np.isfinite(m["history"]["energy"]))
    with pytest.raises(InputError, match="non-finite"):
        lens_spectrum(np.full((2, 4, 3), np.nan))


def test_lens_divergence_and_reference_do_not_change_the_run(tmp_path, monkeypatch):
    """A non-finite Jacobian at a lens step raises VMCDivergedError naming the step; adding a
    reference energy to an existing run directory resumes it (the reference only labels the
    metrics)."""
    import qsntk.vmc.driver as drv_mod
    from qsntk.vmc import lens as lens_mod

    cfg = VMCConfig(**{**TINY, "steps": 4, "lens_every": 2, "checkpoint_every": 2})
    run_vmc(tmp_path / "r", cfg)
    res = run_vmc(tmp_path / "r", VMCConfig(**{**cfg.to_dict(), "reference_energy_per_site": -1.1}))
    assert res["metrics"]["reference_energy_per_site"] == -1.1
    real = lens_mod.lens_of_state

    def broken(vstate, **kw):                # the second lens call (step 2) sees a NaN
        broken.calls += 1
        if broken.calls == 2:
            raise lens_mod.NonFiniteJacobianError("the Jacobian of log psi has non-finite entries")
        return real(vstate, **kw)

    broken.calls = 0
    monkeypatch.setattr(lens_mod, "lens_of_state", broken)
    with pytest.raises(VMCDivergedError, match="step 2: the Jacobian of log psi on the samples"):
        run_vmc(tmp_path / "s", cfg)
    assert drv_mod._lens is lens_mod


def _cli(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    out, err = capsys.readouterr()
    return info.value.code, out, err


def test_cli_errors_are_one_line_and_write_nothing(tmp_path, capsys):
    out = tmp_path / "never"
    for argv, msg in [(["tfim", "--lx", "3", "--U", "2"], "has no coupling 'U'"),
                      (["heisenberg", "--lx", "4", "--sz0", "--sampler", "local"], "leaves the Sz"),
                      (["tfim", "--lx", "4", "--sampler", "exchange"], "keeps Sz"),
                      (["hubbard", "--lx", "3", "--model", "backflow"], "particle numbers"),
                      (["tfim", "--lx", "3", "--steps", "0"], "steps must be >= 1"),
                      (["tfim", "--lx", "3", "--model", "ar", "--sampler", "exchange"], "model 'ar'")]:
        code, _, err = _cli(["vmc", *argv, "--out", str(out)], capsys)
        assert code == 2, argv
        assert err.startswith("qsntk: error: ") and msg in err and err.count("\n") == 1, err
        assert not out.exists()


def test_cli_run(tmp_path, capsys):
    out = tmp_path / "cli"
    argv = ["vmc", "tfim", "--lx", "3", "--ly", "2", "--chains", "8", "--samples", "256",
            "--lr", "0.05", "--steps", "6", "--lens-every", "3", "--seed", "1", "--out", str(out)]
    code, stdout, err = _cli(argv, capsys)
    assert code == 0
    res = json.loads(stdout)
    assert res["metrics"]["sampler"] == "local" and "results in" in err
    m = json.loads((out / "metrics.json").read_text())
    assert m["lens"]["step"] == [0, 3] and m["steps_done"] == 6
    assert json.loads((out / "config.json").read_text())["model"]["complex"] is False
    code, stdout2, _ = _cli(argv, capsys)             # rerun: resumes, nothing to do
    assert code == 0 and json.loads(stdout2)["metrics"]["final_energy_full_sum"] == \
        res["metrics"]["final_energy_full_sum"]


# ------------------------------------------------------------------ new-user audit
def test_tail_error_in_the_metrics(tiny_run):
    out, res, m = tiny_run
    from qsntk.vmc.errorbars import tail_mean_error

    h = m["history"]
    n = len(h["energy"]) // 10
    r = tail_mean_error(h["energy"][-n:], h["energy_error"][-n:])
    assert m["energy_last10pct_error"] == pytest.approx(r["error"])
    assert m["energy_last10pct_error"] >= m["energy_last10pct_error_mc"] > 0
    assert m["energy_last10pct_error"] >= m["energy_last10pct_error_scatter"]


def test_absurd_sizes_are_refused_before_any_work():
    import time

    from qsntk.vmc.run_config import MAX_SITES

    base = dict(system="tfim", lx=4, couplings={"J": 1.0})
    for kw, msg in [(dict(lx=1000, ly=1000), f"limited to {MAX_SITES} sites, got 1000000"),
                    (dict(n_samples=10**12), "1000000000000 samples"),
                    (dict(model={"name": "rbm", "alpha": 1e9}), "alpha=1000000000.0 on 4 sites needs at least"),
                    (dict(model={"name": "gcnn", "layers": 4, "features": 10**6}), "features=1000000"),
                    (dict(model={"name": "ar", "layers": 10**6, "features": 10**6}), "needs at least")]:
        t = time.perf_counter()
        with pytest.raises(InputError, match=re.escape(msg)) as info:
            validate(VMCConfig(**{**base, **kw}))
        assert "\n" not in str(info.value) and time.perf_counter() - t < 10


def test_refused_run_leaves_no_directory_and_the_corrected_one_runs(tmp_path, monkeypatch):
    """Everything that can fail on the input is built before the run directory exists."""
    import qsntk.vmc.driver as drv_mod

    out = tmp_path / "x23"

    def failing_build(cfg):
        raise InputError("refused while building")

    real = drv_mod.build
    monkeypatch.setattr(drv_mod, "build", failing_build)
    with pytest.raises(InputError, match="refused while building"):
        run_vmc(out, VMCConfig(**{**TINY, "steps": 2, "lens_every": 0}))
    assert not out.exists()
    with pytest.raises(InputError, match="alpha"):
        run_vmc(out, VMCConfig(**{**TINY, "model": {"name": "rbm", "alpha": 1e9}}))
    assert not out.exists()
    monkeypatch.setattr(drv_mod, "build", real)
    res = run_vmc(out, VMCConfig(**{**TINY, "steps": 2, "lens_every": 0, "checkpoint_every": 2}))
    assert res["metrics"]["n_parameters"] == 48 and (out / "metrics.json").exists()


def test_noop_rerun_leaves_metrics_byte_identical(tmp_path, monkeypatch):
    """A rerun of a finished run writes nothing: metrics.json stays byte for byte (no
    "resumed": true flip); the interim metrics.json carries wall_s."""
    import qsntk.io

    out = tmp_path / "r"
    cfg = VMCConfig(**{**TINY, "steps": 4, "lens_every": 2, "checkpoint_every": 2})
    seen = []
    real = qsntk.io.RunDir.save_metrics

    def spy(self, metrics):
        seen.append(dict(metrics))
        return real(self, metrics)

    monkeypatch.setattr(qsntk.io.RunDir, "save_metrics", spy)
    first = run_vmc(out, cfg)
    assert len(seen) == 3                    # two checkpoints, the end
    assert all(np.isfinite(m["wall_s"]) and m["wall_s"] > 0 for m in seen)
    assert seen[0]["steps_done"] == 2 and seen[0]["resumed"] is False
    before = (out / "metrics.json").read_bytes()
    mtimes = {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.is_file()}
    second = run_vmc(out, cfg)
    assert (out / "metrics.json").read_bytes() == before
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.is_file()} == mtimes
    assert len(seen) == 3 and second["metrics"] == first["metrics"]
    assert second["figures"] == first["figures"]
    assert json.loads(before)["resumed"] is False


def test_cli_refuses_options_the_run_does_not_use(tmp_path, capsys):
    out = tmp_path / "never"
    for argv, msg in [(["tfim", "--lx", "3", "--optimizer", "sgd", "--diag-shift", "0.1"],
                       "--diag-shift is not used by --optimizer sgd"),
                      (["tfim", "--lx", "3", "--optimizer", "adam", "--diag-shift-end", "1e-4"],
                       "--diag-shift-end is not used by --optimizer adam"),
                      (["tfim", "--lx", "3", "--model", "rbm", "--layers", "3"],
                       "--layers is not used by --model rbm"),
                      (["tfim", "--lx", "3", "--model", "rbm", "--features", "4"],
                       "--features is not used by --model rbm"),
                      (["tfim", "--lx", "4", "--model", "ar", "--alpha", "2"],
                       "--alpha is not used by --model ar"),
                      (["tfim", "--lx", "4", "--marshall"], "--marshall is not used by tfim"),
                      (["tfim", "--lx", "4", "--model", "ar", "--discard", "3"],
                       "--discard is not used by sampler 'direct'"),
                      (["tfim", "--lx", "1000", "--ly", "1000"], "limited to 4096 sites"),
                      (["tfim", "--lx", "4", "--samples", "1000000000000"], "needs at least"),
                      (["tfim", "--lx", "4", "--alpha", "1e9"], "needs at least")]:
        code, _, err = _cli(["vmc", *argv, "--out", str(out)], capsys)
        assert code == 2, argv
        assert err.startswith("qsntk: error: ") and msg in err and err.count("\n") == 1, err
        assert not out.exists()
