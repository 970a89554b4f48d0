"""The ``qsntk`` command line: parsing and printing only, no science.

Commands are loaded lazily (``qsntk --help`` imports no science module, flax or NetKet).
Every error caused by the user's input is one line on stderr,
``qsntk: error: …``, with exit status 2; an interrupted run exits 130 and
resumes when the same command is run again.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys

import click

# command name -> "module:attribute"; a command appears once its module exists.
COMMANDS: dict[str, str] = {
    "exact": "qsntk.cli.physics:exact",
    "target": "qsntk.cli.physics:target",
    "kernel": "qsntk.cli.kernel:kernel",
    "supervised": "qsntk.cli.supervised:supervised",
    "entanglement": "qsntk.cli.entanglement:entanglement",
    "qntk": "qsntk.cli.qntk:qntk",
    "vmc": "qsntk.cli.vmc:vmc",
    "reproduce": "qsntk.cli.reproduce:reproduce",
    "status": "qsntk.cli.status:status",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx):
        return [n for n, spec in COMMANDS.items()
                if importlib.util.find_spec(spec.split(":")[0]) is not None]

    def get_command(self, ctx, name):
        spec = COMMANDS.get(name)
        if spec is None or name not in self.list_commands(ctx):
            return None
        module, attr = spec.split(":")
        return getattr(importlib.import_module(module), attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="qsntk")
def cli():
    """Tangent-kernel theory of quantum states: QS-NTK, infinite-width NNQS,
    entanglement of network ensembles, VMC and the QNTK of circuits."""


# commands whose work is parallel over independent networks or circuit samples: one XLA
# CPU device per core (qsntk.hostdevices)
PER_CORE_DEVICES = {"supervised", "reproduce", "qntk"}


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and map errors to one line and exit status 2."""
    from qsntk.hostdevices import expose_host_cores

    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in PER_CORE_DEVICES:
        expose_host_cores()
    # float32 means float32: JAX's default for float32 dots on NVIDIA GPUs is TF32 (10-bit
    # mantissas); a user who wants it sets the variable (XLA:CPU gives the same bits either way)
    if "JAX_DEFAULT_MATMUL_PRECISION" not in os.environ:
        import jax

        jax.config.update("jax_default_matmul_precision", "highest")
    from qsntk.errors import InputError

    try:
        rv = cli.main(args=argv, prog_name="qsntk", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("qsntk: interrupted", err=True)
        sys.exit(130)
    except click.exceptions.NoArgsIsHelpError as exc:    # `qsntk`, `qsntk qntk`: the help
        click.echo(exc.ctx.get_help())
        sys.exit(0)
    except click.ClickException as exc:
        click.echo(f"qsntk: error: {exc.format_message()}", err=True)
        sys.exit(2)
    except InputError as exc:
        click.echo(f"qsntk: error: {exc}", err=True)
        sys.exit(2)
    except OverflowError as exc:
        # a finite input too large for the computation (--tau 1e300, --sigma-w 1e308, ...)
        click.echo(f"qsntk: error: a number given is too large for this computation ({exc})",
                   err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("qsntk: interrupted; run the same command again to resume", err=True)
        sys.exit(130)
    sys.exit(rv if isinstance(rv, int) else 0)
