"""The finite-width tables of docs/results.md are what `qsntk status --gap` prints from the
records committed in results/finite-width (so neither can change without the other)."""

import json
from pathlib import Path

import pytest

from qsntk.experiments.supervised_status import format_gap_markdown, gap_rows

ROOT = Path(__file__).resolve().parents[2]
_DIR = ROOT / "results" / "finite-width"
RECORDS = sorted(p for p in _DIR.iterdir() if p.is_dir()) if _DIR.is_dir() else []
# quoted in prose, not as a table (the step-size check: same τ at η = 0.3 η_max): the ensemble
# mean train and test losses as the page writes them
PROSE = {"tfim-w300-eta03": {"train": "1.40729e-4", "test": "3.856e-4"}}


@pytest.mark.parametrize("record", RECORDS, ids=[p.name for p in RECORDS])
def test_every_gap_row_is_in_the_results_page(record):
    doc = (ROOT / "docs" / "results.md").read_text()
    cfg = json.loads((record / "config.json").read_text())
    rows = gap_rows(cfg, json.loads((record / "metrics.json").read_text()))
    assert rows
    table = [ln for ln in format_gap_markdown(rows).splitlines()
             if ln.startswith("| ") and not ln.startswith("| target")]
    if record.name in PROSE:
        for r in rows:
            quoted = PROSE[record.name][r["set"]]
            digits = len(quoted.split("e")[0].replace(".", "")) - 1
            assert quoted in doc and float(quoted) == float(f"{r['networks']:.{digits}e}")
        return
    missing = [ln for ln in table if ln not in doc]
    assert not missing, f"rows of `qsntk status --gap results/finite-width/{record.name}` not in docs/results.md: {missing}"
