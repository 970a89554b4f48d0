"""Imports run downward only (the layering in README's architecture section).

    base (errors, config, special, progress, hostdevices, native, io)
      -> physics, nets -> kernels -> dynamics, entanglement, circuits, vmc -> experiments -> cli

A package may import its own modules, any base module and any package of a lower
layer; packages on one layer are peers and do not import one another. The graph
is read from the source with :mod:`ast`, so lazy imports inside functions count.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

SRC = pathlib.Path(__file__).resolve().parents[1] / "src" / "qsntk"

BASE = {"qsntk", "errors", "config", "special", "progress", "hostdevices", "native", "io"}
LAYERS = {"physics": 1, "nets": 1, "kernels": 2,
          "dynamics": 3, "entanglement": 3, "circuits": 3, "vmc": 3,
          "experiments": 4, "cli": 5}


def _unit(module: str) -> str:
    """``qsntk.kernels.empirical`` -> ``kernels``; ``qsntk`` -> ``qsntk``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def import_edges(root: pathlib.Path = SRC) -> set[tuple[str, str, str]]:
    """Every ``(file, importing module, imported qsntk module)`` in the source tree."""
    edges = set()
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent).with_suffix("").parts
        module = ".".join(rel[:-1] if rel[-1] == "__init__" else rel)
        package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    origin = ".".join(base + ([node.module] if node.module else []))
                else:
                    origin = node.module or ""
                # `from qsntk import vmc` imports qsntk.vmc: keep the names
                names = [f"{origin}.{a.name}" for a in node.names]
            else:
                continue
            edges.update((str(path.relative_to(root.parent)), module, n)
                         for n in names if n == "qsntk" or n.startswith("qsntk."))
    return edges


def violations(edges) -> list[str]:
    """The edges that import upward or sideways, one line each."""
    bad = []
    for where, src, dst in sorted(edges):
        a, b = _unit(src), _unit(dst)
        if a == b or b in BASE:
            continue
        if a in BASE:
            bad.append(f"{where}: base module {src} imports {dst}")
        elif a not in LAYERS or b not in LAYERS:
            bad.append(f"{where}: {src} -> {dst} (package not in the layer table)")
        elif LAYERS[b] >= LAYERS[a]:
            bad.append(f"{where}: {src} (layer {LAYERS[a]}) imports {dst} (layer {LAYERS[b]})")
    return bad


def test_every_package_is_in_the_layer_table():
    units = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    units |= {p.stem for p in SRC.glob("*.py") if p.stem != "__init__"}
    assert units - set(LAYERS) - BASE == set()


def test_imports_run_downward_only():
    edges = import_edges()
    assert len(edges) > 100                      # the walk really read the tree
    assert violations(edges) == []


@pytest.mark.parametrize("edge, needle", [
    (("x", "qsntk.kernels.empirical", "qsntk.dynamics.linearized"), "layer 2"),
    (("x", "qsntk.circuits.kernel", "qsntk.vmc.driver"), "layer 3"),
    (("x", "qsntk.errors", "qsntk.nets"), "base module"),
    (("x", "qsntk.cli.status", "qsntk.newpkg.mod"), "not in the layer table"),
    (("x", "qsntk.nets.fc", "qsntk.vmc"), "layer 3"),
])
def test_the_checker_catches_upward_and_sideways_imports(edge, needle):
    (line,) = violations({edge})
    assert needle in line


def test_relative_imports_resolve(tmp_path):
    pkg = tmp_path / "qsntk" / "kernels"
    pkg.mkdir(parents=True)
    (tmp_path / "qsntk" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("from . import a\n")
    (pkg / "a.py").write_text("from ..dynamics import b\n")
    edges = import_edges(tmp_path / "qsntk")
    assert ("qsntk/kernels/a.py", "qsntk.kernels.a", "qsntk.dynamics.b") in edges
    assert ("qsntk/kernels/__init__.py", "qsntk.kernels", "qsntk.kernels.a") in edges
