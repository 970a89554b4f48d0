"""One module per paper figure, built only from the layers below.

Each experiment module exposes::

    NAME: str                 # e.g. "luo2023-fig2"
    TITLE: str                # one line for `qsntk reproduce --list`
    WALL_TIME: dict           # {"full": "2.4 h", "quick": "6 min"}: the expected wall time
                              # on the 2-core development CPU, as recorded in the docs
                              # (shown by `qsntk reproduce --list`; "not recorded" if absent)
    def config(quick: bool) -> dict
    def run(out, *, quick=False, overwrite=False, progress=no_progress) -> dict

``run`` writes a run directory (see :mod:`qsntk.io`) and returns a summary
dict with at least ``"out"`` (the directory) and ``"figures"`` (PNG paths).
"""

from __future__ import annotations

import importlib
import importlib.util

# name -> module; modules are imported only when the experiment is run.
REGISTRY: dict[str, str] = {
    "luo2023-fig1": "qsntk.experiments.luo2023_fig1",
    "luo2023-fig2": "qsntk.experiments.luo2023_fig2",
    "luo2023-fig3": "qsntk.experiments.luo2023_fig3",
    "liu2023-fig1": "qsntk.experiments.liu2023_fig1",
    "liu2023-fig2": "qsntk.experiments.liu2023_fig2",
    "liu2023-fig3": "qsntk.experiments.liu2023_fig3",
}


def wall_time(module, form: str) -> str:
    """The expected wall time of ``module``'s ``form`` (``"full"`` or ``"quick"``), as its
    ``WALL_TIME`` records it; ``"not recorded"`` where it records none."""
    times = getattr(module, "WALL_TIME", None)
    got = times.get(form) if isinstance(times, dict) else None
    return str(got) if got else "not recorded"


def available() -> list[str]:
    """Experiments whose modules are installed."""
    return [n for n, m in REGISTRY.items() if importlib.util.find_spec(m) is not None]


def load(name: str):
    """Import and return the module of experiment ``name``."""
    from qsntk.errors import InputError

    if name not in available():
        raise InputError(f"unknown experiment {name!r}; choose from {', '.join(available())}")
    return importlib.import_module(REGISTRY[name])
