"""The ``did-agents`` command: one typer app, one module per command group.

Each ``did_agents.cli.<name>`` module listed in :data:`COMMANDS` exposes either
``app`` (a ``typer.Typer`` group, mounted as ``did-agents <name> …``) or
``command`` (a function, mounted as ``did-agents <name>``). Modules that do not
exist (yet) are skipped, so a new command is one new module plus its name here.

:func:`main` is the console-script entry point. It runs the app without click's
standalone handling so that every failure becomes exactly one readable line on
stderr, never a traceback: usage errors exit 2, failed commands and invalid
credentials exit 1.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import Final, NoReturn

import typer

from did_agents.cli.console import EXIT_INVALID, EXIT_USAGE, CLIError
from did_agents.errors import DIDAgentsError

__all__ = ["COMMANDS", "app", "main", "run"]

#: Command modules, in help order. Missing optional modules are skipped.
COMMANDS: Final = ("key", "did", "vc", "vp", "delegate", "serve", "demo", "audit")

app = typer.Typer(
    name="did-agents",
    help="Identities for AI agents: DIDs, verifiable credentials, delegation.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _mount(name: str) -> None:
    module_name = f"did_agents.cli.{name}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return  # not written yet
        raise
    group = getattr(module, "app", None)
    if isinstance(group, typer.Typer):
        app.add_typer(group, name=name)
        return
    command = getattr(module, "command", None)
    if callable(command):
        app.command(name)(command)


for _name in COMMANDS:
    _mount(_name)


def _error(message: str) -> None:
    sys.stderr.write(
        f"did-agents: error: {message.strip().splitlines()[0] if message.strip() else 'failed'}\n"
    )


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    command = typer.main.get_command(app)
    try:
        result = command.main(
            args=list(sys.argv[1:] if argv is None else argv), prog_name="did-agents", standalone_mode=False
        )
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        _error("aborted")
        return EXIT_INVALID
    except typer.TyperException as exc:
        # typer's (vendored) click exceptions: usage errors carry exit code 2.
        code = int(getattr(exc, "exit_code", EXIT_INVALID))
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError":
            return EXIT_USAGE  # ``did-agents vc`` alone: click printed the group's help
        format_message = getattr(exc, "format_message", None)
        message = format_message() if callable(format_message) else str(exc)
        if code == EXIT_USAGE and ctx is not None:
            message += f" (see '{ctx.command_path} --help')"
        _error(message)
        return code
    except CLIError as exc:
        _error(exc.message)
        return exc.code
    except DIDAgentsError as exc:
        _error(f"{exc.description} ({exc.reason})")
        return EXIT_INVALID
    except OSError as exc:
        _error(str(exc))
        return EXIT_INVALID
    except Exception as exc:  # never a traceback on a user's terminal
        _error(f"unexpected {type(exc).__name__}: {exc}")
        return EXIT_INVALID
    return result if isinstance(result, int) else 0


def main() -> NoReturn:
    """Console-script entry point (``did-agents``)."""
    sys.exit(run())
