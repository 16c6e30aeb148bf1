"""``did-agents serve``: the issuer and the verifier on uvicorn.

:func:`build_asgi_app` is the one place the served application is assembled:
the issuer, with the verifier beside it when a policy file exists
(``verifier.app.with_verifier``), so one process serves both on the embedded
SQLite default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from did_agents.cli._issuer import fail, issuer_settings
from did_agents.errors import DIDAgentsError

__all__ = ["app", "build_asgi_app"]

app = typer.Typer(help="Run the issuer service and, with a policy file, the verifier beside it.")


def build_asgi_app(settings: Any) -> Any:
    """The served ASGI app: the issuer, plus the verifier (same database, key store and clock)
    when a policy file exists (``DID_AGENTS_POLICY_PATH``, default ``<data_dir>/policy.toml``)."""
    from issuer.app import create_app
    from verifier.app import with_verifier

    return with_verifier(create_app(settings))


@app.callback(invoke_without_command=True)
def serve(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    base_url: Annotated[str | None, typer.Option("--base-url")] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir")] = None,
    workers: Annotated[int, typer.Option("--workers", help="uvicorn worker processes")] = 1,
    access_log: Annotated[
        bool,
        typer.Option(
            "--access-log/--no-access-log",
            envvar="DID_AGENTS_ACCESS_LOG",
            help="uvicorn's per-request access log (off by default: every security-relevant "
            "request is in the audit log)",
        ),
    ] = False,
) -> None:
    """Start the service. Refuses to start without an initialized organization and key store."""
    import uvicorn

    settings = issuer_settings(base_url, data_dir)
    try:
        asgi = build_asgi_app(settings)
    except DIDAgentsError as exc:
        raise fail(exc) from exc
    if workers != 1:
        typer.secho("only --workers 1 is supported for now (the app is built in this process)", err=True)
        raise typer.Exit(code=2)
    # The access log is off by default, as in Keycloak (http-access-log-enabled=false): the
    # audit log already records who did what through every mutating and security route, and
    # formatting a line per request costs about a tenth of an onboarding's CPU here.
    uvicorn.run(
        asgi, host=host, port=port, loop="uvloop", http="httptools", log_level="info", access_log=access_log
    )
