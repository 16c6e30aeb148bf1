"""``did-agents vc``: issue and verify credentials."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Final, get_args

import typer

from did_agents.cli.console import (
    EXIT_INVALID,
    EXIT_OK,
    CLIError,
    read_credential_input,
    read_json_object,
    write_json,
    write_text,
)
from did_agents.cli.did import make_resolver
from did_agents.cli.key import load_key
from did_agents.clock import SystemClock, format_datetime
from did_agents.credentials.verify import (
    IssueSuite,
    StatusResolver,
    default_suite,
    issue_credential,
    verify_credential,
)
from did_agents.errors import DIDAgentsError
from did_agents.fetch import GuardedFetcher

__all__ = ["STATUS_MEDIA_TYPES", "app", "status_resolver"]

app = typer.Typer(help="Issue and verify verifiable credentials.", no_args_is_help=True)

SUITES: Final = get_args(IssueSuite)
#: Media types accepted for a fetched status list credential.
STATUS_MEDIA_TYPES: Final = (
    "application/vc+ld+json",
    "application/vc",
    "application/ld+json",
    "application/json",
)


def check_suite(suite: str) -> IssueSuite:
    if suite not in SUITES:
        raise typer.BadParameter(f"use one of {', '.join(SUITES)}", param_hint="--suite")
    return suite  # type: ignore[return-value]


def status_resolver(fetcher: GuardedFetcher) -> StatusResolver:
    """Fetch status list credentials through the guarded fetcher (HTTPS, public addresses, bounded)."""

    async def fetch(url: str) -> Any:
        return await fetcher.fetch_json(url, accept=STATUS_MEDIA_TYPES)

    return fetch


def refused(action: str, exc: DIDAgentsError | ValueError) -> CLIError:
    """``cannot <action>: ...``: a library error's description and reason code, or a ValueError's text."""
    detail = f"{exc.description} ({exc.reason})" if isinstance(exc, DIDAgentsError) else str(exc)
    return CLIError(f"cannot {action}: {detail}")


def write_secured(secured: dict[str, Any] | str) -> None:
    """Print a secured credential or presentation: a compact JWT as text, anything else as JSON."""
    if isinstance(secured, str):
        write_text(secured)
    else:
        write_json(secured)


@app.command("issue")
def issue(
    key_file: Annotated[str, typer.Option("--key", "-k", help="The issuer's key file.")],
    suite: Annotated[
        str | None,
        typer.Option("--suite", "-s", help=f"One of: {', '.join(SUITES)} (default: the key's RDFC suite)."),
    ] = None,
    source: Annotated[str, typer.Argument(help="The unsigned credential (JSON file, or - for stdin).")] = "-",
    verification_method: Annotated[
        str | None,
        typer.Option("--verification-method", help="DID URL of the key, if the issuer is not its did:key."),
    ] = None,
) -> None:
    """Sign a credential; print it (JSON) or its compact JWT (--suite jose).

    ``issuer`` defaults to the key's did:key and ``validFrom`` to now.
    """
    key = load_key(key_file)
    chosen = check_suite(suite) if suite is not None else default_suite(key.key)
    credential = read_json_object(source)
    clock = SystemClock()
    credential.setdefault("issuer", key.did)
    credential.setdefault("validFrom", format_datetime(clock.now()))
    try:
        secured = issue_credential(
            credential,
            key=key.key,
            verification_method=verification_method or key.verification_method,
            suite=chosen,
            clock=clock,
        )
    except (DIDAgentsError, ValueError) as exc:
        raise refused("issue", exc) from exc
    write_secured(secured)


@app.command("verify")
def verify(
    source: Annotated[str, typer.Argument(help="The credential (JSON or JWT file, or - for stdin).")] = "-",
    check_status: Annotated[
        bool,
        typer.Option("--check-status", help="Fetch status lists and refuse revoked/suspended credentials."),
    ] = False,
) -> None:
    """Verify a credential; print the result as JSON. Exit 0 if valid, 1 if not."""
    credential = read_credential_input(source)

    async def run() -> bool:
        fetcher = GuardedFetcher()
        result = await verify_credential(
            credential,
            resolver=make_resolver(fetcher),
            clock=SystemClock(),
            status_resolver=status_resolver(fetcher) if check_status else None,
        )
        write_json(result.to_json())
        return result.verified

    raise typer.Exit(EXIT_OK if asyncio.run(run()) else EXIT_INVALID)
