"""MCP kit cost: token verification against raw Ed25519, and tool calls with and without the kit.

Run: ``.venv/bin/python -m bench.bench_mcp``. Targets (issue 5):

* ``AccessTokenVerifier.verify`` with a warm JWKS cache ≤ 1.5 × a raw Ed25519
  verification. The honest number is the FULL verification of a token never seen
  before (strict JWS parse, header checks, signature, claims, ``AccessToken``);
  the verified-token cache hit (an MCP session re-sending its bearer) is reported
  separately.
* end-to-end ``tools/call`` through the kit (bearer verification, guard, audit hook
  into memory) adds ≤ 20 % per call over the same MCP server without authentication.

Method (robust against machine noise): the quantities compared are measured in many
short blocks, interleaved in one process and alternating which goes first, and the
result is the median of the per-block ratios with its interquartile range — a slow
moment hits both sides of a ratio alike instead of one side of a median of medians.
Verification blocks drive the coroutine by hand (a warm cache never suspends), so no
event-loop cost is measured. Tool-call blocks use the official MCP client over
streamable HTTP against two uvicorn servers built the same way (same tools, same
options), one with the kit and one without; both sessions stay open for the run.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import httpx2
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client

from did_agents import jws
from did_agents.clock import SystemClock
from did_agents.keys import PrivateKey, generate
from examples.urban_bites.server import Kitchen, build_app, build_server, tool_scopes
from examples.urban_bites.services import _bind, _serve
from verifier.mcp.app import MCPKit
from verifier.mcp.audit_hook import AuditHook, MemoryAuditSink
from verifier.mcp.token_verifier import AccessTokenVerifier, JWKSCache

ISSUER = "https://verifier.urbanbites.example"
RESOURCE = "https://mcp.urbanbites.example/mcp"


def token(key: PrivateKey, **extra: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": "did:key:z6MkSmith",
        "aud": RESOURCE,
        "scope": "menu:read orders:read",
        "client_id": "did:key:z6MkAgent",
        "act": {"sub": "did:key:z6MkAgent"},
        "iat": now,
        "exp": now + 3600,
        "jti": str(uuid.uuid4()),
        **extra,
    }
    return jws.sign_compact(claims, key, typ="at+jwt", kid="k1")


def spread(ratios: Sequence[float]) -> tuple[float, float, float]:
    """Median and interquartile range (p25, p75) of per-block ratios."""
    q1, median, q3 = statistics.quantiles(ratios, n=4, method="inclusive")
    return median, q1, q3


def _timed(fn: Callable[[], None]) -> float:
    start = time.perf_counter_ns()
    fn()
    return (time.perf_counter_ns() - start) / 1000


def verification(key: PrivateKey, *, blocks: int = 60, per_block: int = 100) -> dict[str, Any]:
    """Per-block µs/op of raw Ed25519, full verification of unseen tokens, and a cache hit."""
    document = {"keys": [{**key.public_key.to_jwk(), "kid": "k1", "use": "sig", "alg": key.alg}]}

    async def fetch(url: str) -> Any:
        return document

    verifier = AccessTokenVerifier(ISSUER, RESOURCE, JWKSCache("https://v.example/jwks", fetch=fetch))
    fresh = [token(key) for _ in range(blocks * per_block + 1)]
    asyncio.run(verifier.verify(fresh.pop()))  # warm the JWKS cache (the only suspension)
    repeated = token(key)
    drive(verifier, repeated)
    raw_inputs = [jws.parse_compact(t) for t in fresh[:per_block]]
    public = key.public_key._impl

    def raw_block() -> None:
        for parsed in raw_inputs:
            public.verify(parsed.signing_input, parsed.signature)

    def hit_block() -> None:
        for _ in range(per_block):
            drive(verifier, repeated)

    rows: dict[str, list[float]] = {"raw": [], "full": [], "hit": []}
    for block in range(blocks):
        batch = fresh[block * per_block : (block + 1) * per_block]

        def full_block(batch: list[str] = batch) -> None:
            for t in batch:
                drive(verifier, t)

        steps = [("raw", raw_block), ("full", full_block), ("hit", hit_block)]
        for name, fn in steps if block % 2 == 0 else reversed(steps):
            rows[name].append(_timed(fn) / per_block)
    return rows


def drive(verifier: AccessTokenVerifier, access: str) -> None:
    # A warm cache never suspends: run the coroutine to completion without an event loop.
    try:
        verifier.verify(access).send(None)
    except StopIteration:
        return
    raise RuntimeError("verify suspended with a warm cache")


async def tool_calls(
    open_url: str, kit_url: str, bearer: str, *, blocks: int, per_block: int
) -> dict[str, Any]:
    """Per-block µs/call through each server, interleaved in one event loop, both sessions open."""
    async with (
        httpx2.AsyncClient(timeout=30) as open_http,
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {bearer}"}, timeout=30) as kit_http,
        Client(streamable_http_client(open_url, http_client=open_http), cache=None) as open_client,
        Client(streamable_http_client(kit_url, http_client=kit_http), cache=None) as kit_client,
    ):
        clients = {"open": open_client, "kit": kit_client}
        for client in clients.values():
            for _ in range(30):
                await client.call_tool("list_menu", {})
        rows: dict[str, list[float]] = {"open": [], "kit": []}
        for block in range(blocks):
            order = ("open", "kit") if block % 2 == 0 else ("kit", "open")
            for name in order:
                client = clients[name]
                start = time.perf_counter_ns()
                for _ in range(per_block):
                    result = await client.call_tool("list_menu", {})
                    assert not result.is_error
                rows[name].append((time.perf_counter_ns() - start) / 1000 / per_block)
        return rows


def main(*, verify_blocks: int = 60, call_blocks: int = 60, per_call_block: int = 20) -> dict[str, Any]:
    key = generate()
    rows = verification(key, blocks=verify_blocks)
    full_ratio = spread([f / r for f, r in zip(rows["full"], rows["raw"], strict=True)])
    hit_ratio = spread([h / r for h, r in zip(rows["hit"], rows["raw"], strict=True)])
    raw = statistics.median(rows["raw"])
    print(f"token verification: {verify_blocks} interleaved blocks of 100; median of per-block ratios [IQR]")
    print(f"  {'raw Ed25519 verify (libsodium)':<44} {raw:7.1f} µs")
    print(
        f"  {'verify, full (token not seen before)':<44} {statistics.median(rows['full']):7.1f} µs"
        f"  {full_ratio[0]:.2f}x raw [{full_ratio[1]:.2f}–{full_ratio[2]:.2f}]  target ≤ 1.5x"
    )
    print(
        f"  {'verify, cache hit (same token again)':<44} {statistics.median(rows['hit']):7.1f} µs"
        f"  {hit_ratio[0]:.2f}x raw [{hit_ratio[1]:.2f}–{hit_ratio[2]:.2f}]"
    )

    document = {"keys": [{**key.public_key.to_jwk(), "kid": "k1", "use": "sig", "alg": key.alg}]}

    async def fetch(url: str) -> Any:
        return document

    audit = MemoryAuditSink()
    kit = MCPKit(
        issuer=ISSUER,
        resource=RESOURCE,
        jwks_url="https://v.example/jwks",
        scopes=tool_scopes(),
        audit=AuditHook(audit),
        clock=SystemClock(),
        fetch=fetch,
    )
    protected, _ = build_app(kit)
    open_app = build_server(None, Kitchen()).streamable_http_app()
    protected_sock, protected_base = _bind()
    open_sock, open_base = _bind()
    with _serve(open_app, open_sock), _serve(protected, protected_sock):
        calls = asyncio.run(
            tool_calls(
                open_base + "/mcp",
                protected_base + "/mcp",
                token(key),
                blocks=call_blocks,
                per_block=per_call_block,
            )
        )
    overhead = spread([(k / o - 1) * 100 for k, o in zip(calls["kit"], calls["open"], strict=True)])
    print(
        f"tools/call over streamable HTTP: {call_blocks} interleaved blocks of {per_call_block};"
        " median of per-block overheads [IQR]"
    )
    print(f"  {'without auth':<44} {statistics.median(calls['open']):7.0f} µs/call")
    print(
        f"  {'through the kit (verify+guard+audit)':<44} {statistics.median(calls['kit']):7.0f} µs/call"
        f"  {overhead[0]:+.1f} % [{overhead[1]:+.1f} – {overhead[2]:+.1f}]  target ≤ +20 %"
    )
    assert len(audit.events) >= call_blocks * per_call_block
    return {"full": full_ratio, "hit": hit_ratio, "overhead": overhead}


if __name__ == "__main__":
    main()
