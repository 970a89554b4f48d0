"""Every ``python`` code block of README.md and docs/*.md runs as printed.

Each block runs on its own, in a fresh namespace and a temporary working directory, so
a block that needs a name defines it. A block that uses an optional extra (PennyLane,
Qiskit) is skipped, with the reason, when the extra is not installed.
"""

import contextlib
import importlib.util
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXTRAS = ("pennylane", "qiskit")


def _blocks():
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = path.read_text()
        for m in re.finditer(r"^```python\n(.*?)^```", text, re.S | re.M):
            line = text.count("\n", 0, m.start()) + 1
            yield pytest.param(m.group(1), id=f"{path.relative_to(ROOT)}:{line}")


BLOCKS = list(_blocks())


def test_the_docs_have_code():
    ids = [b.id for b in BLOCKS]
    assert len(BLOCKS) >= 7 and any(i.startswith("README.md") for i in ids), ids


@pytest.mark.parametrize("code", BLOCKS)
def test_block_runs(code, tmp_path, monkeypatch):
    missing = [m for m in EXTRAS if re.search(rf"\b{m}\b", code) and importlib.util.find_spec(m) is None]
    if missing:
        extras = ",".join(missing)
        pytest.skip(f"needs the optional extra(s) {extras} (pip install 'qsntk[{extras}]')")
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "<doc block>", "exec"), {"__name__": "__doc_block__"})
    # a printed value quoted in the block (``print(x)  # 0.043``) is what it prints
    quoted = re.findall(r"^print\(.*#\s*([-+]?\d+\.\d+(?:[eE][-+]?\d+)?)", code, re.M)
    printed = [float(v) for v in re.findall(r"[-+]?\d+\.\d+(?:[eE][-+]?\d+)?", out.getvalue())]
    assert len(printed) >= len(quoted), out.getvalue()
    for q, v in zip(quoted, printed):
        half_unit = 0.5 * 10.0 ** Decimal(q).as_tuple().exponent    # of the last quoted digit
        assert abs(v - float(q)) <= 1.0001 * half_unit, f"the docs say {q}, the code prints {v}"
