r"""Run-directory drivers behind ``qsntk qntk`` and the Liu et al. figures.

Each driver validates its arguments, opens a :class:`qsntk.io.RunDir`, computes
in resumable pieces (one checkpoint per piece), and writes ``metrics.json``,
``arrays.npz`` and a PNG. All randomness derives from ``config["seed"]``:

* observable: ``fold_in(key(seed), 0)``;
* circuit instance ``i`` at depth ``L``: ``fold_in(fold_in(fold_in(key(seed), 1), L), i)``;
* its angles: ``fold_in(<instance key>, 1)``, input states ``fold_in(<instance key>, 2)``,

so a resumed run reproduces the uninterrupted one exactly.

``metrics["wall_s"]`` is the seconds spent computing the result, summed over the
sessions that computed it: each checkpoint records how long its piece took, and a
session that computes something adds its own time (pieces, statistics, arrays) to
that of the pieces it loaded. A rerun that finds every piece checkpointed recomputes
nothing and leaves ``wall_s`` as it was (see :class:`qsntk.io.WorkClock`).
"""

from __future__ import annotations

import math
import time
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from qsntk.circuits import dynamics, fast, kernel, model, plots, theory
from qsntk.circuits.haar import haar_frame
from qsntk.circuits.paulis import pauli_label
from qsntk.errors import (InputError, check_choice, check_finite, check_int_at_least, check_memory,
                          check_positive)
from qsntk.io import RunDir, WorkClock, read_checkpoint_meta
from qsntk.progress import no_progress, skip

__all__ = ["kernel_scan", "train", "supervised", "theory_summary", "MAX_QUBITS"]

MAX_QUBITS = 10


# ---------------------------------------------------------------- shared pieces
def _check_common(n_qubits, seed, terms):
    check_int_at_least("qubits", n_qubits, 1)
    if n_qubits > MAX_QUBITS:
        raise InputError(f"qubits must be <= {MAX_QUBITS} (dense 2^n x 2^n gates), got {n_qubits}")
    check_int_at_least("seed", seed, 0)
    check_int_at_least("terms", terms, 1)


def _check_terms_memory(n_qubits, terms):
    """Building O holds every term as a dense ``(D, D)`` complex matrix (16 D^2 bytes each)."""
    D = 2 ** n_qubits
    check_memory(f"an observable of {terms} Pauli terms on {n_qubits} qubits",
                 float(terms) * (16.0 * D * D + 8 + 4 * n_qubits))


def _circuit_bytes(n_qubits, L):
    """Lower bound on the bytes of one circuit of ``L`` layers: the complex gates
    ``(L + 1, D, D)`` and the real folded form ``2 x (L, 2D, 4D)`` (:mod:`qsntk.circuits.fast`)."""
    D = 2 ** n_qubits
    return float(L + 1) * 16.0 * D * D + 2.0 * L * 8.0 * (2 * D) * (4 * D)


def _observable(seed, n_qubits, terms):
    obs = model.random_observable(key=jax.random.fold_in(jax.random.PRNGKey(seed), 0),
                                  n_qubits=n_qubits, n_terms=terms)
    return obs, model.observable_matrix(obs)


def _instance_key(seed, L, i):
    return jax.random.fold_in(jax.random.fold_in(jax.random.fold_in(jax.random.PRNGKey(seed), 1), L), i)


def _instance(seed, n_qubits, L, i):
    key = _instance_key(seed, L, i)
    return key, _build(key, n_qubits, L)


@partial(jax.jit, static_argnums=(1, 2))
def _build(key, n_qubits, L):
    """Circuit of eq. 20 in the fast two-level form (Pauli spectra are exactly ±1)."""
    comp = model.compile_circuit(model.random_circuit(key=key, n_qubits=n_qubits, n_layers=L))
    return fast.fold(comp.gates, comp.spectra, jnp.ones(L, comp.spectra.dtype))


