"""Every command's one-line summary in ``qsntk --help`` is whole.

click cuts a docstring's summary at its first full stop, which in docstrings that cite
the papers ("eq. 7", "Fig. 1 of ...") left lines such as ``Theta, Phi (eq.``; every command
therefore carries its own ``short_help``.
"""

import click
import pytest

from qsntk.cli import cli


def _commands(group, path=()):
    for name in group.list_commands(None):
        cmd = group.get_command(None, name)
        yield path + (name,), cmd
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, path + (name,))


COMMANDS = list(_commands(cli))


def test_every_command_is_listed():
    names = {" ".join(p) for p, _ in COMMANDS}
    assert {"supervised", "reproduce", "status", "qntk kernel", "entanglement page"} <= names


@pytest.mark.parametrize("path,cmd", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_summary_is_whole(path, cmd):
    text = cmd.get_short_help_str(limit=200)
    assert cmd.short_help, f"{' '.join(path)} has no short_help"
    assert text == cmd.short_help and len(text) <= 56, text
    assert text.count("(") == text.count(")"), text
    assert not text.endswith((".", "...")), text
