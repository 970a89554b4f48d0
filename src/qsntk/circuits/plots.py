"""Figures in the style of Liu et al., Figs. 1-3 (matplotlib ``Figure`` objects, no pyplot)."""

from __future__ import annotations

import numpy as np

__all__ = ["kernel_figure", "train_figure", "supervised_figure", "close"]


def _figure(size=(5.6, 4.2)):
    from matplotlib.figure import Figure

    return Figure(figsize=size, layout="constrained")


def close(fig) -> None:
    """Release a figure (``Figure`` objects need no pyplot bookkeeping)."""
    fig.clear()


def kernel_figure(m: dict, title: str | None = None):
    """ΔK/K̄ against L on log-log axes, inset K̄ against L with theory (Fig. 1)."""
    p = m["per_L"]
    L = np.asarray(m["layers"], dtype=float)
    fig = _figure()
    ax = fig.add_subplot()
    ax.errorbar(L, p["ratio"], yerr=p["ratio_se"], fmt="o", color="C2", ms=5, capsize=2,
                label=r"simulation $\Delta K/\bar K$")
    ax.plot(L, p["ratio_exact"], "-", color="C0", label="exact finite-$D$ Haar average")
    ax.plot(L, p["dK_paper"] / p["Kbar_exact"], "--", color="C1",
            label=r"eq. 12 / exact $\bar K$ ($\propto L^{-1/2}$)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(ScalarFormatter())
        axis.set_minor_formatter(NullFormatter())
    ax.set_xticks([x for x in (1, 2, 5, 10, 20, 40, 100) if L.min() <= x <= L.max()])
    ax.set_yticks([y for y in (0.1, 0.2, 0.3, 0.5, 1, 2) if 0.5 * np.min(p["ratio"]) <= y <= 2 * np.max(p["ratio"])])
    ax.set_xlabel("$L$")
    ax.set_ylabel(r"$\Delta K/\bar K$")
    slope = m["slope_dK_over_K"]
    slope = "one depth, no slope" if slope is None else f"slope {slope:.2f}"
    ax.set_title(title or f"QNTK concentration, D = {m['D']}  ({slope})")
    ax.legend(loc="lower left", fontsize=8, frameon=False)
    ins = ax.inset_axes([0.6, 0.58, 0.37, 0.37])
    ins.errorbar(L, p["Kbar"], yerr=p["dK"], fmt="o", color="C2", ms=3, ecolor="C0", capsize=1.5,
                 label=r"simulation $\bar K \pm \Delta K$")
    ins.plot(L, p["Kbar_exact"], "-", color="k", lw=1, label="exact")
    ins.plot(L, p["Kbar_paper"], "--", color="C3", lw=1, label="eq. 9")
    ins.set_xlabel("$L$", fontsize=8)
    ins.set_ylabel(r"$\bar K$", fontsize=8)
    ins.tick_params(labelsize=7)
    ins.legend(fontsize=6, frameon=False, loc="upper left")
    return fig


def train_figure(eps: np.ndarray, m: dict, eta: float, title: str | None = None):
    """ε(t)/ε(0) for every initialization, their mean and the predicted exponentials (Fig. 2)."""
    t = np.arange(eps.shape[1])
    ratio = eps / eps[:, :1]
    fig = _figure((9.6, 4.0))
    ax, ax2 = fig.subplots(1, 2)
    for i, r in enumerate(ratio):
        ax.plot(t, r, color="0.75", lw=0.6, label="each initialization" if i == 0 else None)
    ax.plot(t, m["mean_ratio"], color="C0", lw=2.2, label="mean of simulations")
    ax.plot(t, np.exp(-m["gamma_exact"] * t), "-", color="C3", lw=1.4,
            label=rf"$e^{{-\gamma t}}$, $\gamma=\eta\bar K_{{exact}}$ = {m['gamma_exact']:.2e}")
    ax.plot(t, np.exp(-m["gamma_paper"] * t), "--", color="C1", lw=1.4,
            label=rf"eq. 11, $\gamma$ = {m['gamma_paper']:.2e}")
    ax.set_xlabel("gradient-descent step $t$")
    ax.set_ylabel(r"$\varepsilon(t)/\varepsilon(0)$")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(fontsize=8, frameon=False)
    ax.set_title(title or rf"residual decay, D = {m['D']}, $\eta$ = {eta:g}")
    a = np.abs(eps)
    for i, e in enumerate(a):
        ax2.plot(t, e, color="0.7", lw=0.6, label="each initialization" if i == 0 else None)
    ax2.plot(t, a.mean(axis=0), color="C0", lw=2.0, label=r"mean $|\varepsilon(t)|$")
    ax2.plot(t, a[:, 0].mean() * np.exp(-m["gamma_exact"] * t), color="C3", lw=1.2,
             label=r"$\overline{|\varepsilon(0)|}\,e^{-\gamma t}$ (exact $\gamma$)")
    ax2.plot(t, a[:, 0].mean() * np.exp(-m["gamma_paper"] * t), "--", color="C1", lw=1.2,
             label="same with eq. 11")
    ax2.set_yscale("log")
    ax2.set_xlabel("gradient-descent step $t$")
    ax2.set_ylabel(r"$|\varepsilon(t)|$")
    ax2.legend(fontsize=8, frameon=False)
    return fig


def supervised_figure(m: dict, title: str | None = None):
    """Lowest supervised-QNTK eigenvalue against the data-set size (Fig. 3)."""
    A = np.asarray(m["sizes"], dtype=float)
    fig = _figure()
    ax = fig.add_subplot()
    ax.errorbar(A, m["lmin_mean"], yerr=m["lmin_se"], fmt="o", color="C0", capsize=2,
                label="mean of per-instance lowest eigenvalue")
    ax.plot(A, m["lmin_of_mean_kernel"], "s", color="C2", ms=5, mfc="none",
            label="lowest eigenvalue of the mean kernel")
    ax.plot(A, m["eq21"], "-", color="C1", lw=1.6, label="eq. 21")
    ax.set_xlabel(r"training-set size $|\mathcal{A}|$")
    ax.set_ylabel("lowest QNTK eigenvalue")
    ax.set_title(title or f"supervised QNTK, D = {m['D']}")
    ax.legend(fontsize=8, frameon=False)
    return fig