@partial(jax.jit, static_argnums=(1,))
def _angles(key, shape):
    return jax.random.uniform(jax.random.fold_in(key, 1), shape, minval=0.0, maxval=2 * np.pi,
                              dtype=jnp.float64)


def _basis0(D):
    return jnp.zeros(D, dtype=jnp.complex128).at[0].set(1.0)


def _chunk(L, D, samples):
    per = 8 * (4 * L * 2 * D + 64 * D)                # bytes per sample in the sweeps
    return int(max(1, min(samples, 2 ** 28 // per)))


def _obs_info(obs, O):
    tr = theory.observable_traces(np.asarray(O))
    return tr, {"paulis": [pauli_label(p) for p in np.asarray(obs.paulis)],
                "coeffs": np.asarray(obs.coeffs), "tr_O": tr.t1, "tr_O2": tr.t2,
                "tr_O3": tr.t3, "tr_O4": tr.t4}


def _jackknife(groups, fn):
    """Jackknife standard error of ``fn`` over the first axis (instances)."""
    n = len(groups)
    if n < 2:
        return float("nan")
    vals = np.array([fn(np.delete(groups, i, axis=0)) for i in range(n)])
    return float(np.sqrt((n - 1) / n * np.sum((vals - vals.mean()) ** 2)))


# ---------------------------------------------------------------- kernel scan (Fig. 1)
def kernel_scan(out, *, n_qubits: int = 4, layers=(1, 2, 4, 8, 16, 32, 40), instances: int = 10,
                samples: int = 1000, seed: int = 0, terms: int = 10, with_mu: bool = True,
                dtype: str = "float64", overwrite: bool = False, progress=no_progress,
                figure_title: str | None = None) -> dict:
    """QNTK statistics against depth: K̄, ΔK, μ for each L (Fig. 1 of Liu et al.).

    For every ``L`` in ``layers``: ``instances`` circuits of eq. 20 (fresh Haar ``W`` and
    Pauli generators), ``samples`` angle vectors uniform in :math:`[0, 2\\pi)^L` each,
    input :math:`|0\\cdots0\\rangle`, a fixed random observable with ``terms`` Pauli terms.
    ``dtype="float32"`` computes K and μ in single precision (about twice as fast; relative
    error a few 1e-6 at L = 40, :func:`qsntk.circuits.kernel.qntk_batch`); circuits, angles
    (cos/sin on the unrolled path, L <= 48) and the statistics over samples stay in double precision.

    Returns:
        Summary dict ``{"out", "figures", "metrics"}``; ``metrics["wall_s"]`` is the seconds
        spent computing the result over every session, unchanged by a rerun that
        recomputes nothing (module docstring).
    """
    _check_common(n_qubits, seed, terms)
    layers = sorted({check_int_at_least("layers", int(L), 1) for L in layers})
    check_int_at_least("instances", instances, 1)
    check_int_at_least("samples", samples, 2)
    dtype = str(kernel.real_dtype(dtype))
    _check_terms_memory(n_qubits, terms)
    # what stays in memory: K, mu, eps of every (L, instance, sample), the loader's template,
    # the deepest circuit and its angles (lower bounds; the sweeps are chunked, _chunk)
    check_memory(f"{len(layers)} depths x {instances} instances x {samples} samples",
                 8.0 * instances * samples * (3 * len(layers) + 1)
                 + _circuit_bytes(n_qubits, layers[-1]) + 8.0 * samples * layers[-1])
    cfg = dict(kind="qntk-kernel", n_qubits=n_qubits, layers=layers, instances=instances,
               samples=samples, seed=seed, terms=terms, with_mu=bool(with_mu))
    if dtype != "float64":          # (double-precision configs keep their earlier form)
        cfg["dtype"] = dtype
    run = RunDir(out, cfg, overwrite=overwrite)
    D = 2 ** n_qubits
    obs, O = _observable(seed, n_qubits, terms)
    tr, obs_meta = _obs_info(obs, O)
    psi0 = _basis0(D)
    clock = WorkClock(run)
    results = {}
    with progress(len(layers) * instances, f"QNTK, {n_qubits} qubits") as bar:
        for L in layers:
            like = (np.zeros((instances, samples)),) * 3
            got = run.load_checkpoint(f"L{L}", like)
            if got is None:
                started = time.perf_counter()
                K, mu, eps = (np.zeros((instances, samples)) for _ in range(3))
                chunk = _chunk(L, D, samples)
                for i in range(instances):
                    key, comp = _instance(seed, n_qubits, L, i)
                    th = _angles(key, (samples, L))
                    for a in range(0, samples, chunk):
                        st = kernel.qntk_batch(comp, O, th[a:a + chunk], psi0, with_mu=with_mu,
                                               dtype=dtype)
                        K[i, a:a + chunk] = np.asarray(st.K)
                        mu[i, a:a + chunk] = np.asarray(st.mu)
                        eps[i, a:a + chunk] = np.asarray(st.eps)
                    bar.advance()
                run.save_checkpoint(f"L{L}", (K, mu, eps), L=L, wall_s=clock.piece_done(started))
            else:
                (K, mu, eps), meta = got
                clock.piece_loaded(meta)
                skip(bar, instances)
            results[L] = (np.asarray(K), np.asarray(mu), np.asarray(eps))
    old = clock.unchanged("arrays.npz", "qntk_kernel.png")
    if old is not None:
        return {"out": str(run.path), "figures": [str(run.path / "qntk_kernel.png")],
                "metrics": _headline(old, "kernel")}
    metrics = _kernel_metrics(results, layers, O, tr, D, with_mu)
    metrics.update(observable=obs_meta, D=D, wall_s=clock.total(), resumed=run.resumed)
    arrays = {k: np.asarray(v) for k, v in metrics["per_L"].items()}
    run.save_arrays("arrays", layers=np.asarray(layers), **arrays,
                    **{f"K_L{L}": results[L][0] for L in layers},
                    **({f"mu_L{L}": results[L][1] for L in layers} if with_mu else {}))
    run.save_metrics(metrics)
    fig = plots.kernel_figure(metrics, title=figure_title)
    figs = [str(run.save_figure(fig, "qntk_kernel"))]
    plots.close(fig)
    return {"out": str(run.path), "figures": figs, "metrics": _headline(metrics, "kernel")}


def _kernel_metrics(results, layers, O, tr, D, with_mu):
    On = np.asarray(O)
    per = {k: [] for k in ("Kbar", "Kbar_se", "dK", "dK_within", "ratio", "ratio_se",
                           "Kbar_exact", "Kbar_paper", "dK_exact", "dK_paper", "ratio_exact",
                           "mu_mean", "mu_mean_se", "mu_std", "dmu_paper", "mu_mean_pairs")}
    for L in layers:
        K, mu, _ = results[L]
        mom = theory.qntk_moments_exact(On, L)
        per["Kbar"].append(K.mean())
        per["Kbar_se"].append(K.mean(axis=1).std(ddof=1) / np.sqrt(len(K)) if len(K) > 1
                              else K.std(ddof=1) / np.sqrt(K.size))
        per["dK"].append(K.std(ddof=1))
        per["dK_within"].append(np.sqrt(K.var(axis=1, ddof=1).mean()))
        per["ratio"].append(K.std(ddof=1) / K.mean())
        per["ratio_se"].append(_jackknife(K, lambda k: k.std(ddof=1) / k.mean()))
        per["Kbar_exact"].append(mom.mean)
        per["Kbar_paper"].append(float(theory.kbar_paper(L, tr.t2, D)))
        per["dK_exact"].append(mom.std)
        per["dK_paper"].append(float(theory.delta_k_paper(L, tr.t2, tr.t4, D)))
        per["ratio_exact"].append(mom.std / mom.mean)
        per["mu_mean"].append(mu.mean() if with_mu else np.nan)
        per["mu_mean_se"].append(mu.std(ddof=1) / np.sqrt(mu.size) if with_mu else np.nan)
        per["mu_std"].append(mu.std(ddof=1) if with_mu else np.nan)
        per["dmu_paper"].append(float(theory.delta_mu_paper(L, tr.t2, D)))
        per["mu_mean_pairs"].append(theory.mu_mean_pairs(On, L))
    per = {k: np.asarray(v, dtype=float) for k, v in per.items()}
    Ls = np.asarray(layers, dtype=float)
    rel = np.abs(per["Kbar"] / per["Kbar_exact"] - 1)
    big = Ls >= 8
    # no slope from a single depth (--layers 2,2 is the one depth 2): null, and said so
    fit = lambda y: float(np.polyfit(np.log(Ls), np.log(y), 1)[0]) if len(Ls) > 1 else None
    m = {
        "layers": list(map(int, layers)),
        "per_L": per,
        "kbar_max_rel_err_L_ge_8": float(rel[big].max()) if big.any() else float("nan"),
        "kbar_over_paper_eq9": float(np.mean(per["Kbar"] / per["Kbar_paper"])),
        "slope_dK_over_K": fit(per["ratio"]),
        "slope_dK_over_K_exact": fit(per["ratio_exact"]),
        "slope_dK_over_K_within": fit(per["dK_within"] / per["Kbar"]),
        "ratio_floor_exact": theory.qntk_moments_exact(np.asarray(O), 2).parts["floor"],
        "dK_over_exact_max_rel_err": float(np.max(np.abs(per["dK"] / per["dK_exact"] - 1))),
    }
    if len(Ls) < 2:
        m["slope_note"] = "the slopes need at least two distinct depths"
    if with_mu:
        m["dmu_over_eq15"] = (per["mu_std"] / per["dmu_paper"]).tolist()
    return m


def _headline(metrics, kind):
    keys = {"kernel": ("kbar_max_rel_err_L_ge_8", "kbar_over_paper_eq9", "slope_dK_over_K",
                       "slope_dK_over_K_exact", "slope_note", "wall_s"),
            "train": ("diverged", "diverged_at_step", "gamma_exact", "gamma_paper", "gamma_fit",
                      "max_abs_dev_exact", "max_abs_dev_paper", "wall_s"),
            "supervised": ("max_rel_err_mean_kernel_vs_eq21", "max_rel_err_mean_lmin_vs_eq21",
                           "abs_err_mean_kernel_vs_eq21_where_zero",
                           "abs_err_mean_lmin_vs_eq21_where_zero", "wall_s")}[kind]
    return {k: metrics[k] for k in keys if k in metrics}


# ---------------------------------------------------------------- training (Fig. 2)
def train(out, *, n_qubits: int = 2, n_layers: int = 64, inits: int = 50, steps: int = 1000,
          eta: float = 1e-4, seed: int = 0, terms: int = 10, target: float | None = None,
          chunk: int = 100, overwrite: bool = False, progress=no_progress,
          figure_title: str | None = None) -> dict:
    """Gradient descent (eq. 4) on one circuit of eq. 20 from ``inits`` random initial angles.

    The target defaults to :math:`O_0 = \\mathrm{Tr}(O)/D`, the Haar average of
    :math:`\\langle O\\rangle`, so every initial residual is reachable. Compares the mean of
    :math:`\\varepsilon(t)/\\varepsilon(0)` with :math:`e^{-\\gamma t}` for the exact
    :math:`\\gamma = \\eta\\bar K` and for eq. 11 of Liu et al.

    Returns:
        Summary dict ``{"out", "figures", "metrics"}``; ``metrics["wall_s"]`` is the seconds
        spent computing the result over every session, unchanged by a rerun that
        recomputes nothing (module docstring).
    """
    _check_common(n_qubits, seed, terms)
    check_int_at_least("layers", n_layers, 1)
    check_int_at_least("inits", inits, 1)
    check_int_at_least("steps", steps, 1)
    check_int_at_least("chunk", chunk, 1)
    check_positive("eta", eta)
    if target is not None:
        check_finite("target", target)
    _check_terms_memory(n_qubits, terms)
    # histories eps, K of (inits, steps + 1), each concatenated once per chunk (a copy)
    check_memory(f"{inits} inits x {steps} steps of history",
                 4 * 8.0 * inits * (steps + 1) + _circuit_bytes(n_qubits, n_layers)
                 + 8.0 * inits * n_layers)
    obs, O = _observable(seed, n_qubits, terms)
    if target is not None:
        # |eps| <= |O_0| + sum |c_j|; the loss eps^2 / 2 and the step eta eps grad must be finite
        bound = np.float64(abs(target)) + np.float64(np.sum(np.abs(np.asarray(obs.coeffs))))
        with np.errstate(over="ignore"):
            big = not (np.isfinite(bound * bound) and np.isfinite(eta * bound * bound * 4 * n_layers))
        if big:
            raise InputError(f"target {target!r} makes the loss eps^2/2 overflow (|eps| up to "
                             f"{float(bound):.3g}); use a target of the size of <O>")
    cfg = dict(kind="qntk-train", n_qubits=n_qubits, n_layers=n_layers, inits=inits, steps=steps,
               eta=float(eta), seed=seed, terms=terms, target=target)
    run = RunDir(out, cfg, overwrite=overwrite)
    D = 2 ** n_qubits
    tr, obs_meta = _obs_info(obs, O)
    O0 = tr.t1 / D if target is None else float(target)
    key, comp = _instance(seed, n_qubits, n_layers, 0)
    psi0 = _basis0(D)
    th = _angles(key, (inits, n_layers))
    eps_h, K_h = np.zeros((inits, 0)), np.zeros((inits, 0))
    clock = WorkClock(run)
    spent = 0.0                 # seconds of the steps in the checkpoint, over all sessions
    got = _load_train(run, inits, n_layers)        # histories grow, so no fixed-shape template
    if got is not None:
        th, eps_h, K_h, meta = got
        spent = clock.piece_loaded(meta)
    done = max(eps_h.shape[1] - 1, 0)
    with progress(steps, "gradient descent") as bar:
        skip(bar, done)
        while done < steps:
            started = time.perf_counter()
            n = min(chunk, steps - done)
            trace = dynamics.gradient_descent_batch(comp, O, jnp.asarray(th), psi0, O0, eta=eta, steps=n)
            e, k = np.asarray(trace.eps), np.asarray(trace.K)
            eps_h = e if done == 0 else np.concatenate([eps_h, e[:, 1:]], axis=1)
            K_h = k if done == 0 else np.concatenate([K_h, k[:, 1:]], axis=1)
            th = np.asarray(trace.theta)
            done += n
            spent += clock.piece_done(started)
            run.save_checkpoint("train", (th, eps_h, K_h), step=done, wall_s=spent)
            bar.advance(n)
    old = clock.unchanged("arrays.npz", "qntk_train.png")
    if old is not None:
        return {"out": str(run.path), "figures": [str(run.path / "qntk_train.png")],
                "metrics": _headline(old, "train")}
    metrics = _train_metrics(eps_h, K_h, eta, n_layers, O, tr, D)
    metrics.update(observable=obs_meta, target=O0, wall_s=clock.total(), D=D,
                   resumed=run.resumed)
    run.save_arrays("arrays", eps=eps_h, K=K_h, t=np.arange(steps + 1))
    run.save_metrics(metrics)
    fig = plots.train_figure(eps_h, metrics, eta, title=figure_title)
    figs = [str(run.save_figure(fig, "qntk_train"))]
    plots.close(fig)
    return {"out": str(run.path), "figures": figs, "metrics": _headline(metrics, "train")}


def _load_train(run, inits, L):
    """``(theta, eps, K, meta)`` of the training checkpoint; None if absent or mismatched."""
    f = run.checkpoint_path("train")
    if not f.exists():
        return None
    with np.load(f) as data:
        keys = sorted(k for k in data.files if k.startswith("leaf_"))
        if len(keys) != 3:
            return None
        th, eps, K = (data[k] for k in keys)
    if th.shape != (inits, L) or eps.shape[0] != inits or eps.shape != K.shape:
        return None
    return th, eps, K, read_checkpoint_meta(f) or {}


DIVERGE_GROWTH = 1.1
"""Gradient descent counts as diverged when a residual is not finite or the mean |ε(t)| over
the initial angles exceeds ``DIVERGE_GROWTH`` times its start (stable descent only shrinks it)."""


def _divergence(eps):
    """First step at which the run diverged (:data:`DIVERGE_GROWTH`), or None."""
    a = np.abs(eps)
    bad = ~np.all(np.isfinite(eps), axis=0)
    with np.errstate(invalid="ignore"):
        bad |= np.nanmean(a, axis=0) > DIVERGE_GROWTH * np.nanmean(a[:, 0])
    return int(np.argmax(bad)) if bad.any() else None


def _train_metrics(eps, K, eta, L, O, tr, D):
    t = np.arange(eps.shape[1])
    div = _divergence(eps)
    ratio = eps / np.where(eps[:, :1] == 0, np.nan, eps[:, :1])
    mean = np.nanmean(ratio, axis=0)
    kbar = float(theory.kbar_exact(L, D, tr.t1, tr.t2))
    mom = theory.qntk_moments_exact(np.asarray(O), L)
    g_exact, g_paper = eta * kbar, float(theory.gamma_paper(eta, L, tr.t2, D))
    ok = mean > 0.05
    ok &= np.cumprod(ok).astype(bool)
    gfit = float(-np.polyfit(t[ok], np.log(mean[ok]), 1)[0]) if ok.sum() > 2 else float("nan")
    if div is not None:
        gfit = None                 # no decay to fit
    pred_g = theory.mean_decay_gamma(t, eta, mom.mean, mom.std)
    return {
        "diverged": div is not None, "diverged_at_step": div, "eta_Kbar_exact": eta * kbar,
        "kbar_exact": kbar, "dK_exact": mom.std, "kbar_paper": float(theory.kbar_paper(L, tr.t2, D)),
        "K0_mean": float(K[:, 0].mean()), "K0_std": float(K[:, 0].std(ddof=1)) if len(K) > 1 else 0.0,
        "Kend_mean": float(K[:, -1].mean()),
        "gamma_exact": g_exact, "gamma_paper": g_paper, "gamma_fit": gfit,
        "max_abs_dev_exact": float(np.nanmax(np.abs(mean - np.exp(-g_exact * t)))),
        "max_abs_dev_paper": float(np.nanmax(np.abs(mean - np.exp(-g_paper * t)))),
        "max_abs_dev_fluct": float(np.nanmax(np.abs(mean - pred_g))),
        "mean_ratio": mean, "eps0": eps[:, 0],
    }


# ---------------------------------------------------------------- supervised (Fig. 3)
def supervised(out, *, n_qubits: int = 4, n_layers: int = 64, sizes=(2, 3, 4, 5, 6, 7, 8, 9, 10),
               instances: int = 50, seed: int = 0, terms: int = 10, inputs: str = "haar",
               overwrite: bool = False, progress=no_progress, figure_title: str | None = None) -> dict:
    """Spectrum of the supervised QNTK for orthonormal inputs against the data-set size (Fig. 3).

    For each size ``|A|``: ``instances`` circuits of eq. 20, random angles, ``|A|``
    mutually orthogonal inputs (``"haar"``: a Haar-random orthonormal frame per
    instance; ``"basis"``: the first ``|A|`` computational basis states), and the
    eigenvalues of :math:`K_{\\delta_1\\delta_2}`.

    Returns:
        Summary dict ``{"out", "figures", "metrics"}``; ``metrics["wall_s"]`` is the seconds
        spent computing the result over every session, unchanged by a rerun that
        recomputes nothing (module docstring).
    """
    _check_common(n_qubits, seed, terms)
    check_int_at_least("layers", n_layers, 1)
    check_int_at_least("instances", instances, 1)
    check_choice("inputs", inputs, ("haar", "basis"))
    D = 2 ** n_qubits
    sizes = sorted({check_int_at_least("sizes", int(a), 1) for a in sizes})
    if sizes[-1] > D:
        raise InputError(f"sizes must be <= 2^qubits = {D} for orthogonal inputs, got {sizes[-1]}")
    _check_terms_memory(n_qubits, terms)
    check_memory(f"{len(sizes)} sizes x {instances} instances",
                 8.0 * sum(instances * A + A * A for A in sizes) + _circuit_bytes(n_qubits, n_layers)
                 + 16.0 * sizes[-1] * (D + n_layers))
    cfg = dict(kind="qntk-supervised", n_qubits=n_qubits, n_layers=n_layers, sizes=sizes,
               instances=instances, seed=seed, terms=terms, inputs=inputs)
    run = RunDir(out, cfg, overwrite=overwrite)
    obs, O = _observable(seed, n_qubits, terms)
    tr, obs_meta = _obs_info(obs, O)
    clock = WorkClock(run)
    eig, mean_k = {}, {}
    kfun = jax.jit(kernel.kernel_matrix)
    with progress(len(sizes) * instances, "supervised QNTK") as bar:
        for A in sizes:
            got = run.load_checkpoint(f"A{A}", (np.zeros((instances, A)), np.zeros((A, A))))
            if got is None:
                started = time.perf_counter()
                ev, acc = np.zeros((instances, A)), np.zeros((A, A))
                for i in range(instances):
                    key, comp = _instance(seed, n_qubits, n_layers, i)
                    th = _angles(key, (n_layers,))
                    X = (haar_frame(key=jax.random.fold_in(key, 2 + 1000 * A), dim=D, count=A)
                         if inputs == "haar" else jnp.eye(D, dtype=jnp.complex128)[:A])
                    Km = np.asarray(kfun(comp, O, th, X))
                    ev[i] = np.linalg.eigvalsh(Km)
                    acc += Km / instances
                    bar.advance()
                run.save_checkpoint(f"A{A}", (ev, acc), A=A, wall_s=clock.piece_done(started))
            else:
                (ev, acc), meta = got
                clock.piece_loaded(meta)
                skip(bar, instances)
            eig[A], mean_k[A] = np.asarray(ev), np.asarray(acc)
    old = clock.unchanged("arrays.npz", "qntk_supervised.png")
    if old is not None:
        return {"out": str(run.path), "figures": [str(run.path / "qntk_supervised.png")],
                "metrics": _headline(old, "supervised")}
    metrics = _supervised_metrics(eig, mean_k, sizes, n_layers, tr, D)
    metrics.update(observable=obs_meta, wall_s=clock.total(), D=D, resumed=run.resumed)
    run.save_arrays("arrays", sizes=np.asarray(sizes), **{f"eig_A{A}": eig[A] for A in sizes},
                    **{f"meanK_A{A}": mean_k[A] for A in sizes})
    run.save_metrics(metrics)
    fig = plots.supervised_figure(metrics, title=figure_title)
    figs = [str(run.save_figure(fig, "qntk_supervised"))]
    plots.close(fig)
    return {"out": str(run.path), "figures": figs, "metrics": _headline(metrics, "supervised")}


def _supervised_metrics(eig, mean_k, sizes, L, tr, D):
    lmin = np.array([eig[A][:, 0].mean() for A in sizes])
    lmin_se = np.array([eig[A][:, 0].std(ddof=1) / math.sqrt(len(eig[A])) if len(eig[A]) > 1
                        else float("nan") for A in sizes])
    lmin_meanK = np.array([np.linalg.eigvalsh(mean_k[A])[0] for A in sizes])
    eq21 = np.array([theory.lowest_eigenvalue_paper(L, A, tr.t1, tr.t2, D) for A in sizes])
    upper = np.array([2.0 * L * D * tr.v / (D ** 2 - 1) ** 2] * len(sizes))
    second = np.array([eig[A][:, 1].mean() if A > 1 else np.nan for A in sizes])
    # eq. 21 is c (D - |A|): zero at |A| = D, where a relative error means nothing; those
    # sizes are left out of the relative errors and get absolute ones (null if none)
    zero = np.array(sizes) == D
    nz = ~zero
    with np.errstate(divide="ignore", invalid="ignore"):
        rel_k, rel_l = lmin_meanK / eq21 - 1, lmin / eq21 - 1
    rel_l = np.where(zero, np.nan, rel_l)
    mx = lambda x: float(np.max(np.abs(x))) if x.size else None
    m = {
        "sizes": list(map(int, sizes)), "lmin_mean": lmin, "lmin_se": lmin_se,
        "lmin_of_mean_kernel": lmin_meanK, "eq21": eq21, "other_eigs_exact": upper,
        "second_eig_mean": second,
        "max_rel_err_mean_kernel_vs_eq21": mx(rel_k[nz]),
        "max_rel_err_mean_lmin_vs_eq21": mx(rel_l[nz]),
        "rel_dev_mean_lmin_vs_eq21": rel_l,
    }
    if zero.any():
        m["abs_err_mean_kernel_vs_eq21_where_zero"] = mx(lmin_meanK[zero] - eq21[zero])
        m["abs_err_mean_lmin_vs_eq21_where_zero"] = mx(lmin[zero] - eq21[zero])
        m["eq21_zero_note"] = (f"eq. 21 is 0 at |A| = D = {D}: that size is left out of the "
                               "relative errors; abs_err_*_where_zero are its absolute errors")
    return m


# ---------------------------------------------------------------- closed forms only
def theory_summary(*, n_qubits: int = 4, n_layers: int = 40, eta: float = 1e-4,
                   n_data: int | None = None, seed: int = 0, terms: int = 10) -> dict:
    """Paper formulas and exact finite-D values for the random observable of ``seed``."""
    _check_common(n_qubits, seed, terms)
    L = check_int_at_least("layers", n_layers, 1)
    check_positive("eta", eta)
    _check_terms_memory(n_qubits, terms)
    D = 2 ** n_qubits
    if n_data is not None:
        check_int_at_least("data", n_data, 1)
        if n_data > D:
            raise InputError(f"data must be <= 2^qubits = {D}, got {n_data}")
    obs, O = _observable(seed, n_qubits, terms)
    tr, meta = _obs_info(obs, O)
    mom = theory.qntk_moments_exact(np.asarray(O), L)
    out = {"D": D, "L": L, "observable": meta,
           "Kbar_eq9": float(theory.kbar_paper(L, tr.t2, D)), "Kbar_exact": mom.mean,
           "dK_eq12": float(theory.delta_k_paper(L, tr.t2, tr.t4, D)), "dK_exact": mom.std,
           "dK_over_Kbar_exact": mom.std / mom.mean, "dK_over_Kbar_floor": mom.parts["floor"],
           "gamma_eq11": float(theory.gamma_paper(eta, L, tr.t2, D)),
           "gamma_exact": float(eta * mom.mean),
           "dmu_eq15_no_eta": float(theory.delta_mu_paper(L, tr.t2, D)),
           "mu_mean_pairs": theory.mu_mean_pairs(np.asarray(O), L)}
    if n_data is not None:
        out["lowest_eig_eq21"] = float(theory.lowest_eigenvalue_paper(L, n_data, tr.t1, tr.t2, D))
    return out
