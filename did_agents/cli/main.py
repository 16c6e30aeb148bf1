"""The ``did-agents`` command: one typer app, one module per command group.

Each entry of :data:`COMMANDS` is ``(name, module, attribute)``: the module
``did_agents.cli.<module>`` exposes ``attribute`` (default ``app``, else
``command``), either a ``typer.Typer`` group (mounted as ``did-agents <name> …``)
or a function (mounted as ``did-agents <name>``). Modules that do not exist
(yet) are skipped, so a new command is one new module plus one line here.

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

#: (command name, module under did_agents.cli, attribute or None), in help order.
COMMANDS: Final[tuple[tuple[str, str, str | None], ...]] = (
    ("key", "key", None),
    ("did", "did", None),
    ("vc", "vc", None),
    ("vp", "vp", None),
    ("delegate", "delegate", None),
    ("delegation", "delegate", "delegation_app"),
    ("init", "init", None),
    ("org", "init", "org_app"),
    ("operator", "operator", None),
    ("status", "status", None),
    ("serve", "serve", None),
    ("audit", "audit", None),
    ("demo", "demo", None),
)

app = typer.Typer(
    name="did-agents",
    help="Identities for AI agents: DIDs, verifiable credentials, delegation.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _mount(name: str, module_name: str, attribute: str | None) -> None:
    qualified = f"did_agents.cli.{module_name}"
    try:
        module = importlib.import_module(qualified)
    except ModuleNotFoundError as exc:
        if exc.name == qualified:
            return  # not written yet
        raise
    target = getattr(module, attribute) if attribute else getattr(module, "app", None)
    if isinstance(target, typer.Typer):
        app.add_typer(target, name=name)
        return
    command = target if attribute else getattr(module, "command", None)
    if callable(command):
        app.command(name)(command)


for _entry in COMMANDS:
    _mount(*_entry)


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
