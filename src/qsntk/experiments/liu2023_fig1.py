"""Fig. 1 of Liu et al. (PRL 130, 150601): concentration of the QNTK with depth.

ΔK/K̄ against L on 4 qubits (L up to 40, 1000 angle samples per circuit), inset
K̄ against L, with eq. 9/12 of the paper and the exact finite-D Haar averages.
"""

from __future__ import annotations

from qsntk.progress import no_progress

NAME = "liu2023-fig1"
TITLE = "Liu et al. Fig. 1: QNTK fluctuations dK/K vs depth L (4 qubits)"
# on the shared 2-core CPU, start-up included (docs/qntk.md: 62 s with the native kernel, 91 s
# without; --quick 16-23 s, 37 s with the first build of the native kernel, review run at load 2-3)
WALL_TIME = {"full": "62 s", "quick": "16-40 s"}


def config(quick: bool) -> dict:
    """Settings of the run (``quick``: a few depths and samples, well under a minute)."""
    if quick:
        return dict(n_qubits=4, layers=[1, 2, 4, 8, 16, 40], instances=3, samples=200, seed=0,
                    terms=10, with_mu=True)
    return dict(n_qubits=4, layers=[1, 2, 3, 4, 5, 6, 8, 10, 12, 14, 16, 20, 24, 28, 32, 36, 40],
                instances=10, samples=1000, seed=0, terms=10, with_mu=True)


def run(out, *, quick: bool = False, overwrite: bool = False, progress=no_progress) -> dict:
    """Compute, write the run directory ``out`` and return ``{"out", "figures", "metrics"}``."""
    from qsntk.circuits.drivers import kernel_scan

    return kernel_scan(out, **config(quick), overwrite=overwrite, progress=progress,
                       figure_title="Liu et al. Fig. 1 (qsntk): QNTK concentration, 4 qubits")
