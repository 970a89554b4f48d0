"""Figures of a VMC run: energy, variance, R̂ and the lens against the step."""

from __future__ import annotations

import numpy as np

__all__ = ["vmc_figures", "close_all"]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def vmc_figures(metrics: dict, lens_eigs: np.ndarray | None = None):
    """``[(name, figure), …]``: ``vmc`` (energy, variance, R̂/acceptance, lens scalars) and
    ``vmc_lens_spectrum`` (eigenvalues of the sample-space QS-NTK at the logged steps).

    Arguments:
        metrics: the ``metrics.json`` dict of :func:`qsntk.vmc.driver.run_vmc`.
        lens_eigs: eigenvalues, shape (n_lens, n_cols), NaN-padded, or None.
    """
    plt = _plt()
    h = metrics["history"]
    steps = np.arange(len(h["energy"]))
    E0 = metrics.get("exact_energy")
    has_lens = "lens" in metrics and len(metrics["lens"]["step"]) > 0
    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    ax = axes[0, 0]
    E = np.asarray(h["energy"], dtype=float)
    err = np.asarray(h["energy_error"], dtype=float)
    if E0:
        rel = np.abs(E - E0) / abs(E0)
        ax.semilogy(steps, rel, lw=1, label="|E - E0|/|E0|")
        ax.semilogy(steps, err / abs(E0), lw=0.8, alpha=0.6, label="MC error / |E0|")
        ax.set_ylabel("relative energy error")
    else:
        ax.plot(steps, E, lw=1, label="E")
        ax.set_ylabel("energy")
    ax.legend(fontsize=8)
    ax.set_title(f"{metrics['system']['system']} {metrics['system']['lx']}x{metrics['system']['ly']}"
                 f", {metrics['model']['name']}, {metrics['optimizer']}")
    ax = axes[0, 1]
    ax.semilogy(steps, np.asarray(h["variance"], dtype=float), lw=1)
    ax.set_ylabel("Var(E_loc)")
    ax = axes[1, 0]
    ax.plot(steps, np.asarray(h["r_hat"], dtype=float), lw=1, label="R-hat")
    ax.axhline(1.1, color="r", ls=":", lw=0.8)
    ax2 = ax.twinx()
    ax2.plot(steps, np.asarray(h["acceptance"], dtype=float), color="g", lw=0.8, alpha=0.7)
    ax2.set_ylabel("acceptance", color="g")
    ax.set_ylabel("R-hat")
    ax.set_xlabel("step")
    ax = axes[1, 1]
    if has_lens:
        L = metrics["lens"]
        s = np.asarray(L["step"])
        ax.semilogy(s, np.asarray(L["lens_cond"], dtype=float), "o-", ms=3, label="cond (nonzero)")
        ax.semilogy(s, np.asarray(L["lens_cond_shifted"], dtype=float), "d-", ms=3,
                    label="cond (S + shift)")
        ax.semilogy(s, np.asarray(L["lens_eff_rank"], dtype=float), "s-", ms=3, label="effective rank")
        ax.semilogy(s, np.asarray(L["lens_lambda_max"], dtype=float), "^-", ms=3, label="lambda_max")
        ax.set_title("sample-space QS-NTK (= QGT spectrum)")
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "lens off", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("step")
    fig.tight_layout()
    figs = [("vmc", fig)]
    if has_lens and lens_eigs is not None and np.isfinite(lens_eigs).any():
        fig2, ax = plt.subplots(figsize=(6, 4))
        s = np.asarray(metrics["lens"]["step"])
        cmap = plt.get_cmap("viridis")
        for i, st in enumerate(s):
            w = lens_eigs[i]
            w = w[np.isfinite(w) & (w > 0)]
            if len(w):
                ax.loglog(np.arange(1, len(w) + 1), w, color=cmap(i / max(len(s) - 1, 1)), lw=1,
                          label=f"step {int(st)}" if i in (0, len(s) - 1) else None)
        ax.set_xlabel("index")
        ax.set_ylabel("eigenvalue")
        ax.set_title("spectrum of the sample-space QS-NTK")
        ax.legend(fontsize=8)
        fig2.tight_layout()
        figs.append(("vmc_lens_spectrum", fig2))
    return figs


def close_all() -> None:
    _plt().close("all")
