r"""Quantum-state supervised learning: finite ensembles against the ∞-NNQS (Luo–Halverson sec. 6).

The driver behind ``qsntk supervised``, ``qsntk reproduce luo2023-fig2`` and
``luo2023-fig3``. For every target, train size and width (a *cell*) it

1. draws the train set uniformly (seeded) and takes the rest as test set;
2. computes the infinite-width NTK and NNGP of the real–imaginary pair on the
   whole basis, and from one eigendecomposition the analytic losses
   :math:`L_\mu, L_\gamma, L_\Psi` (eqs. 16–18) at every logged step and at
   :math:`\tau = \infty`;
3. trains ``members`` finite networks by full-batch GD at
   :math:`\eta = 0.9\,\eta_{\max}` (``eta_factor``), :math:`\eta_{\max} = |B|/\lambda_{\max}(\Omega_{RI})`
   of the infinite kernel, logging every member's train and test loss on a
   log-spaced step grid; the time is :math:`\tau = \eta t`.

Each cell checkpoints at every logged step and at least every
``checkpoint_s`` seconds; ``metrics.json`` is rewritten (atomically) with it, so
an interrupted run loses nothing logged and rerunning the same command on the
same directory resumes.

The settings and their checks live in :mod:`~qsntk.experiments.supervised_config`, what a run
takes from records already on disk (its own, or ``--reuse``) in
:mod:`~qsntk.experiments.supervised_records`, and ``qsntk status`` in
:mod:`~qsntk.experiments.supervised_status`.
"""

from __future__ import annotations

import time
import zlib
from pathlib import Path

import numpy as np

from qsntk.errors import InputError
from qsntk.experiments.supervised_config import DEFAULTS, make_config, validate  # noqa: F401
from qsntk.experiments.supervised_records import (adopt_cell, as_recorded, check_target_files,
                                                  finished_record, resumed_metrics)
from qsntk.progress import no_progress, skip

def load_target(name: str):
    """A preset name or a saved target file -> :class:`qsntk.physics.targets.Target`."""
    from qsntk.physics import targets

    return targets.load_target(name) if name.endswith(".npz") else targets.make_target(name)


def pair_for(cfg: dict, width: int):
    """The real–imaginary pair of two identical fully connected networks of ``width``."""
    from qsntk.nets import FCNet, RealImagPair

    net = FCNet((width,) * cfg["depth"], activation=cfg["activation"], W_std=cfg["W_std"],
                b_std=cfg["b_std"], parameterization=cfg["parameterization"])
    return RealImagPair(re=net, im=net.clone())  # two independent networks


def check_sizes(cfg: dict, targets) -> None:
    """Refuse, before anything is written, widths whose networks cannot fit in memory.

    A lower bound: each member's two networks hold their parameters and gradients in the
    run's precision, and with ``linearized`` or ``drift`` one network's activations on the
    whole basis are held in float64 (the empirical kernel of the twins).
    """
    from qsntk.errors import check_memory

    item = 4 if cfg["precision"] == "float32" else 8
    d = max(int(t.x.shape[1]) for t in targets)
    n_states = max(t.n_states for t in targets)
    for w in cfg["widths"]:
        n_params = w * (d + 1) + (cfg["depth"] - 1) * w * (w + 1) + w + 1
        nbytes = 2 * 2 * cfg["members"] * n_params * item
        if cfg["linearized"] or cfg["drift"]:
            nbytes += n_states * w * cfg["depth"] * 8
        check_memory(f"width {w} ({cfg['members']} members of two networks, depth {cfg['depth']})",
                     nbytes)


def split_for(cfg: dict, n_states: int, n_train: int, target_index: int):
    from qsntk.dynamics.supervised import random_split

    # train sizes that leave no test states are refused by run_supervised before anything runs
    return random_split(n_states, n_train, seed=cfg["seed"] * 1_000_003 + 7919 * target_index + n_train)


def infinite_kernels(cfg: dict, target) -> tuple[np.ndarray, np.ndarray]:
    """Real blocks ``(2, 2, n, n)`` of the infinite-width NTK and NNGP of the pair on all states."""
    from qsntk.kernels import infinite_real_blocks

    pair = pair_for(cfg, 1)  # the width does not enter the infinite kernels
    return (np.asarray(infinite_real_blocks(pair, target.x, get="ntk"), np.float64),
            np.asarray(infinite_real_blocks(pair, target.x, get="nngp"), np.float64))


