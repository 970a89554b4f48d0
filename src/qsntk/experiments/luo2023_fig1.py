"""Fig. 1 of Luo–Halverson: entanglement of CosNet NNQS ensembles against Page's value.

S_1 against the subsystem size |A| for CosNet ψ = ψ1 + iψ2 on 12 spins at
N = 400, 1000, 4000 hidden units in the large-σ_w regime (σ_w = 10), with
Page's curve; plus the exact NNGP replica bound on S_2 (eqs. 1–2, Wick's
theorem on the eq. 4 kernel, normalized states), its Monte-Carlo check, and a
σ_w scan at N = 4000 showing how smaller σ_w falls below the Page value.
"""

from __future__ import annotations

from qsntk.progress import no_progress

NAME = "luo2023-fig1"
TITLE = "Luo-Halverson Fig. 1: CosNet entanglement S1(|A|) vs Page, with the NNGP S2 bound (12 spins)"
# on the shared 2-core CPU (docs/entanglement.md: 5-10 min; --quick 55-80 s, 28-38 s on the Zen 4 of 2026-12-04)
WALL_TIME = {"full": "5-10 min", "quick": "30-80 s"}


def config(quick: bool) -> dict:
    """Settings of the run (``quick``: 100 draws per ensemble, a 4-point σ_w scan; ~1 minute)."""
    if quick:
        return dict(net="cosnet", n_sites=12, widths=[400, 1000, 4000], sigma_w=10.0,
                    scan_sigma_ws=[0.5, 1.0, 2.0], scan_width=4000, draws=100, seed=0,
                    mc_samples=500, bound_grid=13)
    return dict(net="cosnet", n_sites=12, widths=[400, 1000, 4000], sigma_w=10.0,
                scan_sigma_ws=[0.5, 1.0, 1.5, 2.0, 3.0, 5.0], scan_width=4000, draws=1000, seed=0,
                mc_samples=4000, bound_grid=25)


def run(out, *, quick: bool = False, overwrite: bool = False, progress=no_progress) -> dict:
    """Compute, write the run directory ``out`` and return ``{"out", "figures", "metrics"}``."""
    from qsntk.entanglement.drivers import entanglement_run

    return entanglement_run(out, **config(quick), overwrite=overwrite, progress=progress,
                            figure_title="Luo-Halverson Fig. 1 (qsntk): CosNet NNQS entanglement, 12 spins")
