"""The Luo-Halverson Fig. 1 reproduction at full size: the numbers docs/entanglement.md reports (slow)."""

import json

import numpy as np
import pytest

from qsntk import experiments

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("quick", [True, False], ids=["quick", "full"])
def test_fig1_page_widths_sigma_scan_and_bound(tmp_path, quick):
    s = experiments.load("luo2023-fig1").run(tmp_path / "f1", quick=quick)
    m = json.loads((tmp_path / "f1" / "metrics.json").read_text())
    c = m["checks"]
    assert c["widest_within_2pct_of_page_at_half"]                  # N = 4000, sigma_w = 10
    assert c["S1_half_increases_with_width"]                        # N = 400 < 1000 < 4000 < Page
    assert all(v < 0 for v in c["S1_half_rel_dev_page"].values())
    scan = [v for _, v in sorted(c["scan_S1_half_rel_dev_page"].items(), key=lambda t: float(t[0]))]
    assert np.all(np.diff(scan) > 0) and scan[-1] < c["S1_half_rel_dev_page"]["N4000_sw10"]
    assert c["mc_max_abs_z"] < 4                                    # exact bound vs Monte Carlo
    assert c["bound_le_mc_s2_within_3se"] and c["jensen_gap_min"] >= 0
    assert (tmp_path / "f1" / "entanglement.png").stat().st_size > 20_000 and s["figures"]