def analytic_problem(kernels, target, split):
    """The analytic problem (one eigendecomposition of the train NTK) for ``split``."""
    from qsntk.dynamics.supervised import prepare

    ntk, nngp = kernels
    return prepare(ntk, target.psi, split, nngp=nngp)


def analytic_curves(cfg: dict, problem, grid) -> dict:
    """The analytic losses (eqs. 16–18) at ``τ = η·grid`` and ``τ = ∞``."""
    from qsntk.dynamics.supervised import analytic_losses

    eta = cfg["eta_factor"] * problem.eta_max
    taus = np.concatenate([eta * np.asarray(grid, np.float64), [np.inf]])
    losses = analytic_losses(problem, taus, eta=eta)
    out = {"eta": eta, "eta_max": problem.eta_max, "lam_max": problem.lam_max,
           "steps": [int(s) for s in grid], "tau": list(taus[:-1])}
    for k, v in losses.items():
        out[k] = list(v[:-1])
        out[f"{k}_inf"] = float(v[-1])
    # the theory beyond the trained range: how the train loss approaches 0 and the test loss
    # its τ = ∞ value
    long_steps = np.array([1e3, 1e4, 1e5, 1e6, 1e7, 1e8])
    long = analytic_losses(problem, eta * long_steps, eta=eta)
    out["long_steps"] = long_steps.tolist()
    for k in ("train_psi", "test_psi"):
        if k in long:
            out[f"long_{k}"] = long[k].tolist()
    return out


def _cell_name(t: int, n_train: int, width: int) -> str:
    return f"t{t}_n{n_train}_w{width}"


def member_theory(problem, split, target, f0, eta: float, grid) -> dict:
    """Eq. 17 for these very members: the infinite-NTK linearized prediction from each
    member's own initial outputs ``f0`` ``(n, E)`` (no sampling error in the comparison)."""
    from qsntk.dynamics.supervised import ensemble_losses

    L = ensemble_losses(problem, eta * np.asarray(grid, np.float64), f0, split, target.psi, eta=eta)
    return {k: np.asarray(v).tolist() for k, v in L.items()}


def linearized_twins(model, params, target, split, eta: float, grid) -> dict:
    """Exact GD losses of each member's *linearized* network (its own empirical NTK, frozen).

    For every member: the empirical QS-NTK at initialization on all states (float64),
    one eigendecomposition of its train block, and the discrete-time solution of
    eq. 15 from the member's own initial outputs — identical to training
    ``f0 + J (θ − θ0)`` by full-batch GD (tested to 1e-9 in ``tests/dynamics``).

    Returns:
        ``{"train": (T, E), "test": (T, E)}`` per-point losses on the step grid.
    """
    import jax
    import jax.numpy as jnp

    from qsntk.dynamics import ensemble as ens
    from qsntk.dynamics.supervised import ensemble_losses, prepare
    from qsntk.kernels import real_blocks

    p64 = jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float64), params)
    x = jnp.asarray(target.x, jnp.float64)
    f0 = ens.outputs(model.apply, p64, x)
    E = f0.shape[1]
    out = {"train": [], "test": []}
    for e in range(E):
        pe = jax.tree_util.tree_map(lambda a: a[e], p64)
        prob = prepare(np.asarray(real_blocks(model, pe, x)), target.psi, split)
        L = ensemble_losses(prob, eta * np.asarray(grid, np.float64), f0[:, e:e + 1], split,
                            target.psi, eta=eta)
        out["train"].append(L["train"][:, 0])
        out["test"].append(L["test"][:, 0])
    return {k: np.stack(v, axis=1).tolist() for k, v in out.items()}


TWIN_BLOWUP = 10.0
"""A linearized twin whose train loss grows above this many times its start diverges (its η
is above its own η_max); see :func:`qsntk.experiments.supervised_status.twin_losses`."""


