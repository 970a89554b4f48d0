"""Figures of the supervised-learning experiment (Luo–Halverson Figs. 2 and 3)."""

from __future__ import annotations

import numpy as np

from qsntk.experiments.supervised_status import theory_total, total_mse, twin_losses


def _label(target: str) -> str:
    """A file-name-safe label: the preset name or the target file's stem."""
    from pathlib import Path

    name = Path(target).stem if target.endswith(".npz") else target
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)


_COLORS = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown"]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def fig2(run, metrics: dict, *, title: str = "", targets=None) -> list:
    """Loss against epoch on log axes: finite ensembles (mean ± std) against the
    analytic ∞-NNQS curves, with the τ = ∞ test loss dashed. One figure per
    (target, train size), one panel per width; ``targets``: only these (default all)."""
    plt = _plt()
    files = []
    for akey, a in metrics["analytic"].items():
        if targets is not None and a["target"] not in targets:
            continue
        cells = sorted((c for c in metrics["cells"].values() if c["analytic"] == akey),
                       key=lambda c: c["width"])
        if not cells:
            continue
        fig, axes = plt.subplots(1, len(cells), figsize=(4.2 * len(cells), 3.6), squeeze=False,
                                 sharey=True)
        steps = np.asarray(a["steps"], float)
        for ax, c in zip(axes[0], cells):
            x = np.maximum(np.asarray(c["steps"], float), 0.5)
            for part, color in (("train", "tab:blue"), ("test", "tab:red")):
                L = np.asarray(c[part], float)
                if L.size:
                    m, s = L.mean(1), L.std(1)
                    ax.plot(x, m, color=color, lw=1.6,
                            label=f"{part}: ensemble mean ± std (K={L.shape[1]})")
                    # floored at m/10: on log axes a spread larger than the mean (a member
                    # past its own η_max, say) would otherwise stretch the axis to 1e-300
                    ax.fill_between(x, np.maximum(m - s, m / 10), m + s, color=color, alpha=0.25, lw=0)
                if c.get("linearized", {}).get(part) is not None:
                    lin, bad = twin_losses(c, part)
                    if not bad.all():   # the diverging twins are left out, and said so
                        g = np.maximum(steps[: len(lin)], 0.5)
                        note = f", {bad.sum()} of {bad.size} diverge, not shown" if bad.any() else ""
                        ax.plot(g, lin[:, ~bad].mean(1), color=color, ls="--", lw=1.0, alpha=0.8,
                                label=f"linearized twins ({part}{note})")
                tm = c.get("theory_members", {}).get(part)
                if tm is not None:
                    g = np.maximum(steps[: len(tm)], 0.5)
                    ax.plot(g, np.mean(tm, 1), color=color, ls=":", lw=1.2,
                            label=f"∞-NTK from these members' f₀ ({part})")
                if f"{part}_psi" in a:
                    ax.plot(np.maximum(steps, 0.5), a[f"{part}_psi"], color="k",
                            ls="-" if part == "train" else "-.", lw=1.0,
                            label=f"∞-NNQS {part} (eq. 18)")
            if "test_psi_inf" in a:
                ax.axhline(a["test_psi_inf"], color="k", ls="--", lw=1.0, label="test, τ = ∞")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("epoch (full-batch GD steps; epoch 0 drawn at 0.5)")
            ax.set_title(f"width {c['width']}" + ("  (diverged)" if c.get("diverged") else ""))
            ax.grid(alpha=0.3, which="both", lw=0.4)
        axes[0][0].set_ylabel(r"loss $\frac{1}{|S|}\sum|\psi-\psi_T|^2$")
        # one legend, in the last panel (the widest network's; the panels draw the same kinds
        # of curve, and the width is each panel's title)
        axes[0][-1].legend(fontsize=7, loc="upper right", framealpha=0.85)
        fig.suptitle(f"{title or 'QS supervised learning'}: {a['target']}, |B| = {a['n_train']}, "
                     f"η = {metrics['analytic'][akey]['eta']:.3g}")
        fig.tight_layout()
        files.append(run.save_figure(fig, f"fig2_{_label(a['target'])}_n{a['n_train']}"))
        plt.close(fig)
    return files


def fig3(run, metrics: dict, *, title: str = "", targets=None) -> list:
    """Total MSE at the last logged step against train size, one line per width,
    with the NTK prediction at the same time and at τ = ∞; ``targets``: only these.

    A cell enters only when it has reached the last epoch of the analytic grid (a
    cell still training would be compared with the NTK at a later time)."""
    plt = _plt()
    files = []
    names = sorted({a["target"] for a in metrics["analytic"].values()})
    for tname in (t for t in names if targets is None or t in targets):
        akeys = sorted((k for k, a in metrics["analytic"].items() if a["target"] == tname),
                       key=lambda k: metrics["analytic"][k]["n_train"])
        fig, ax = plt.subplots(figsize=(5.2, 3.8))
        widths = sorted({c["width"] for c in metrics["cells"].values() if c["target"] == tname})
        sizes = [metrics["analytic"][k]["n_train"] for k in akeys]
        for i, w in enumerate(widths):
            m, s, xs = [], [], []
            for k in akeys:
                c = metrics["cells"].get(next((n for n, c in metrics["cells"].items()
                                               if c["analytic"] == k and c["width"] == w), ""), None)
                if (c is None or not c["train"] or c.get("diverged")
                        or c["steps"][-1] != metrics["analytic"][k]["steps"][-1]):
                    continue
                v = total_mse(c, metrics["analytic"][k])
                xs.append(metrics["analytic"][k]["n_train"])
                m.append(v.mean())
                s.append(v.std())
            ax.errorbar(xs, m, yerr=s, marker="o", capsize=3, color=_COLORS[i % 6], label=f"width {w}")
        th = [theory_total(metrics["analytic"][k], -1) for k in akeys]
        th_inf = [theory_total(metrics["analytic"][k], None) for k in akeys]
        ax.plot(sizes, th, "k-", marker="s", label="NTK (∞-NNQS), same epoch")
        ax.plot(sizes, th_inf, "k--", label="NTK, τ = ∞")
        ax.set_xlabel("train set size |B|")
        ax.set_ylabel("total MSE over all states")
        ax.set_yscale("log")
        ax.grid(alpha=0.3, which="both", lw=0.4)
        ax.legend(fontsize=8)
        ax.set_title(f"{title or 'QS supervised learning'}: {tname}")
        fig.tight_layout()
        files.append(run.save_figure(fig, f"fig3_{_label(tname)}"))
        plt.close(fig)
    return files


def arrays(metrics: dict) -> dict:
    """Flat arrays for ``arrays.npz``: per cell the member losses, per analytic key the curves."""
    out = {}
    for name, c in metrics["cells"].items():
        out[f"{name}_steps"] = np.asarray(c["steps"], np.int64)
        out[f"{name}_train"] = np.asarray(c["train"], np.float64)
        out[f"{name}_test"] = np.asarray(c["test"], np.float64)
    for k, a in metrics["analytic"].items():
        out[f"{k}_tau"] = np.asarray(a["tau"])
        for part in ("train", "test"):
            for term in ("mu", "gamma", "psi"):
                if f"{part}_{term}" in a:
                    out[f"{k}_{part}_{term}"] = np.asarray(a[f"{part}_{term}"])
    return out
