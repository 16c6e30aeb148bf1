"""``did-agents operator``: create, list and revoke operator API tokens (stored hashed)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from did_agents.cli._issuer import fail, issuer_settings
from did_agents.clock import SystemClock
from did_agents.errors import DIDAgentsError
from did_agents.storage.database import Database
from did_agents.storage.operators import OperatorRepository

__all__ = ["app"]

app = typer.Typer(help="Operator API tokens (roles: admin, auditor).", no_args_is_help=True)

DataDir = Annotated[Path | None, typer.Option("--data-dir")]


def _database(data_dir: Path | None) -> Database:
    return Database.connect(issuer_settings(None, data_dir).resolved_database_url, upgrade=True)


@app.command("create")
def create(
    name: str,
    role: Annotated[str, typer.Option("--role", help="admin or auditor")] = "admin",
    data_dir: DataDir = None,
) -> None:
    """Create an operator and print its token (shown once; only its SHA-256 is stored)."""
    if role not in ("admin", "auditor"):
        typer.secho("error: role must be admin or auditor", err=True, fg=typer.colors.RED)
        raise typer.Exit(code=2)
    chosen: Literal["admin", "auditor"] = "admin" if role == "admin" else "auditor"
    try:
        with _database(data_dir).transaction() as conn:
            operator, token = OperatorRepository(conn).create(name, chosen, now=SystemClock().now())
    except DIDAgentsError as exc:
        raise fail(exc) from exc
    typer.echo(f"operator {operator.name} ({operator.role}) id {operator.id}")
    typer.echo(token)


@app.command("list")
def list_operators(data_dir: DataDir = None) -> None:
    """Operators and whether their token is revoked."""
    with _database(data_dir).read() as conn:
        for operator in OperatorRepository(conn).list_operators():
            state = "revoked" if operator.revoked_at else "active"
            typer.echo(f"{operator.id}  {operator.name:20} {operator.role:8} {state}")


@app.command("revoke")
def revoke(name: str, data_dir: DataDir = None) -> None:
    """Revoke an operator's token (by name or id; idempotent)."""
    try:
        with _database(data_dir).transaction() as conn:
            repo = OperatorRepository(conn)
            match = [o for o in repo.list_operators() if name in (o.name, o.id)]
            if not match:
                typer.secho(f"error: no operator {name!r}", err=True, fg=typer.colors.RED)
                raise typer.Exit(code=2)
            operator = repo.revoke(match[0].id, now=SystemClock().now())
    except DIDAgentsError as exc:
        raise fail(exc) from exc
    typer.echo(f"revoked {operator.name}")
