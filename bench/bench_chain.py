"""verify_chain cost for 1-4 delegation links per securing format, beside the crypto floor.

Run: ``.venv/bin/python -m bench.bench_chain`` (``--rounds N``). Prints medians
and ratios; no pass/fail.

The chain is user → agent1 → … → agentN, with one AgentCapabilityCredential per
agent (rule 7 needs every agent's ``delegators``), no role credential and no
``credentialStatus`` (status-list fetching is I/O, not chain cost). So
``verify_chain`` checks 2·N signatures: N links + N capability credentials.

The *crypto floor* of one token exchange is (links + 2) raw Ed25519 verifies
(the links, the leaf's capability credential, the presentation proof) plus one
Ed25519 sign (the access token), measured in the same run. Each round times
every case once, back to back; ratios are taken within the round, then the
median over rounds (load changes between rounds, not within one). did:key
documents come from the resolver's cache, as in a running verifier.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from did_agents.clock import FixedClock
from did_agents.credentials.verify import envelope_credential, issue_credential
from did_agents.credentials.vocabulary import (
    ParentCredential,
    build_capability_credential,
    build_delegation_credential,
)
from did_agents.delegation.chain import verify_chain
from did_agents.did import key as did_key
from did_agents.did.resolver import DIDResolver
from did_agents.keys import PrivateKey, generate
from did_agents.policy import Policy, parse_policy

MCP = "https://mcp.bench.example/mcp"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
FORMATS = ("eddsa-jcs-2022", "jose", "eddsa-rdfc-2022")
LINKS = (1, 2, 3, 4)


def _did(key: PrivateKey) -> str:
    return did_key.create(key.public_key)


def _payload(token: str) -> dict[str, Any]:
    import json

    from did_agents import multibase

    data = json.loads(multibase.b64url_decode(token.split(".")[1]))
    assert isinstance(data, dict)
    return data


def build_chain(suite: str, links: int, clock: FixedClock) -> tuple[list[Any], str, Policy]:
    """A valid chain of ``links`` delegations plus one capability credential per agent."""
    org, user = generate(), generate()
    agents = [generate() for _ in range(links)]
    policy = parse_policy(
        f'version = 1\n[[trusted_issuers]]\ndid = "{_did(org)}"\nresources = ["https://mcp.bench.example/"]\n'
        f'[[resources]]\nurl = "{MCP}"\n'
    )

    def sign(unsigned: dict[str, Any], key: PrivateKey) -> Any:
        vm = did_key.verification_method_id(_did(key))
        return issue_credential(unsigned, key=key, verification_method=vm, suite=suite, clock=clock)  # type: ignore[arg-type]

    credentials: list[Any] = []
    issuer, parent = user, None
    for depth, agent in enumerate(agents):
        unsigned = build_delegation_credential(
            issuer=_did(issuer),
            agent=_did(agent),
            capabilities=[{"resource": MCP, "scopes": ["orders:read"]}],
            valid_from=T0,
            valid_until=T0 + timedelta(hours=8 - depth),
            max_depth=links - 1 - depth,
            parent=parent,
        )
        secured = sign(unsigned, issuer)
        document = _payload(secured) if isinstance(secured, str) else secured
        parent = ParentCredential.of(document)
        credentials.append(secured)
        issuer = agent
    for agent in agents:
        unsigned = build_capability_credential(
            issuer=_did(org),
            agent=_did(agent),
            name="bench agent",
            owner="mailto:bench@example.com",
            capabilities=[{"resource": MCP, "scopes": ["orders:read"]}],
            valid_from=T0 - timedelta(days=1),
            valid_until=T0 + timedelta(days=1),
            delegators=["*"],
        )
        credentials.append(sign(unsigned, org))
    entries = [envelope_credential(c) if isinstance(c, str) else c for c in credentials]
    return entries, _did(agents[-1]), policy


def _floor(links: int) -> Callable[[], None]:
    key = generate()
    message = b"x" * 64
    signature = key.sign(message)
    public = key.public_key

    def run() -> None:
        for _ in range(links + 2):
            public.verify(signature, message)
        key.sign(message)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()

    clock = FixedClock(T0 + timedelta(minutes=1))
    resolver = DIDResolver(clock=clock)
    loop = asyncio.new_event_loop()
    cases: list[tuple[str, int, Callable[[], Any]]] = []
    floors = {n: _floor(n) for n in LINKS}
    for suite in FORMATS:
        for n in LINKS:
            entries, holder, policy = build_chain(suite, n, clock)

            def verify(e: list[Any] = entries, h: str = holder, p: Policy = policy) -> Any:
                return loop.run_until_complete(
                    verify_chain(
                        e,
                        holder=h,
                        trust=p,
                        resolver=resolver,
                        clock=clock,
                        status_resolver=None,
                        resource=MCP,
                    )
                )

            result = verify()  # warm the resolver cache; also proves the chain is valid
            assert result.agents[-1] == holder
            cases.append((suite, n, verify))

    timings: dict[tuple[str, int], list[float]] = {(s, n): [] for s, n, _ in cases}
    floor_times: dict[int, list[float]] = {n: [] for n in LINKS}
    ratios: dict[tuple[str, int], list[float]] = {(s, n): [] for s, n, _ in cases}
    for _ in range(args.rounds):
        round_floor: dict[int, float] = {}
        for n in LINKS:
            started = time.perf_counter()
            for _ in range(20):
                floors[n]()
            round_floor[n] = (time.perf_counter() - started) / 20
            floor_times[n].append(round_floor[n])
        for suite, n, verify in cases:
            started = time.perf_counter()
            verify()
            elapsed = time.perf_counter() - started
            timings[(suite, n)].append(elapsed)
            ratios[(suite, n)].append(elapsed / round_floor[n])

    print(
        f"verify_chain medians over {args.rounds} rounds (µs); floor = (links + 2) Ed25519 verifies + 1 sign"
    )
    print(f"{'format':<17}{'links':>6}{'sigs':>6}{'verify_chain':>14}{'floor':>10}{'ratio':>8}")
    for suite, n, _ in cases:
        chain_us = statistics.median(timings[(suite, n)]) * 1e6
        floor_us = statistics.median(floor_times[n]) * 1e6
        ratio = statistics.median(ratios[(suite, n)])
        print(f"{suite:<17}{n:>6}{2 * n:>6}{chain_us:>14.0f}{floor_us:>10.0f}{ratio:>8.1f}")
    loop.close()


if __name__ == "__main__":
    main()
