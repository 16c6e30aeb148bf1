"""``did-agents demo``: the Urban Bites story against real services (default), or ``--offline``.

The default runs ``examples/urban_bites`` (DESIGN §7): it starts, on
127.0.0.1 with a temporary SQLite data directory, the issuer, the verifier,
the Urban Bites MCP server and smith's status list; then plays the story with
real HTTP and the official MCP client, one progress line per step, and prints
the audit trail. ``--keep-running`` leaves the servers up and prints their
URLs. Exit 0 only if every step behaved as described.

``--offline`` is the library-level demo, in memory, in about a second:
an organization gives an ordering agent an ``AgentCapabilityCredential``; a
user signs a ``DelegationCredential`` to that agent; the agent presents both
to a verifier's challenge; the verifier checks the presentation and every
credential in it. Then the same presentation is replayed to another verifier
and to a new challenge, and a tampered copy is presented: all three must be
refused. Exit 0 only if every step came out as expected.

The service demo lives in ``examples/urban_bites`` (a source checkout); it is
imported lazily, so the core package does not depend on the web frameworks.
"""

from __future__ import annotations

import asyncio
import copy
import importlib
import logging
import secrets
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from did_agents import keys
from did_agents.cli.console import EXIT_INVALID, EXIT_OK, CLIError
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

__all__ = ["command", "run_demo", "run_service_demo"]

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


def _load_story() -> tuple[Any, Any]:
    """``examples.urban_bites`` services and scenario (from the source checkout if not importable)."""
    try:
        services = importlib.import_module("examples.urban_bites.services")
    except ModuleNotFoundError:
        root = Path(__file__).resolve().parents[2]
        if not (root / "examples" / "urban_bites").is_dir():
            raise CLIError("the service demo needs a source checkout (examples/urban_bites)") from None
        sys.path.insert(0, str(root))
        services = importlib.import_module("examples.urban_bites.services")
    return services, importlib.import_module("examples.urban_bites.scenario")


def _quiet_logs() -> None:
    # The servers run in this process: keep their request logs out of the story.
    for name in ("httpx", "httpx2", "mcp", "uvicorn", "did_agents", "verifier", "issuer"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _audit_table(story: Any) -> Table:
    table = Table(title="audit trail", show_lines=False)
    for column in ("#", "who", "via agents", "did what", "decision", "why"):
        table.add_column(column, no_wrap=column in ("#", "decision", "why"))
    for record in story.audit:
        event = record.event
        actors = list(event.actors) or (
            [event.client_id] if event.client_id and event.client_id != event.subject else []
        )
        via = " ← ".join(story.name_of(a) for a in actors) or "-"
        what = event.action if event.type == "mcp.tool_call" else "(token exchange)"
        colour = "green" if event.decision == "allowed" else "red"
        table.add_row(
            str(record.seq),
            story.name_of(event.subject),
            via,
            what,
            f"[{colour}]{event.decision}[/{colour}]",
            event.reason or "",
        )
    return table


def run_service_demo(console: Console, *, keep_running: bool = False) -> bool:
    """Start the services, play the story, print it; True if every step behaved as described."""
    services_module, scenario = _load_story()
    _quiet_logs()
    started = time.monotonic()
    console.rule("[bold]did-agents demo: Urban Bites")
    with services_module.start_services() as services:
        for name, url in services.urls.items():
            console.print(f"  {name:<20} {url}")
        console.print(f"  {'MCP resource':<20} {services.resource}")

        def report(step: Any) -> None:
            console.print(f"{_mark(step.ok)} [bold]{step.number}/7[/bold] {step.title}")
            for line in step.lines:
                console.print(f"      {line}")

        story = asyncio.run(scenario.play(services, report))
        ok = len(story.steps) == 7 and all(step.ok for step in story.steps)
        if story.audit:
            console.print(_audit_table(story))
        console.rule(
            f"[green]all steps behaved as expected[/green] ({time.monotonic() - started:.1f} s)"
            if ok
            else "[red]demo FAILED"
        )
        if keep_running:
            console.print("servers keep running (Ctrl-C to stop):")
            for name, url in services.urls.items():
                console.print(f"  {name:<20} {url}")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
    return ok


def command(
    offline: bool = typer.Option(False, "--offline", help="The in-memory library demo (no servers)."),
    keep_running: bool = typer.Option(
        False, "--keep-running", help="Leave the servers up and print their URLs."
    ),
) -> None:
    """Run the Urban Bites demo: issuer, verifier and MCP server on 127.0.0.1, real HTTP, real MCP client."""
    console = Console(highlight=False, emoji=False)
    if offline:
        ok = asyncio.run(run_demo(console))
    else:
        ok = run_service_demo(console, keep_running=keep_running)
    raise typer.Exit(EXIT_OK if ok else EXIT_INVALID)
