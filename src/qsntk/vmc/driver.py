r"""Ground-state VMC on NetKet's machinery, with per-step diagnostics, checkpoints and the lens.

The loop is NetKet's own (``nk.driver.VMC`` / ``nk.driver.VMC_SR`` and their
``run``); qsntk adds one callback that logs every step's statistics, computes the
tangent-kernel lens (:mod:`qsntk.vmc.lens`) every ``lens_every`` steps, and writes
checkpoints and ``metrics.json`` into a :class:`qsntk.io.RunDir`.

The method is that of the VMC review (shared/seeds/001_…): energy
:math:`\langle H\rangle = \sum_x p(x)E_{loc}(x)` estimated on Markov-chain (or
direct) samples ("Sampling quantum ground state energy"); parameter updates by
SGD/Adam, :math:`\theta \leftarrow \theta - \eta\nabla\langle H\rangle`, or by
stochastic reconfiguration, :math:`\theta \leftarrow \theta - \eta (S+\epsilon)^{-1}\nabla\langle H\rangle`
("Energy optimization"); the kernel (minSR, Chen & Heyl 2023) form
:math:`\delta\theta = \mathcal O^{\mathsf T}(\mathcal O\mathcal O^{\mathsf T} + \epsilon)^{-1}\bar\varepsilon`
when parameters outnumber samples.

Randomness: parameters from ``seed``, the sampler from ``seed + 1`` (NetKet's
``MCState(seed=…, sampler_seed=…)``); the sampler state (chains and PRNG key)
is checkpointed, so a resumed run repeats the uninterrupted one bit for bit.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np

from qsntk.errors import InputError
from qsntk.io import RunDir, WorkClock, to_jsonable
from qsntk.progress import no_progress, skip
from qsntk.vmc import lens as _lens
from qsntk.vmc.errorbars import finite_mean, tail_mean_error
from qsntk.vmc.models import ModelSpec, make_model, n_parameters
from qsntk.vmc.run_config import VMCConfig, system_of, validate
from qsntk.vmc.samplers import make_sampler

__all__ = ["STEP_KEYS", "RhatWarning", "VMCDivergedError", "build", "run_vmc", "exact_energy",
           "full_sum_energy", "RHAT_WARN", "step_record", "check_rhat", "vmc_operator"]

#: per-step keys of ``metrics["history"]``.
STEP_KEYS = ("energy", "energy_imag", "energy_error", "variance", "r_hat", "tau_corr",
             "acceptance", "wall")

#: R̂ above this triggers :class:`RhatWarning`.
RHAT_WARN = 1.1


class RhatWarning(UserWarning):
    """The split-R̂ of the local energies exceeds 1.1: the Markov chains have not mixed."""


class VMCDivergedError(InputError):
    """The optimization produced a non-finite energy or Jacobian (the settings diverge).

    Raised when seen: a step's energy is read one step late (so step k is
    reported while step k + 1 runs), the parameters at each checkpoint, the
    Jacobian at each lens step. The run directory keeps its last (finite)
    checkpoint and metrics. A subclass of :class:`~qsntk.errors.InputError`
    because the cure is other settings: the command line prints one line.
    """


def _diverged(step: int, what: str) -> VMCDivergedError:
    return VMCDivergedError(f"step {step}: {what} is not finite (the optimization diverged); "
                            "lower lr, raise diag_shift or change the model, and rerun with "
                            "--overwrite")


def _geometric(a: float, b: float | None, steps: int):
    """``a`` if ``b`` is None or equal, else ``step -> a (b/a)^(step/(steps-1))`` (clipped)."""
    if b is None or b == a:
        return a
    import jax.numpy as jnp

    n = max(steps - 1, 1)

    def schedule(step):
        frac = jnp.clip(jnp.asarray(step, dtype=jnp.float64) / n, 0.0, 1.0)
        return a * (b / a) ** frac

    return schedule


def _diag_shift_schedule(cfg: VMCConfig):
    return _geometric(cfg.diag_shift, cfg.diag_shift_end, cfg.steps)


def build(cfg: VMCConfig):
    """System, variational state and NetKet driver of a validated config.

    Returns:
        ``(system, vstate, driver, info)`` with ``info`` a dict: ``n_parameters``
        (real), ``sr_form`` (``"qgt"``, ``"ntk"`` or None), ``sampler``.
    """
    import netket as nk
    import optax

    system = system_of(cfg)
    module, spec = make_model(ModelSpec(**cfg.model), system)
    sampler, sname = make_sampler(cfg.sampler, system, model_name=spec.name, n_chains=cfg.n_chains)
    kw = {}
    if cfg.n_discard is not None and sname not in ("direct", "exact"):
        kw["n_discard_per_chain"] = cfg.n_discard
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vstate = nk.vqs.MCState(sampler, module, n_samples=cfg.n_samples, seed=cfg.seed,
                                sampler_seed=cfg.seed + 1, **kw)
    n_par = n_parameters(vstate.parameters)
    operator = vmc_operator(system)
    sr_form = None
    if cfg.optimizer in ("sgd", "adam"):
        lr = _geometric(cfg.lr, cfg.lr_end, cfg.steps)
        opt = optax.sgd(lr) if cfg.optimizer == "sgd" else optax.adam(lr)
        driver = nk.driver.VMC(operator, opt, variational_state=vstate)
    else:
        use_ntk = cfg.optimizer == "minsr" or n_par > vstate.n_samples
        sr_form = "ntk" if use_ntk else "qgt"
        import contextlib
        import io

        mode = None
        if system.is_fermionic and not _has_complex_params(vstate.parameters):
            mode = "real"          # real determinant with a sign: the QGT is real (NetKet's advice)
        with contextlib.redirect_stdout(io.StringIO()):     # NetKet prints its auto choices
            driver = nk.driver.VMC_SR(operator, optax.sgd(_geometric(cfg.lr, cfg.lr_end, cfg.steps)),
                                      diag_shift=_diag_shift_schedule(cfg),
                                      variational_state=vstate, use_ntk=use_ntk, mode=mode)
    return system, vstate, driver, {"n_parameters": n_par, "sr_form": sr_form, "sampler": sname}


def _has_complex_params(params) -> bool:
    import jax
    import jax.numpy as jnp

    return any(jnp.iscomplexobj(p) for p in jax.tree_util.tree_leaves(params))


def vmc_operator(system):
    """The system's NetKet operator in the form VMC evaluates fastest.

    Spin systems: ``system.operator`` (a ``LocalOperator``). Hubbard:
    ``system.operator`` converted to NetKet's
    ``ParticleNumberAndSpinConservingFermioperator2nd`` (same matrix, fewer
    connected elements in a fixed (N↑, N↓) sector).
    """
    op = system.operator
    if system.is_fermionic:
        from netket.experimental.operator import ParticleNumberAndSpinConservingFermioperator2nd

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            op = ParticleNumberAndSpinConservingFermioperator2nd.from_fermionoperator2nd(op)
    return op


# ------------------------------------------------------------------ exact references
def exact_energy(system) -> float | None:
    """Exact ground-state energy by Lanczos (:mod:`qsntk.physics.exact`), None above 2^22 states."""
    from qsntk.physics import lowest_states

    if not system.has_exact_methods:
        return None
    E, _ = lowest_states(system.sparse_hamiltonian(), 1)
    return float(E[0])


#: full-sum evaluation of the final state up to this many basis states.
FULL_SUM_MAX = 2**16


def full_sum_energy(system, vstate, *, psi0=None, batch: int = 4096) -> dict:
    r"""Exact variational energy :math:`\langle\psi|H|\psi\rangle/\langle\psi|\psi\rangle` of the model on the full basis.

    Arguments:
        system: the system (basis in NetKet's order).
        vstate: a NetKet variational state (its model and parameters are used).
        psi0: exact ground state (dim,) for the fidelity, optional.
        batch: configurations per model call.

    Returns:
        ``{"energy", "fidelity"}`` (fidelity :math:`|\langle\psi_0|\psi\rangle|^2`, None without psi0).
    """
    import jax.numpy as jnp

    x = system.basis()
    logs = np.concatenate([np.asarray(vstate.log_value(jnp.asarray(x[i:i + batch])))
                           for i in range(0, len(x), batch)])
    logs = logs - logs.real.max()
    psi = np.exp(logs.astype(np.complex128))
    psi /= np.linalg.norm(psi)
    H = system.sparse_hamiltonian()
    out = {"energy": float(np.real(np.vdot(psi, H @ psi))), "fidelity": None}
    if psi0 is not None:
        out["fidelity"] = float(abs(np.vdot(psi0, psi)) ** 2)
    return out


# ------------------------------------------------------------------ the logging callback
def _make_callback(cfg, n_lens_cols, history, lens_hist, lens_eigs, progress_task, on_checkpoint):
    import netket as nk
    from netket.utils import struct

    class QSNTKLogger(nk.callbacks.AbstractCallback, mutable=True):
        """Logs step statistics, the lens every ``lens_every`` steps, checkpoints."""

        _state: dict = struct.field(pytree_node=False, serialize=False)

        def __init__(self):
            self._state = {"t0": time.perf_counter()}

        def before_parameter_update(self, step, log_data, driver):
            step = int(step)
            if cfg.lens_every and step % cfg.lens_every == 0:
                shift = _current_shift(cfg, step)
                try:
                    spec = _lens.lens_of_state(driver.state, diag_shift=shift)
                except _lens.NonFiniteJacobianError:
                    raise _diverged(step, "the Jacobian of log psi on the samples") from None
                k = step // cfg.lens_every
                for key in _lens.LENS_KEYS:
                    lens_hist[key][k] = spec.values[key]
                lens_hist["step"][k] = step
                w = spec.eigenvalues[:n_lens_cols]
                lens_eigs[k, :] = np.nan
                lens_eigs[k, :len(w)] = w

        def on_step_end(self, step, log_data, driver):
            # Convert the previous step's statistics, not this one's: by now they are
            # computed, so reading them never stalls JAX's asynchronous dispatch (the
            # R-hat warning comes one step late).
            self._flush()
            self._state["pending"] = (int(step), log_data[driver._loss_name],
                                      log_data.get("acceptance"),
                                      time.perf_counter() - self._state["t0"])
            progress_task.advance(1)
            if (step + 1) % cfg.checkpoint_every == 0 or step + 1 == cfg.steps:
                self._flush()
                on_checkpoint(driver, step + 1)

        def _flush(self):
            pending = self._state.pop("pending", None)
            if pending is None:
                return
            step, stats, acceptance, wall = pending
            rec = step_record(stats, acceptance, wall)
            if not np.isfinite(rec["energy"]):
                raise _diverged(step, f"the Monte-Carlo energy ({rec['energy']})")
            for key, v in rec.items():
                history[key][step] = v
            check_rhat(step, rec["r_hat"])

    return QSNTKLogger()


def step_record(stats, acceptance=None, wall: float = float("nan")) -> dict:
    """One row of the per-step history from NetKet's ``Stats`` of the local energies.

    Arguments:
        stats: ``netket.stats.Stats`` (mean, error_of_mean, variance, R_hat, tau_corr).
        acceptance: Metropolis acceptance ratio of the step (None: not a Metropolis sampler).
        wall: seconds since the run (or resumption) started.

    Returns:
        dict with the keys of :data:`STEP_KEYS` (floats; NaN where undefined).
    """
    mean = complex(np.asarray(stats.mean))
    return {"energy": mean.real, "energy_imag": mean.imag,
            "energy_error": float(np.asarray(stats.error_of_mean)),
            "variance": float(np.asarray(stats.variance)),
            "r_hat": float(np.asarray(stats.R_hat)),
            "tau_corr": float(np.asarray(stats.tau_corr)),
            "acceptance": float(np.asarray(acceptance)) if acceptance is not None else float("nan"),
            "wall": float(wall)}


def check_rhat(step: int, r_hat: float) -> bool:
    """Warn (:class:`RhatWarning`) when ``r_hat`` > :data:`RHAT_WARN`; return whether it did."""
    if r_hat > RHAT_WARN:
        warnings.warn(f"step {step}: R-hat = {r_hat:.3f} > {RHAT_WARN} (Markov chains not "
                      "mixed; use more chains, a longer discard or another sampler)",
                      RhatWarning, stacklevel=3)
        return True
    return False


def _current_shift(cfg, step) -> float:
    if cfg.optimizer not in ("sr", "minsr"):
        return 0.0
    sched = _diag_shift_schedule(cfg)
    return float(sched(step)) if callable(sched) else float(sched)


def _nan_history(n):
    return {k: np.full(n, np.nan) for k in STEP_KEYS}


def _lens_template(cfg, n_lens_cols):
    n_lens = (cfg.steps - 1) // cfg.lens_every + 1 if cfg.lens_every else 0
    hist = {k: np.full(n_lens, np.nan) for k in _lens.LENS_KEYS + ("step",)}
    return hist, np.full((n_lens, n_lens_cols), np.nan)


# ------------------------------------------------------------------ the driver
def run_vmc(out, cfg: VMCConfig, *, overwrite: bool = False, progress=no_progress,
            exact: bool = True, final_full_sum: bool = True) -> dict:
    r"""Optimize a variational state for the ground state of ``cfg``'s system.

    Logs every step: energy (mean of :math:`E_{loc}`, real and imaginary part), its
    error of the mean, variance, split-R̂, autocorrelation time
    :math:`\tau_{corr}` and acceptance (the diagnostics of the VMC review's
    "Sampling quantum ground state energy" section); warns (:class:`RhatWarning`)
    when R̂ > 1.1. Every ``lens_every`` steps the lens (:mod:`qsntk.vmc.lens`).
    Checkpoints every ``checkpoint_every`` steps; rerunning on ``out`` resumes
    from the last one and repeats the lost steps bit for bit.

    ``metrics["wall_s"]`` is the seconds spent computing the result, summed over the
    sessions that computed it: each checkpoint records the seconds of the steps it holds,
    and a session that runs steps adds its own time (steps and the final full-basis sum)
    to theirs. A rerun of a finished run runs no step and leaves ``wall_s`` as it was.
    (Steps lost to an interruption and repeated are counted once; a checkpoint written
    before qsntk recorded the time counts as 0 s.) The interim ``metrics.json`` written
    at each checkpoint carries the time so far. A rerun of a finished run writes nothing
    (``metrics.json`` byte for byte, ``resumed`` as the computing session wrote it) unless
    the metrics it reports changed (a reference energy added).

    ``metrics["energy_last10pct_error"]`` is the error bar of the mean of the last 10 %
    of the steps' energies by :func:`~qsntk.vmc.errorbars.tail_mean_error`: the larger of the per-step
    Monte-Carlo errors combined and a correlation-aware scatter estimate (both also
    recorded, ``…_mc`` and ``…_scatter``).

    The config is validated (:func:`~qsntk.vmc.run_config.validate`: sizes, memory) and the state and driver
    are built (:func:`build`) before ``out`` is created, so a refused run writes nothing.

    Arguments:
        out: run directory.
        cfg: a :class:`~qsntk.vmc.run_config.VMCConfig`.
        overwrite: replace a run with another config in ``out``.
        progress: progress-bar factory (:mod:`qsntk.progress`).
        exact: compute the exact ground-state energy (Lanczos) for the relative error.
        final_full_sum: evaluate the final state's exact energy and fidelity on the
            full basis when it has at most :data:`FULL_SUM_MAX` states.

    Returns:
        ``{"out", "figures", "metrics"}`` with headline metrics.
    """
    import flax

    from qsntk.vmc import plots

    cfg = validate(cfg)
    # everything that can fail on the input is built before the run directory exists, so
    # a refused run leaves nothing behind (and no config.json to block the corrected one)
    system, vstate, driver, info = build(cfg)
    # the reference energy only labels the metrics: left out of the compared config, so
    # adding one to a finished (or older) run directory reruns nothing
    run_cfg = {k: v for k, v in cfg.to_dict().items() if k != "reference_energy_per_site"}
    run = RunDir(out, {"kind": "vmc", **run_cfg}, overwrite=overwrite)
    n_s = int(vstate.n_samples)
    n_lens_cols = min(2 * n_s, info["n_parameters"])
    history = _nan_history(cfg.steps)
    lens_hist, lens_eigs = _lens_template(cfg, n_lens_cols)

    tree_like = {"driver": flax.serialization.to_state_dict(driver), "history": history,
                 "lens": lens_hist, "lens_eigs": lens_eigs}
    got = run.load_checkpoint("vmc", tree_like)
    spent = 0.0             # seconds of the steps in the checkpoint, over all sessions
    if got is not None:
        tree, meta = got
        spent = WorkClock.recorded(meta)
        driver = flax.serialization.from_state_dict(driver, tree["driver"])
        # restored as a 0-d numpy array, which NetKet would then increment in place
        driver._step_count = int(meta["step"])
        vstate = driver.state
        history = {k: np.array(v) for k, v in tree["history"].items()}
        lens_hist = {k: np.array(v) for k, v in tree["lens"].items()}
        lens_eigs = np.array(tree["lens_eigs"])

    E0 = exact_energy(system) if exact else None

    def checkpoint(drv, done):
        # called from on_step_end, before NetKet increments its step counter: the
        # parameters are already updated, so the state is that of step ``done``.
        # Never checkpoint a broken state: the previous checkpoint stays the resume point.
        import jax

        if not all(np.all(np.isfinite(np.asarray(a)))
                   for a in jax.tree_util.tree_leaves(drv.state.parameters)):
            raise _diverged(done - 1, "the updated parameters")
        sd = flax.serialization.to_state_dict(drv)
        sd["_step_count"] = done
        run.save_checkpoint("vmc", {"driver": sd,
                                    "history": history, "lens": lens_hist,
                                    "lens_eigs": lens_eigs}, step=done,
                            wall_s=spent + time.perf_counter() - t0)
        interim = _metrics(cfg, system, info, history, lens_hist, done, E0, None)
        interim["wall_s"] = spent + time.perf_counter() - t0
        interim["resumed"] = run.resumed
        run.save_metrics(interim)

    done = int(driver.step_count)
    kept = WorkClock(run).kept() if done >= cfg.steps else None      # nothing left to compute
    t0 = time.perf_counter()
    with progress(cfg.steps, f"VMC {cfg.system} {cfg.lx}x{cfg.ly} {cfg.model['name']}") as bar:
        skip(bar, done)
        if done < cfg.steps:
            cb = _make_callback(cfg, n_lens_cols, history, lens_hist, lens_eigs, bar, checkpoint)
            driver.run(cfg.steps - done, out=(), show_progress=False, callback=cb,
                       _graceful_keyboard_interrupt=False)
    final = None
    if final_full_sum and system.has_exact_methods and system.dim <= FULL_SUM_MAX:
        psi0 = None
        if exact:
            from qsntk.physics import lowest_states

            _, V = lowest_states(system.sparse_hamiltonian(), 1)
            psi0 = V[:, 0]
        final = full_sum_energy(system, driver.state, psi0=psi0)
    metrics = _metrics(cfg, system, info, history, lens_hist, cfg.steps, E0, final)
    metrics["wall_s"] = kept if kept is not None else spent + time.perf_counter() - t0
    metrics["resumed"] = run.resumed
    if kept is not None:
        # a rerun of a finished run: nothing was computed, so the files stay as they are
        # (metrics.json byte for byte) unless what they report changed (a reference energy
        # added), and "resumed" keeps what the session that computed them wrote
        old = run.load_metrics()
        metrics["resumed"] = old.get("resumed", run.resumed)
        figs = [run.path / f"{name}.png" for name in ("vmc", "vmc_lens_spectrum")]
        if to_jsonable(metrics) == old and figs[0].exists():
            figs = [str(f) for f in figs if f.exists()]
            return {"out": str(run.path), "figures": figs, "metrics": _headline(metrics)}
    run.save_arrays("arrays", lens_eigenvalues=lens_eigs,
                    **{k: v for k, v in history.items()},
                    **{f"lens_{k}" if not k.startswith("lens") else k: v
                       for k, v in lens_hist.items()})
    run.save_metrics(metrics)

    figs = [str(run.save_figure(fig, name)) for name, fig in plots.vmc_figures(metrics, lens_eigs)]
    plots.close_all()
    return {"out": str(run.path), "figures": figs, "metrics": _headline(metrics)}


def _metrics(cfg, system, info, history, lens_hist, done, E0, final) -> dict:
    h = {k: np.asarray(v)[:done] for k, v in history.items()}
    n_last = max(1, done // 10)
    tail = h["energy"][-n_last:] if done else np.array([])
    tail_err = h["energy_error"][-n_last:] if done else np.array([])
    e_tail = finite_mean(tail)
    err = tail_mean_error(tail, tail_err)
    m: dict[str, Any] = {
        "system": system.describe(), "model": cfg.model, "sampler": info["sampler"],
        "optimizer": cfg.optimizer, "sr_form": info["sr_form"],
        "n_parameters": info["n_parameters"], "n_samples": cfg.n_samples,
        "steps_done": int(done), "steps": cfg.steps, "exact_energy": E0,
        "energy_last10pct": e_tail,
        "energy_last10pct_error": err["error"],
        "energy_last10pct_error_mc": err["mc"],
        "energy_last10pct_error_scatter": err["scatter"],
        "rel_error_last10pct": abs(e_tail - E0) / abs(E0) if E0 else None,
        "rhat_warnings": int(np.sum(h["r_hat"] > RHAT_WARN)) if done else 0,
        "history": {k: v.tolist() for k, v in h.items()},
    }
    if cfg.lens_every:
        sel = np.asarray(lens_hist["step"]) < done
        m["lens_every"] = cfg.lens_every
        m["lens"] = {k: np.asarray(v)[sel].tolist() for k, v in lens_hist.items()}
    ref = cfg.reference_energy_per_site
    if ref is not None:
        m["reference_energy_per_site"] = ref
        m["energy_per_site_last10pct"] = e_tail / system.n_sites
        m["rel_error_reference_last10pct"] = abs(e_tail / system.n_sites - ref) / abs(ref)
    if final is not None:
        m["final_energy_full_sum"] = final["energy"]
        m["final_fidelity"] = final["fidelity"]
        if E0:
            m["rel_error_full_sum"] = abs(final["energy"] - E0) / abs(E0)
    return m


def _headline(m: dict) -> dict:
    keys = ("exact_energy", "energy_last10pct", "energy_last10pct_error", "rel_error_last10pct",
            "reference_energy_per_site", "energy_per_site_last10pct",
            "rel_error_reference_last10pct",
            "final_energy_full_sum", "rel_error_full_sum", "final_fidelity", "rhat_warnings",
            "n_parameters", "sr_form", "sampler", "wall_s")
    return {k: m[k] for k in keys if k in m}
