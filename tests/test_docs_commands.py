"""Every ``qsntk ...`` command line shown in README.md, CONTRIBUTING.md and docs/*.md parses.

Each documented line is parsed by the real command (click's ``make_context``: subcommands,
option names, choices and value types), without running it, so a renamed option or a
changed choice cannot stay in the docs. ``[--opt]`` is read as "with or without ``--opt``";
a path that only has to exist when the command runs is not checked.
"""

import re
import shlex
from pathlib import Path

import click
import pytest

from qsntk.cli import cli
from qsntk.experiments import REGISTRY

ROOT = Path(__file__).resolve().parents[1]


def _lines():
    for path in [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = path.read_text()
        for m in re.finditer(r"^[ \t]*```[a-z]*\n(.*?)^[ \t]*```", text, re.S | re.M):
            first = text.count("\n", 0, m.start()) + 2
            body = re.sub(r"\\\n\s*", " ", m.group(1))            # join continued lines
            for k, line in enumerate(body.splitlines()):
                s = re.sub(r"^\$ ", "", line.strip())
                s = re.sub(r"^(\S*/)?(\.venv/bin/)", "", s)
                s = re.sub(r"^nohup |^nice -n \d+ ", "", s)
                if not s.startswith("qsntk "):
                    continue
                s = re.split(r"\s+#|\s[>|&]", s)[0].strip()     # comments, redirections, pipes
                yield pytest.param(s, id=f"{path.relative_to(ROOT)}:{first + k}:{s[:60]}")


LINES = list(_lines())


def _variants(line):
    """``a [--x] b`` -> ``a b`` and ``a --x b``."""
    opt = re.search(r"\[([^\[\]]+)\]", line)
    if opt is None:
        return [line]
    return _variants(line[:opt.start()] + line[opt.end():]) + _variants(
        line[:opt.start()] + opt.group(1) + line[opt.end():])


def test_the_docs_show_commands():
    assert len(LINES) >= 30
    assert any("reproduce" in p.values[0] for p in LINES)


@pytest.mark.parametrize("line", LINES)
def test_documented_command_parses(line):
    for variant in _variants(line):
        args = shlex.split(variant)[1:]
        cmd = cli
        while isinstance(cmd, click.Group) and args and not args[0].startswith("-"):
            sub = cmd.get_command(None, args[0])
            assert sub is not None, f"{variant}: no command {args[0]!r}"
            cmd, args = sub, args[1:]
        try:
            ctx = cmd.make_context(cmd.name, list(args))
        except click.exceptions.Exit:
            pass
        except click.BadParameter as exc:
            if "does not exist" not in exc.format_message():
                raise AssertionError(f"{variant}: {exc.format_message()}") from None
        except click.ClickException as exc:
            raise AssertionError(f"{variant}: {exc.format_message()}") from None
        else:
            if cmd.name == "reproduce" and ctx.params.get("name"):
                assert ctx.params["name"] in REGISTRY, f"{variant}: no figure {ctx.params['name']!r}"
