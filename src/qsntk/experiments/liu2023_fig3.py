"""Fig. 3 of Liu et al. (PRL 130, 150601): lowest supervised-QNTK eigenvalue against |A|.

4 qubits, L = 64, |A| = 2..10 mutually orthogonal inputs, 50 random circuits,
against eq. 21.
"""

from __future__ import annotations

from qsntk.progress import no_progress

NAME = "liu2023-fig3"
TITLE = "Liu et al. Fig. 3: lowest supervised QNTK eigenvalue vs |A| (4 qubits, L=64)"
# on the shared 2-core CPU (docs/qntk.md: 18 s; --quick not recorded there, measured 2026-12-04
# at load 2: 7.1 s with start-up, 4.2 s of it compute; 9.2-12.8 s in a review run at load 2-3)
WALL_TIME = {"full": "18 s", "quick": "7-13 s"}


def config(quick: bool) -> dict:
    """Settings of the run (``quick``: five sizes, 10 circuits)."""
    if quick:
        return dict(n_qubits=4, n_layers=64, sizes=[2, 4, 6, 8, 10], instances=10, seed=0,
                    terms=10, inputs="haar")
    return dict(n_qubits=4, n_layers=64, sizes=list(range(2, 11)), instances=50, seed=0,
                terms=10, inputs="haar")


def run(out, *, quick: bool = False, overwrite: bool = False, progress=no_progress) -> dict:
    """Compute, write the run directory ``out`` and return ``{"out", "figures", "metrics"}``."""
    from qsntk.circuits.drivers import supervised

    return supervised(out, **config(quick), overwrite=overwrite, progress=progress,
                      figure_title="Liu et al. Fig. 3 (qsntk): 4 qubits, L = 64")
