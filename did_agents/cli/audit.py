"""``did-agents audit``: read and verify the hash-chained audit log (DESIGN §8)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from did_agents.audit.event import format_time
from did_agents.cli._issuer import issuer_settings
from did_agents.issuance.audit import list_events, verify_chain
from did_agents.storage.database import Database

__all__ = ["app"]

app = typer.Typer(help="Query (default) or verify the audit log.")

DataDir = Annotated[Path | None, typer.Option("--data-dir")]


def _database(data_dir: Path | None) -> Database:
    return Database.connect(issuer_settings(None, data_dir).resolved_database_url)


@app.callback(invoke_without_command=True)
def query(
    ctx: typer.Context,
    type_prefix: Annotated[str | None, typer.Option("--type", help="e.g. agent. or agent.onboarded")] = None,
    subject: Annotated[str | None, typer.Option("--subject")] = None,
    decision: Annotated[str | None, typer.Option("--decision", help="allowed, denied or info")] = None,
    after: Annotated[int, typer.Option("--after", help="Only events after this sequence number")] = 0,
    limit: Annotated[int, typer.Option("--limit")] = 100,
    data_dir: DataDir = None,
) -> None:
    """Print events as JSON lines, in chain order."""
    if ctx.invoked_subcommand is not None:
        return
    with _database(data_dir).read() as conn:
        records = list_events(
            conn, type_prefix=type_prefix, subject=subject, decision=decision, after_seq=after, limit=limit
        )
    for r in records:
        typer.echo(
            json.dumps(
                {
                    "seq": r.seq,
                    "time": format_time(r.time),
                    "type": r.event.type,
                    "decision": r.event.decision,
                    "reason": r.event.reason,
                    "subject": r.event.subject,
                    "action": r.event.action,
                    "resource": r.event.resource,
                    "details": dict(r.event.details),
                }
            )
        )


@app.command("verify")
def verify(data_dir: DataDir = None) -> None:
    """Recompute every hash; exit 1 if the chain is broken."""
    with _database(data_dir).read() as conn:
        check = verify_chain(conn)
    if check.ok:
        typer.echo(f"ok: {check.events} events, chain intact")
        return
    typer.secho(f"BROKEN at seq {check.broken_at}: {check.problem}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code=1)