def member_drift(model, params0, params1, x_train, y_train, eta: float, steps: int) -> dict:
    r"""How each member's empirical QS-NTK moved in ``steps`` GD steps, and what that did to
    its train residual, against its linearized twin (the same network with :math:`K_0` frozen).

    Per member (float64, on ``x_train`` with complex targets ``y_train``): the train blocks of
    :math:`\Omega_{RI}` at ``params0`` (:math:`K_0`) and ``params1`` (:math:`K_1`); the
    twin's residual after ``steps`` steps,
    :math:`r_{\rm twin} = V\,(1 - 2\eta\Lambda/|B|)^{t}\,V^\top r(0)` from the
    eigendecomposition of :math:`K_0` (eq. 15 in discrete time); the network's residual
    :math:`r_{\rm net} = \psi_{\theta_1} - \psi_T`. Then
    :func:`~qsntk.kernels.spectrum.kernel_drift` (``frob``; ``slow_ratio`` over the modes
    of :math:`K_0` not yet learned, :math:`\lambda < |B|/(2\eta t)`; ``rate_twin`` and
    ``rate_net``, each residual in its own kernel) and
    :func:`~qsntk.kernels.spectrum.residual_split` of :math:`r_{\rm net}` against
    :math:`r_{\rm twin}` (``parallel`` a, ``orthogonal`` b: the member's train loss, network
    over twin, is a² + b²).

    Returns:
        ``{key: [E]}`` for the keys above. The twin's (``rate_twin``, ``parallel``,
        ``orthogonal``) are ``None`` for a member whose twin diverges (:data:`TWIN_BLOWUP`)
        or has fit the train set to round-off (no residual left to compare with).
    """
    import jax
    import jax.numpy as jnp

    from qsntk.dynamics import ensemble as ens
    from qsntk.dynamics.linearized import decay, eigh
    from qsntk.kernels import real_blocks
    from qsntk.kernels.spectrum import (kernel_drift, omega_ri_matrix, residual_split,
                                        stacked_residual, symmetric_eigenvalues)

    x = jnp.asarray(x_train, jnp.float64)
    n = x.shape[0]
    y = np.asarray(y_train, np.complex128)[:, None]
    p0, p1 = (jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float64), p) for p in (params0, params1))
    r0_all, r1_all = ens.outputs(model.apply, p0, x) - y, ens.outputs(model.apply, p1, x) - y
    keys = ("frob", "slow_ratio", "rate_twin", "rate_net", "parallel", "orthogonal")
    out: dict = {k: [] for k in keys}
    for e in range(r0_all.shape[1]):
        pick = lambda p: jax.tree_util.tree_map(lambda a: a[e], p)  # noqa: E731
        K0, K1 = (omega_ri_matrix(np.asarray(real_blocks(model, pick(p), x))) for p in (p0, p1))
        e0 = eigh(K0)
        e1 = symmetric_eigenvalues(K1)
        r_start = stacked_residual(r0_all[:, e], n)
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            d_t = decay(e0.evals, n, [eta * steps], eta=eta)[0]
            r_twin = e0.evecs @ (d_t * (e0.evecs.T @ r_start))
            left = float(r_twin @ r_twin) / float(r_start @ r_start)
        twin_ok = bool(np.all(np.isfinite(r_twin)) and 1e-24 < left <= TWIN_BLOWUP)
        r_net = stacked_residual(r1_all[:, e], n)
        d = kernel_drift(K0, K1, r_twin if twin_ok else None, r_net,
                         lam_star=n / (2.0 * eta * steps), evals=(e0.evals, e1))
        par, orth = residual_split(r_net, r_twin) if twin_ok else (None, None)
        for k, v in zip(keys, (d.frob, d.slow_ratio, d.rate0 if twin_ok else None, d.rate1, par, orth)):
            out[k].append(None if v is None else float(v))
    return out


BLOCK_WORK = 2e8
"""GD steps between checkpoint checks: ``BLOCK_WORK / (members × |B| × width × depth)``
(at least 1), so a checkpoint is due at most a few seconds late at any size."""


