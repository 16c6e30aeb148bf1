"""Input and output for the ``did-agents`` commands.

Machine output (JSON documents, JWTs, verification results) goes to stdout as
plain text so it can be piped; messages for people go to stderr through rich.
Every failure a command expects is a :class:`CLIError`: ``main`` prints its
message as one line on stderr and exits with its code.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Final

from rich.console import Console

from did_agents import strict_json
from did_agents.errors import DIDAgentsError

__all__ = [
    "EXIT_INVALID",
    "EXIT_OK",
    "EXIT_USAGE",
    "CLIError",
    "err",
    "read_credential_input",
    "read_json_object",
    "read_text",
    "write_json",
    "write_text",
]

EXIT_OK: Final = 0
#: A verification ran and the answer is "not valid", or a command failed.
EXIT_INVALID: Final = 1
#: Bad command line (click's convention).
EXIT_USAGE: Final = 2

#: Messages for people (stderr); never used for machine output.
err = Console(stderr=True, highlight=False, emoji=False, soft_wrap=True)


class CLIError(Exception):
    """A failure reported to the user as one line, with an exit code."""

    def __init__(self, message: str, code: int = EXIT_INVALID) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def read_text(source: str, *, max_bytes: int = strict_json.DEFAULT_MAX_BYTES) -> str:
    """The text of ``source``: a file path, or ``-`` for stdin. Bounded to ``max_bytes``."""
    try:
        if source == "-":
            data = sys.stdin.buffer.read(max_bytes + 1)
        else:
            with Path(source).open("rb") as handle:
                data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise CLIError(f"cannot read {source}: {exc.strerror or exc}") from exc
    if len(data) > max_bytes:
        raise CLIError(f"{_name(source)} is larger than {max_bytes} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CLIError(f"{_name(source)} is not UTF-8 text") from exc


def _name(source: str) -> str:
    return "stdin" if source == "-" else source


def read_credential_input(source: str) -> dict[str, Any] | str:
    """A credential or presentation from ``source``: a JSON object, or a compact JWT."""
    text = read_text(source).strip()
    if not text:
        raise CLIError(f"{_name(source)} is empty")
    if text.startswith("{"):
        try:
            value = strict_json.loads(text)
        except DIDAgentsError as exc:
            raise CLIError(f"{_name(source)}: {exc.description}") from exc
        assert isinstance(value, dict)
        return value
    if text.count(".") == 2 and not any(ch.isspace() for ch in text):
        return text
    raise CLIError(f"{_name(source)} is neither a JSON object nor a compact JWT")


def read_json_object(source: str) -> dict[str, Any]:
    """A JSON object from ``source`` (strictly parsed)."""
    value = read_credential_input(source)
    if not isinstance(value, dict):
        raise CLIError(f"{_name(source)} must hold a JSON object")
    return value


def write_json(value: Any) -> None:
    """Pretty JSON on stdout."""
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def write_text(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
