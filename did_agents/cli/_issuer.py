"""Shared pieces of the issuer CLI commands: settings from the environment plus options."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from did_agents.errors import DIDAgentsError

__all__ = ["fail", "issuer_settings"]


def issuer_settings(base_url: str | None = None, data_dir: Path | None = None) -> Any:
    """``IssuerSettings`` from ``DID_AGENTS_*`` / ``.env``, overridden by CLI options."""
    from issuer.settings import IssuerSettings

    overrides: dict[str, Any] = {}
    if base_url is not None:
        overrides["base_url"] = base_url
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    return IssuerSettings(**overrides)


def fail(exc: DIDAgentsError) -> typer.Exit:
    typer.secho(f"error: {exc.description} ({exc.reason})", err=True, fg=typer.colors.RED)
    return typer.Exit(code=2)
