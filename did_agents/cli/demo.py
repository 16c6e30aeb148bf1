"""``did-agents demo``: the library end to end, in memory, in about a second.

An organization gives an ordering agent an ``AgentCapabilityCredential``; a
user signs a ``DelegationCredential`` to that agent; the agent presents both
to a verifier's challenge; the verifier checks the presentation and every
credential in it. Then the same presentation is replayed to another verifier
and to a new challenge, and a tampered copy is presented: all three must be
refused. Exit 0 only if every step came out as expected.

(The full service demo — issuer, verifier, token exchange, MCP server —
replaces this later.)
"""

from __future__ import annotations

import asyncio
import copy
import secrets
from datetime import timedelta
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from did_agents import keys
from did_agents.cli.console import EXIT_INVALID, EXIT_OK
from did_agents.clock import Clock, SystemClock
from did_agents.credentials.capability import Capability
from did_agents.credentials.verify import (
    VerificationResult,
    build_presentation,
    issue_credential,
    sign_presentation,
    verify_presentation,
)
from did_agents.credentials.vocabulary import (
    build_capability_credential,
    build_delegation_credential,
    parse_capability_credential,
    parse_delegation_credential,
)
from did_agents.did import key as did_key
from did_agents.did.resolver import DIDResolver
from did_agents.keys import PrivateKey

__all__ = ["command", "run_demo"]

MCP_SERVER = "https://mcp.urbanbites.example/mcp"
VERIFIER = "https://verifier.urbanbites.example"


class _Actor:
    def __init__(self, name: str, key: PrivateKey) -> None:
        self.name = name
        self.key = key
        self.did = did_key.create(key.public_key)
        self.vm = did_key.verification_method_id(self.did)


def _short(did: str | None) -> str:
    if not did:
        return "-"
    return did if len(did) <= 16 else f"{did[:12]}…{did[-3:]}"


def _mark(ok: bool) -> str:
    return "[green]✓[/green]" if ok else "[red]✗[/red]"


def _result_table(result: VerificationResult) -> Table:
    table = Table(title="Credentials in the presentation")
    for column in ("type", "issuer → subject", "format", "ok"):
        table.add_column(column, no_wrap=True)
    for nested in result.credentials:
        document: dict[str, Any] = nested.document or {}
        types = [t for t in document.get("type", []) if t != "VerifiableCredential"]
        subject = document.get("credentialSubject", {})
        table.add_row(
            ", ".join(t.removesuffix("Credential") for t in types) or "Verifiable",
            f"{_short(nested.issuer)} → {_short(subject.get('id') if isinstance(subject, dict) else None)}",
            nested.format or "-",
            _mark(nested.verified) + (f" {', '.join(nested.codes)}" if nested.codes else ""),
        )
    return table


