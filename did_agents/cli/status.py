"""``did-agents status``: the status watermark (SECURITY FLT-14, backup/restore resurrection).

``did-agents status reconcile`` writes the watermark's newer status lists back into a
database restored from a backup taken before later revocations or suspensions, so the
issuer starts again with every one of them still in force.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Connection

from did_agents.audit import AuditEvent, AuditLog
from did_agents.cli._issuer import fail, issuer_settings
from did_agents.clock import SystemClock
from did_agents.errors import DIDAgentsError
from did_agents.issuance.agents import align_suspensions
from did_agents.status.watermark import StatusWatermark, database_states, reconcile
from did_agents.storage.database import Database

__all__ = ["app"]

app = typer.Typer(
    help="Status lists kept outside the database (backup/restore safety).", no_args_is_help=True
)

DataDir = Annotated[Path | None, typer.Option("--data-dir")]


@app.command("reconcile")
def reconcile_command(data_dir: DataDir = None) -> None:
    """Write back into the database every status list the watermark holds in a newer state."""
    settings = issuer_settings(None, data_dir)
    watermark = StatusWatermark(settings.resolved_status_watermark_path)
    clock = SystemClock()
    try:
        recorded = watermark.load()
        if recorded is None:
            typer.echo(f"no status watermark at {watermark.path}: nothing to reconcile")
            return
        database = Database.connect(settings.resolved_database_url, upgrade=True)
        try:

            def work(conn: Connection) -> tuple[dict[str, str], list[str]]:
                done = reconcile(conn, recorded, now=clock.now())
                suspended = align_suspensions(conn, now=clock.now()) if done else []
                if done:
                    AuditLog(conn, clock).append(
                        AuditEvent(
                            type="status.reconciled",
                            decision="info",
                            reason="restored_database",
                            action="status_reconcile",
                            details={"lists": done, "agents_suspended": suspended},
                        )
                    )
                return done, suspended

            done, suspended = database.run(work)
            with database.read() as conn:
                watermark.record(database_states(conn))
        finally:
            database.dispose()
    except DIDAgentsError as exc:
        raise fail(exc) from exc
    if not done:
        typer.echo("the database holds every status list at least as new as the watermark")
        return
    for list_id, what in done.items():
        typer.echo(f"status list {list_id}: {what}")
    for did in suspended:
        typer.echo(f"agent {did}: recorded as suspended again (its suspension bit is set)")
    typer.echo(
        "revocations are in force again; credentials the restored database records as unrevoked"
        " keep that record (verifiers read the bits)"
    )
