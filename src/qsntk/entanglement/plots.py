"""Figures in the style of Fig. 1 of Luo–Halverson (matplotlib ``Figure`` objects, no pyplot)."""

from __future__ import annotations

import numpy as np

__all__ = ["entanglement_figure", "close"]


def close(fig) -> None:
    """Release a figure."""
    fig.clear()


def _key_parts(key: str):
    w, s = key[1:].split("_sw")
    return int(w), float(s)


def _page_gap_inset(ax, m: dict, keys: list, half: int) -> None:
    """Inset of (a): the half-system S_1 relative to the Page value against width N (± SE),
    the approach to Page that the overlapping markers of the main panel cannot show."""
    from matplotlib.ticker import NullFormatter

    ins = ax.inset_axes([0.75, 0.64, 0.22, 0.3])
    page = float(m["page"][half])
    widths = []
    for i, k in enumerate(keys):
        e, (w, _) = m["ensembles"][k], _key_parts(k)
        widths.append(w)
        ins.errorbar([w], [100 * (e["S1"]["mean"][half] / page - 1)],
                     yerr=[100 * e["S1"]["se"][half] / page], fmt="o", ms=3, capsize=1.5, color=f"C{i}")
    ins.axhline(0.0, color="k", lw=0.8)
    ins.set_xscale("log")
    ins.set_xticks(widths, [str(w) for w in widths])
    ins.xaxis.set_minor_formatter(NullFormatter())
    ins.set_xlim(min(widths) / 1.6, max(widths) * 1.6)
    ins.set_title(f"$S_1$(|A| = {half + 1}) / Page − 1, %", fontsize=7, pad=2)
    ins.set_xlabel("N", fontsize=7, labelpad=0)
    ins.tick_params(labelsize=6, pad=1)


def entanglement_figure(m: dict, grid=None, grid_bound=None, title: str | None = None):
    """(a) S_1 and S_2 against |A| with Page's curve and the exact NNGP S_2 bound (Fig. 1);
    (b) the half-system entropies against σ_w with the bound on a σ_w grid.

    Arguments:
        m: metrics of :func:`qsntk.entanglement.drivers.entanglement_run`.
        grid, grid_bound: σ_w grid ``(g,)`` and the exact bound on it ``(g, n_cuts)``.
    """
    from matplotlib.figure import Figure

    sizes = np.asarray(m["sizes"])
    half = m["half_size"] - 1
    keys = sorted(m["ensembles"], key=_key_parts)
    fig = Figure(figsize=(11.0, 4.3), layout="constrained")
    ax, bx = fig.subplots(1, 2)

    ax.plot(sizes, m["page"], "-", color="k", lw=1.5, label="Page value (Haar), $S_1$")
    ax.plot(sizes, m["haar_s2_annealed"], ":", color="0.4", lw=1.2,
            label=r"Haar $-\log\,\mathbb{E}\,\mathrm{Tr}\rho_A^2$")
    main_sw = max(m["gp"], key=lambda s: float(s)) if not keys else None
    if keys:
        counts = {}
        for k in keys:
            counts.setdefault(_key_parts(k)[1], []).append(k)
        main_sw = f"{max(counts, key=lambda s: (len(counts[s]), s)):g}"
        main_keys = [k for k in keys if _key_parts(k)[1] == float(main_sw)]
        for i, k in enumerate(main_keys):
            e = m["ensembles"][k]
            w, _ = _key_parts(k)
            ax.errorbar(sizes + 0.08 * (i - 1), e["S1"]["mean"], yerr=e["S1"]["std"], fmt="o", ms=4,
                        capsize=2, color=f"C{i}", label=f"$S_1$, N = {w}")
        e = m["ensembles"][main_keys[-1]]
        ax.plot(sizes, e["S2"]["mean"], "s", mfc="none", ms=5, color=f"C{len(main_keys) - 1}",
                label=f"$S_2$, N = {_key_parts(main_keys[-1])[0]}")
        if len(main_keys) > 1:
            _page_gap_inset(ax, m, main_keys, half)
    g = m["gp"].get(main_sw)
    if g is not None:
        ax.plot(sizes, g["bound"], "--", color="C3", lw=1.5,
                label=rf"NNGP bound $-\log\,\mathbb{{E}}\,\mathrm{{Tr}}\rho_A^2$ ($\sigma_w$={main_sw})")
    mc = m["mc"].get(main_sw)
    if mc is not None:
        ax.errorbar(sizes, mc["s2"], yerr=mc["s2_se"], fmt="x", ms=5, color="C3",
                    label=f"GP draws, $S_2$ (MC, {mc['samples']})")
    ax.set_xlabel("subsystem size |A|")
    ax.set_ylabel("entanglement entropy (nats)")
    ax.set_title(f"(a) {m['net']}, {m['n_sites']} spins" + (f", $\\sigma_w$ = {main_sw}" if main_sw else ""))
    ax.legend(fontsize=7, frameon=False, loc="lower center")

    # (b) against sigma_w at |A| = n/2
    if grid is not None and len(grid):
        bx.plot(grid, np.asarray(grid_bound)[:, half], "-", color="C3", lw=1.5,
                label="NNGP $S_2$ bound (exact)")
    for s, mcv in sorted(m["mc"].items(), key=lambda t: float(t[0])):
        bx.errorbar([float(s)], [mcv["s2"][half]], yerr=[mcv["s2_se"][half]], fmt="x", color="C3",
                    label="GP draws $S_2$ (MC)" if s == min(m["mc"], key=float) else None)
    by_w = {}
    for k in keys:
        w, s = _key_parts(k)
        by_w.setdefault(w, []).append((s, m["ensembles"][k]))
    for i, (w, lst) in enumerate(sorted(by_w.items())):
        if len(lst) < 2:
            continue
        lst.sort(key=lambda t: t[0])
        sw = [t[0] for t in lst]
        bx.errorbar(sw, [t[1]["S1"]["mean"][half] for t in lst], yerr=[t[1]["S1"]["std"][half] for t in lst],
                    fmt="o-", ms=4, capsize=2, color="C2", label=f"$S_1$, N = {w}")
        bx.errorbar(sw, [t[1]["S2"]["mean"][half] for t in lst], yerr=[t[1]["S2"]["std"][half] for t in lst],
                    fmt="s--", mfc="none", ms=4, capsize=2, color="C4", label=f"$S_2$, N = {w}")
    bx.axhline(m["page"][half], color="k", lw=1.2, label="Page value")
    bx.axhline(m["haar_s2_annealed"][half], color="0.4", ls=":", lw=1.2, label="Haar Rényi-2 (annealed)")
    bx.set_xscale("log")
    bx.set_xlabel(r"$\sigma_w$")
    bx.set_ylabel(f"entropy at |A| = {m['half_size']}")
    bx.set_title(r"(b) large $\sigma_w$ approaches the Page value")
    bx.legend(fontsize=7, frameon=False, loc="lower right")
    if title:
        fig.suptitle(title)
    return fig