async def run_demo(console: Console, clock: Clock | None = None) -> bool:
    """Run the scenario, print it to ``console``; True if every step behaved as expected."""
    clock = clock or SystemClock()
    now = clock.now()
    org = _Actor("Urban Bites (organization)", keys.generate("ed25519"))
    agent = _Actor("ordering agent", keys.generate("ed25519"))
    user = _Actor("smith (user)", keys.generate("p256"))
    resolver = DIDResolver(clock=clock)

    console.rule("[bold]did-agents demo")
    identities = Table(title="Identities (did:key, generated now)")
    identities.add_column("who")
    identities.add_column("DID", overflow="fold")
    identities.add_column("key")
    for actor in (org, agent, user):
        identities.add_row(actor.name, actor.did, actor.key.key_type.value)
    console.print(identities)

    capability = build_capability_credential(
        issuer=org.did,
        agent=agent.did,
        name="Urban Bites ordering assistant",
        owner="mailto:platform@urbanbites.example",
        agent_kind="delegated",
        capabilities=[Capability(MCP_SERVER, ("orders:read", "orders:create", "menu:read"))],
        delegators=["*"],
        model="demo-model",
        version="1.0.0",
        valid_from=now,
        valid_until=now + timedelta(days=30),
    )
    capability_vc = issue_credential(
        capability, key=org.key, verification_method=org.vm, suite="eddsa-rdfc-2022", clock=clock
    )
    parsed_capability = parse_capability_credential(capability_vc)
    console.print(
        f"1. {org.name} issued an [bold]AgentCapabilityCredential[/bold] to the agent "
        f"(eddsa-rdfc-2022): {', '.join(parsed_capability.capabilities[0].scopes)} at {MCP_SERVER}"
    )

    delegation = build_delegation_credential(
        issuer=user.did,
        agent=agent.did,
        capabilities=[Capability(MCP_SERVER, ("orders:read", "orders:create"))],
        max_depth=0,
        valid_from=now,
        valid_until=now + timedelta(hours=8),
    )
    delegation_vc = issue_credential(delegation, key=user.key, verification_method=user.vm, suite="jose")
    assert isinstance(delegation_vc, str)
    console.print(
        f"2. {user.name} signed a [bold]DelegationCredential[/bold] to the agent (vc+jwt, ES256): "
        f"{', '.join(delegation['credentialSubject']['capabilities'][0]['scopes'])}, "
        f"for 8 hours, no redelegation"
    )

    challenge = secrets.token_urlsafe(16)
    presentation = sign_presentation(
        build_presentation(agent.did, [capability_vc, delegation_vc]),
        key=agent.key,
        verification_method=agent.vm,
        challenge=challenge,
        domain=VERIFIER,
        suite="eddsa-jcs-2022",
        clock=clock,
    )
    console.print(
        f"3. The agent presented both to {VERIFIER} for challenge [cyan]{challenge}[/cyan] "
        "(Data Integrity eddsa-jcs-2022, proof purpose authentication)"
    )

    result = await verify_presentation(
        presentation, resolver=resolver, clock=clock, challenge=challenge, domain=VERIFIER
    )
    console.print(_result_table(result))
    ok = result.verified and len(result.credentials) == 2
    console.print(
        f"4. Verifier: presentation by {_short(result.holder)} {_mark(result.verified)} "
        + (
            "[green]verified[/green]"
            if result.verified
            else f"[red]refused[/red] ({', '.join(result.codes)})"
        )
    )
    if ok:
        assert isinstance(result.credentials[1].document, dict)
        granted = parse_delegation_credential(result.credentials[1].document)
        console.print(
            f"   smith → agent: {', '.join(granted.capabilities[0].scopes)} on {granted.capabilities[0].resource}"
        )

    console.print("5. Attacks the verifier must refuse:")
    assert isinstance(presentation, dict)
    tampered = copy.deepcopy(presentation)
    tampered["holder"] = user.did
    attempts = [
        (
            "replayed to another verifier",
            presentation,
            challenge,
            "https://other-verifier.example",
            "domain_mismatch",
        ),
        (
            "replayed for a new challenge",
            presentation,
            secrets.token_urlsafe(16),
            VERIFIER,
            "challenge_mismatch",
        ),
        ("holder changed after signing", tampered, challenge, VERIFIER, "bad_signature"),
    ]
    for label, vp, nonce, domain, expected in attempts:
        attack = await verify_presentation(vp, resolver=resolver, clock=clock, challenge=nonce, domain=domain)
        refused_as_expected = not attack.verified and expected in attack.codes
        ok = ok and refused_as_expected
        console.print(
            f"   {_mark(refused_as_expected)} {label}: refused ({', '.join(attack.codes) or 'accepted!'})"
        )

    console.rule("[green]all steps behaved as expected" if ok else "[red]demo FAILED")
    return ok


def command() -> None:
    """Run the in-memory demo: identities, credentials, a presentation, verification."""
    ok = asyncio.run(run_demo(Console(highlight=False, emoji=False)))
    raise typer.Exit(EXIT_OK if ok else EXIT_INVALID)
