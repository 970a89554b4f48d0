"""Fig. 2 of Luo–Halverson: training dynamics of finite NNQS ensembles against the ∞-NNQS.

Both quench targets (TFIM 3×4 and Fermi–Hubbard 3×4), |B| = 2400 uniformly drawn
train states, widths 300, 1000, 5000, ensembles of 10 real–imaginary pairs trained
by full-batch GD at 0.9 η_max for 10⁴ epochs, against the analytic losses of
eqs. 16–18 (dashed: the τ = ∞ test loss). ``--quick``: the TFIM target only,
widths 300, 1000, 3000, 5 members, 1000 epochs (minutes on a laptop).
"""

from __future__ import annotations

from qsntk.progress import no_progress

NAME = "luo2023-fig2"
TITLE = "Luo-Halverson Fig. 2: finite NNQS ensembles vs the infinite-width QS-NTK, loss vs epoch"
# on the loaded 2-core CPU (docs/results.md: 8571 s = 2 h 23 min for the whole command, in two
# sessions; --quick, `make run`: 6 min 20 s loaded, 138 s on the idle Zen 4 of 2026-12-04)
WALL_TIME = {"full": "2.4 h", "quick": "2.5-6.5 min"}


def config(quick: bool) -> dict:
    from qsntk.experiments.supervised import make_config

    if quick:
        return make_config(targets=["tfim-quench"], train_sizes=[2400], widths=[300, 1000, 3000],
                           members=5, steps=1000, n_log=40)
    return make_config(targets=["tfim-quench", "hubbard-quench"], train_sizes=[2400],
                       widths=[300, 1000, 5000], members=10, steps=10_000)


def run(out, *, quick: bool = False, overwrite: bool = False, progress=no_progress,
        reuse=()) -> dict:
    """Compute, write the run directory ``out`` and return ``{"out", "figures", "metrics", "summary"}``.

    ``reuse``: run directories whose identically-set cells this run starts from."""
    from qsntk.experiments.supervised import run_supervised

    return run_supervised(out, config(quick), overwrite=overwrite, progress=progress, reuse=reuse,
                          figures=("fig2",), title="Luo–Halverson Fig. 2 (qsntk)")
