"""``did-agents did``: resolve DIDs (did:key and did:jwk offline, did:web over guarded HTTPS)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from did_agents.cli.console import CLIError, write_json
from did_agents.did.resolver import DIDResolver
from did_agents.did.web import WebResolver
from did_agents.errors import DIDAgentsError
from did_agents.fetch import GuardedFetcher

__all__ = ["app", "make_resolver"]

app = typer.Typer(help="Resolve DIDs.", no_args_is_help=True)


def make_resolver(fetcher: GuardedFetcher | None = None) -> DIDResolver:
    """The resolver the CLI uses: did:key, did:jwk, and did:web through ``fetcher``."""
    return DIDResolver(methods={"web": WebResolver(fetcher or GuardedFetcher())})


@app.command("resolve")
def resolve(did: Annotated[str, typer.Argument(help="The DID to resolve, e.g. did:key:z6Mk…")]) -> None:
    """Print the DID document of DID as JSON."""

    async def run() -> None:
        document = await make_resolver().resolve(did)
        write_json(document.data)

    try:
        asyncio.run(run())
    except DIDAgentsError as exc:
        raise CLIError(f"cannot resolve {did[:120]}: {exc.description}") from exc
