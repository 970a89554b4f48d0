"""Fig. 3 of Luo–Halverson: total MSE against train size, finite widths against the NTK.

Both quench targets, train sizes 2400, 3200, 4000, widths 300, 1000, 5000,
ensembles of 10 trained for 10⁴ epochs at 0.9 η_max; the NTK prediction at the
same epoch and at τ = ∞. ``--quick``: the TFIM target, widths 100, 300, 1000,
4 members, 300 epochs.
"""

from __future__ import annotations

from qsntk.progress import no_progress

NAME = "luo2023-fig3"
TITLE = "Luo-Halverson Fig. 3: total MSE vs train size for finite widths and the NTK"
# on the 2-core CPU (docs/results.md: 30 059 s = 8.35 h of training over six sessions, plus
# about 1 min of kernels per target and |B|, six of them; --quick about 6 minutes loaded, 141 s
# on the Zen 4 of 2026-12-04)
WALL_TIME = {"full": "8.5 h", "quick": "2.5-6 min"}


def config(quick: bool) -> dict:
    from qsntk.experiments.supervised import make_config

    if quick:
        return make_config(targets=["tfim-quench"], train_sizes=[2400, 3200, 4000],
                           widths=[100, 300, 1000], members=4, steps=300, n_log=25)
    return make_config(targets=["tfim-quench", "hubbard-quench"], train_sizes=[2400, 3200, 4000],
                       widths=[300, 1000, 5000], members=10, steps=10_000)


def run(out, *, quick: bool = False, overwrite: bool = False, progress=no_progress,
        reuse=()) -> dict:
    """Compute, write the run directory ``out`` and return ``{"out", "figures", "metrics", "summary"}``.

    ``reuse``: run directories whose identically-set cells this run starts from."""
    from qsntk.experiments.supervised import run_supervised

    return run_supervised(out, config(quick), overwrite=overwrite, progress=progress, reuse=reuse,
                          figures=("fig2", "fig3"), title="Luo–Halverson Fig. 3 (qsntk)")
