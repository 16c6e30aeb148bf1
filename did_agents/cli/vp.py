"""``did-agents vp``: sign and verify presentations."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from did_agents.cli.console import (
    EXIT_INVALID,
    EXIT_OK,
    read_credential_input,
    write_json,
)
from did_agents.cli.did import make_resolver
from did_agents.cli.key import load_key
from did_agents.cli.vc import SUITES, check_suite, refused, status_resolver, write_secured
from did_agents.clock import SystemClock
from did_agents.credentials.verify import build_presentation, sign_presentation, verify_presentation
from did_agents.errors import DIDAgentsError
from did_agents.fetch import GuardedFetcher

__all__ = ["app"]

app = typer.Typer(help="Sign and verify verifiable presentations.", no_args_is_help=True)


@app.command("sign")
def sign(
    key_file: Annotated[str, typer.Option("--key", "-k", help="The holder's key file.")],
    challenge: Annotated[str, typer.Option("--challenge", help="The verifier's challenge (nonce).")],
    domain: Annotated[str, typer.Option("--domain", help="The verifier's domain.")],
    sources: Annotated[list[str], typer.Argument(help="Credential files (JSON or JWT).")],
    suite: Annotated[
        str | None,
        typer.Option("--suite", "-s", help=f"One of: {', '.join(SUITES)} (default: the key's RDFC suite)."),
    ] = None,
) -> None:
    """Put credentials in a presentation held by the key's DID and sign it for a verifier."""
    chosen = check_suite(suite) if suite is not None else None
    key = load_key(key_file)
    credentials = [read_credential_input(source) for source in sources]
    try:
        secured = sign_presentation(
            build_presentation(key.did, credentials),
            key=key.key,
            verification_method=key.verification_method,
            challenge=challenge,
            domain=domain,
            suite=chosen,
            clock=SystemClock(),
        )
    except (DIDAgentsError, ValueError) as exc:
        raise refused("sign", exc) from exc
    write_secured(secured)


@app.command("verify")
def verify(
    challenge: Annotated[str, typer.Option("--challenge", help="The challenge the presentation must carry.")],
    domain: Annotated[str, typer.Option("--domain", help="The domain the presentation must carry.")],
    source: Annotated[str, typer.Argument(help="The presentation (JSON or JWT file, or - for stdin).")] = "-",
    check_status: Annotated[
        bool,
        typer.Option("--check-status", help="Fetch status lists and refuse revoked/suspended credentials."),
    ] = False,
) -> None:
    """Verify a presentation and every credential in it; print the result. Exit 0 if valid, 1 if not."""
    if not challenge or not domain:
        raise typer.BadParameter("--challenge and --domain must not be empty")
    presentation = read_credential_input(source)

    async def run() -> bool:
        fetcher = GuardedFetcher()
        result = await verify_presentation(
            presentation,
            resolver=make_resolver(fetcher),
            clock=SystemClock(),
            challenge=challenge,
            domain=domain,
            status_resolver=status_resolver(fetcher) if check_status else None,
        )
        write_json(result.to_json())
        return result.verified

    raise typer.Exit(EXIT_OK if asyncio.run(run()) else EXIT_INVALID)
