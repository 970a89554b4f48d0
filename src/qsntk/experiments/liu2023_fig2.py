"""Fig. 2 of Liu et al. (PRL 130, 150601): exponential decay of the residual under gradient descent.

2 qubits, L = 64, learning rate 1e-4, 1000 steps, 50 random initializations of
one random circuit; their mean against the decay rate of eq. 11 and the exact
finite-D rate.
"""

from __future__ import annotations

from qsntk.progress import no_progress

NAME = "liu2023-fig2"
TITLE = "Liu et al. Fig. 2: residual decay eps(t) under gradient descent (2 qubits, L=64)"
# on the shared 2-core CPU, start-up included (docs/qntk.md: 9 s, 1.4 s of it compute; --quick
# 4.9 s at load 2 on 2026-12-04, 0.4 s of it compute; 7.8-10 s in a review run at load 2-3)
WALL_TIME = {"full": "9 s", "quick": "5-10 s"}


def config(quick: bool) -> dict:
    """Settings of the run (``quick``: 10 initializations, 300 steps)."""
    if quick:
        return dict(n_qubits=2, n_layers=64, inits=10, steps=300, eta=1e-4, seed=0, terms=10)
    return dict(n_qubits=2, n_layers=64, inits=50, steps=1000, eta=1e-4, seed=0, terms=10)


def run(out, *, quick: bool = False, overwrite: bool = False, progress=no_progress) -> dict:
    """Compute, write the run directory ``out`` and return ``{"out", "figures", "metrics"}``."""
    from qsntk.circuits.drivers import train

    return train(out, **config(quick), overwrite=overwrite, progress=progress,
                 figure_title="Liu et al. Fig. 2 (qsntk): 2 qubits, L = 64, η = 1e-4")