def train_cell(run, name: str, cfg: dict, target, split, width: int, eta: float, grid, *,
               key_seed: int, bar, problem_fn, on_save=None, done=None) -> dict:
    """Train (or resume) one ensemble; returns its logged records.

    ``problem_fn()`` returns the prepared analytic problem (computed only if needed);
    ``on_save(records)`` is called after every checkpoint (to refresh ``metrics.json``);
    ``done``: the records of this cell finished before (see :func:`finished_record`),
    used when there is no checkpoint to resume from.
    """
    import jax
    import jax.numpy as jnp

    from qsntk.dynamics import ensemble as ens

    dtype = jnp.float32 if cfg["precision"] == "float32" else jnp.float64
    model = pair_for(cfg, width)
    problem = ens.make_problem(target.x, target.psi, split, dtype=dtype)
    key = jax.random.PRNGKey(key_seed)
    params = ens.init_ensemble(model, target.x.shape[1], cfg["members"], key=key, dtype=dtype)
    rec = {"steps": [], "train": [], "test": [], "diverged": False, "wall_s": 0.0}
    got = run.load_checkpoint(name, params)
    step = 0
    if got is not None:
        p_saved, meta = got
        rec, step = meta["records"], int(meta["step"])
        if done is not None and step < int(done["steps"][-1]):  # a checkpoint behind the records
            got, rec, step = None, dict(done), int(done["steps"][-1])
    elif done is not None:
        rec, step = dict(done), int(done["steps"][-1])
    if "theory_members" not in rec:
        f0 = ens.outputs(model.apply, params, jnp.asarray(target.x, dtype))
        rec["theory_members"] = member_theory(problem_fn(), split, target, f0, eta, grid)
    if cfg.get("linearized") and "linearized" not in rec:
        rec["linearized"] = linearized_twins(model, params, target, split, eta, grid)
    params0 = params
    if got is not None:
        params = jax.tree_util.tree_map(jnp.asarray, p_saved)
    grid = [int(g) for g in grid]
    skip(bar, step)

    def save():
        # the step the checkpoint holds; the last logged one (``steps[-1]``) can be far behind
        # it on the log-spaced grid, and ``qsntk status`` times what is left from this one
        rec["trained_steps"] = step
        run.save_checkpoint(name, params, step=step, records=rec)
        if on_save is not None:
            on_save(rec)

    def drift_at_end():
        # needs the trained parameters: not there for a cell taken from records alone
        if cfg.get("drift") and "drift" not in rec and not rec["diverged"] and step >= grid[-1]:
            rec["drift"] = {"epoch": step, **member_drift(
                model, params0, params, target.x[split.train], target.psi[split.train], eta, step)}
            save()

    if step >= grid[-1] or rec["diverged"]:
        skip(bar, grid[-1] - step)
        if got is not None:
            drift_at_end()
        return rec
    if ens.supports_structured(model):
        # ``chunk`` rows at width 5000; narrower nets take proportionally more rows per chunk
        # (the same ~chunk*5000 activations in cache, fewer loop iterations)
        rows = max(cfg["chunk"], cfg["chunk"] * 5000 // width)
        gd = ens.structured_gd_fn(model, problem.x_train, problem.y_train, eta, chunk=rows)
    else:
        gd = ens.gd_fn(model.apply, problem.x_train, problem.y_train, eta, chunk=cfg["chunk"] * 8)
    train_loss = ens.loss_fn(model.apply, problem.x_train, problem.y_train)
    test_loss = ens.loss_fn(model.apply, problem.x_test, problem.y_test)
    if "eta_over_member_max" not in rec:
        lam = np.asarray(ens.top_ntk_eigenvalue(model.apply, params, problem.x_train,
                                                key=jax.random.fold_in(key, 99)))
        rec["lam_max_members"] = [float(v) for v in lam]
        rec["eta_over_member_max"] = [float(eta * v / split.train.size) for v in lam]

    def record():
        tr, te = np.asarray(train_loss(params)), np.asarray(test_loss(params))
        rec["steps"].append(step)
        rec["train"].append([float(v) for v in tr])
        rec["test"].append([float(v) for v in te])
        if not (np.all(np.isfinite(tr)) and np.all(np.isfinite(te))):
            rec["diverged"] = True

    if step == 0 and not rec["steps"]:
        record()
        save()
    block = max(1, int(BLOCK_WORK // max(1, cfg["members"] * split.train.size * width * cfg["depth"])))
    last_save, t0 = time.monotonic(), time.monotonic()
    while step < grid[-1] and not rec["diverged"]:
        nxt = next(g for g in grid if g > step)
        n = min(nxt - step, block)
        params = gd(params, n)
        step += n
        bar.advance(n)
        if step == nxt:
            record()
        now = time.monotonic()
        if step == nxt or now - last_save > cfg["checkpoint_s"]:
            rec["wall_s"] += now - t0
            t0 = now
            save()
            last_save = now
    if rec["diverged"]:
        skip(bar, grid[-1] - step)
    drift_at_end()
    return rec


def summarize(cells: dict, analytic: dict) -> dict:
    r"""Ensemble mean ± std and the largest deviation from the theory.

    Per cell and set (``train``/``test``), over the logged steps: ``*_mean``, ``*_std``,
    the standard error of the ensemble mean ``*_sem`` (:math:`s/\sqrt{E}`, ``s`` the sample
    standard deviation with ``ddof = 1``, ``E ≥ 2`` members; ``*_std`` is the ``ddof = 0``
    spread drawn in Fig. 2),
    the largest relative deviation of the mean from eq. 18 (``*_max_rel_dev``) and from
    eq. 17 for these members' own initial outputs (``*_max_rel_dev_members``), and the
    largest deviation from eq. 18 in units of the standard error (``*_max_z``): eq. 18 is
    the expectation over initializations, so an ensemble of ``E`` draws scatters about it
    by :math:`\pm`\ ``sem`` even at infinite width.
    """
    out = {}
    for name, c in cells.items():
        a = analytic[c["analytic"]]
        tr, te = np.asarray(c["train"], float), np.asarray(c["test"], float)
        idx = [a["steps"].index(s) for s in c["steps"]]
        s = {"train_mean": tr.mean(1).tolist(), "train_std": tr.std(1).tolist(),
             "test_mean": te.mean(1).tolist(), "test_std": te.std(1).tolist()}
        if "train_psi" in a and tr.size and not c["diverged"]:
            for part in ("train", "test"):
                mean = np.mean(c[part], 1)
                th = np.asarray(a[f"{part}_psi"])[idx]
                s[f"{part}_max_rel_dev"] = float(np.max(np.abs(mean - th) / th))
                E = np.shape(c[part])[1]
                if E > 1:
                    sem = np.std(c[part], axis=1, ddof=1) / np.sqrt(E)
                    s[f"{part}_sem"] = sem.tolist()
                    with np.errstate(divide="ignore", invalid="ignore"):
                        z = np.abs(mean - th) / sem
                    s[f"{part}_max_z"] = float(np.nanmax(z)) if np.any(~np.isnan(z)) else float("nan")
                tm = np.asarray(c["theory_members"][part])[: len(idx)].mean(1)
                s[f"{part}_members_theory"] = tm.tolist()
                s[f"{part}_max_rel_dev_members"] = float(np.max(np.abs(mean - tm) / tm))
                if "linearized" in c:
                    from qsntk.experiments.supervised_status import twin_losses

                    L, bad = twin_losses(c, part, len(idx))
                    lm = L.mean(1)
                    s[f"{part}_linearized"] = lm.tolist()
                    s[f"{part}_linearized_diverged"] = int(bad.sum())
                    # a diverging twin (η above its member's own η_max) is infinitely far off
                    s[f"{part}_max_rel_dev_linearized"] = (
                        float("inf") if bad.any() else float(np.max(np.abs(mean - lm) / lm)))
        out[name] = s
    return out


def work_units(train_sizes, widths) -> dict:
    """Progress units per epoch of each (|B|, width) cell: an epoch costs ∝ |B| × width, so
    the cheapest cell counts 1 and the others its multiple (rounded), which keeps the
    bar's ETA honest when a run mixes widths 300 and 5000."""
    cost = {(n, w): n * w for n in train_sizes for w in widths}
    least = min(cost.values())
    return {k: max(1, round(v / least)) for k, v in cost.items()}


class _Scaled:
    """A progress task seen through ``units`` per epoch."""

    def __init__(self, bar, units: int):
        self.bar, self.units = bar, units

    def advance(self, n: int = 1) -> None:
        self.bar.advance(n * self.units)

    def skip(self, n: int) -> None:
        skip(self.bar, n * self.units)


def _figures(run, metrics: dict, cfg: dict, figures, title: str, *, done) -> list:
    """Fig. 2 and Fig. 3 files of the targets in ``done`` (all of whose cells are complete)."""
    from qsntk.experiments import supervised_plots as plots

    figs = []
    if "fig2" in figures:
        figs += plots.fig2(run, metrics, title=title, targets=done)
    if "fig3" in figures and len(cfg["train_sizes"]) > 1:
        figs += plots.fig3(run, metrics, title=title, targets=done)
    return figs


def run_supervised(out, cfg: dict, *, overwrite: bool = False, progress=no_progress,
                   figures=("fig2", "fig3"), title: str = "", reuse=()) -> dict:
    """Run (or resume) the whole experiment in run directory ``out``.

    Arguments:
        reuse: run directories whose cells (target, train size, width) this run may
            start from when they were trained with the same settings, e.g. Fig. 2's
            |B| = 2400 cells for Fig. 3 (see :func:`adopt_cell`).

    Returns:
        ``{"out", "figures", "metrics", "summary", "drift_not_measured"}``; the last lists
        the cells that ``drift`` could not measure: finished from records alone (a run
        directory kept without its checkpoints), whose trained parameters are not there.
    """
    from qsntk.dynamics.ensemble import log_steps
    from qsntk.experiments import supervised_plots as plots
    from qsntk.io import RunDir

    validate(cfg)
    for d in reuse:
        if not (Path(d) / "config.json").is_file():
            raise InputError(f"reuse directory {str(d)!r} is not a run directory (no config.json)")
        if overwrite and Path(d).resolve() == Path(out).resolve():
            raise InputError(f"--reuse {str(d)!r} is --out, which --overwrite would empty first")
    targets = [load_target(t) for t in cfg["targets"]]
    for t, tg in zip(cfg["targets"], targets):
        for n in cfg["train_sizes"]:
            if n >= tg.n_states:
                raise InputError(f"train size {n} leaves no test states ({t} has {tg.n_states})")
    check_sizes(cfg, targets)
    from qsntk.physics.targets import PRESETS

    digests = [None if t in PRESETS else tg.digest() for t, tg in zip(cfg["targets"], targets)]
    if any(digests):           # preset-only configs stay as they were recorded before
        cfg = {**cfg, "target_digests": digests}
    if not overwrite:
        check_target_files(out, cfg)
    run = RunDir(out, as_recorded(out, cfg), overwrite=overwrite, volatile=("checkpoint_s",))
    metrics = resumed_metrics(run) if run.resumed else {"analytic": {}, "cells": {}}
    grid = log_steps(cfg["steps"], cfg["n_log"])
    units = work_units(cfg["train_sizes"], cfg["widths"])
    total = len(targets) * int(grid[-1]) * sum(units.values())
    figs: list = []
    no_drift: list = []
    with progress(total, "ensemble GD (work units)") as bar:
        for ti, (tname, target) in enumerate(zip(cfg["targets"], targets)):
            kcache: dict = {}
            for n_train in cfg["train_sizes"]:
                split = split_for(cfg, target.n_states, n_train, ti)
                akey = f"t{ti}_n{n_train}"
                cache: dict = {}

                def problem_fn(target=target, split=split, cache=cache, kcache=kcache):
                    if "p" not in cache:
                        if "k" not in kcache:
                            kcache["k"] = infinite_kernels(cfg, target)
                        cache["p"] = analytic_problem(kcache["k"], target, split)
                    return cache["p"]

                if akey not in metrics["analytic"]:
                    metrics["analytic"][akey] = {"target": tname, "n_train": n_train,
                                                 "n_test": target.n_states - n_train,
                                                 **analytic_curves(cfg, problem_fn(), grid)}
                    run.save_metrics(metrics)
                a = metrics["analytic"][akey]
                for width in cfg["widths"]:
                    name = _cell_name(ti, n_train, width)
                    meta = {"target": tname, "n_train": n_train, "width": width}
                    # finished here before (kept without its checkpoint), else from ``reuse``
                    done = finished_record(metrics["cells"].get(name), grid, cfg["members"], meta)
                    if done is None:
                        _, done = adopt_cell(run, name, cfg, ti, reuse, grid=grid, meta=meta,
                                             eta=a["eta"], analytic_key=akey)
                    seed = (cfg["seed"] * 1_000_003 + zlib.crc32(name.encode())) % (2**31)
                    def on_save(rec, name=name, n_train=n_train, width=width, akey=akey):
                        metrics["cells"][name] = {"target": tname, "n_train": n_train,
                                                  "width": width, "analytic": akey, **rec}
                        metrics["summary"] = summarize(metrics["cells"], metrics["analytic"])
                        run.save_metrics(metrics)

                    rec = train_cell(run, name, cfg, target, split, width, a["eta"], grid,
                                     key_seed=seed, bar=_Scaled(bar, units[n_train, width]),
                                     problem_fn=problem_fn, on_save=on_save, done=done)
                    on_save(rec)
                    if (cfg["drift"] and "drift" not in rec and not rec["diverged"]
                            and int(rec["steps"][-1]) >= int(grid[-1])):
                        no_drift.append(name)     # finished from records: no trained parameters
            # a finished target's figures are written at once, so a run of several hours
            # that is stopped later keeps them
            figs += _figures(run, metrics, cfg, figures, title, done=[tname])
    run.save_arrays("arrays", **plots.arrays(metrics))
    return {"out": str(run.path), "figures": [str(f) for f in figs],
            "metrics": str(run.path / "metrics.json"), "summary": metrics["summary"],
            "drift_not_measured": no_drift}
