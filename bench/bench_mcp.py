"""MCP kit cost: token verification against raw Ed25519, and tool calls with and without the kit.

Run: ``.venv/bin/python -m bench.bench_mcp``. Targets (issue 5):

* ``AccessTokenVerifier.verify`` with a warm JWKS cache ≤ 1.5 × a raw Ed25519
  verification, measured in the same run;
* end-to-end ``tools/call`` through the kit (token verification, tool guard,
  audit hook into memory) adds ≤ 20 % per call over the same MCP server without
  authentication. Both servers run on uvicorn (127.0.0.1) and are called
  sequentially with the official MCP client over streamable HTTP, one session each.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx2
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client

from did_agents import jws
from did_agents.clock import SystemClock
from did_agents.keys import generate
from examples.urban_bites.server import Kitchen, build_app, build_server, tool_scopes
from examples.urban_bites.services import _bind, _serve
from verifier.mcp.app import MCPKit
from verifier.mcp.audit_hook import AuditHook, MemoryAuditSink
from verifier.mcp.token_verifier import AccessTokenVerifier, JWKSCache

ISSUER = "https://verifier.urbanbites.example"
RESOURCE = "https://mcp.urbanbites.example/mcp"


def median_us(fn: Callable[[], Any], *, rounds: int = 15, number: int = 300) -> float:
    fn()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter_ns()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter_ns() - start) / number / 1000)
    return statistics.median(samples)


def token(key: Any, **extra: Any) -> str:
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


def verification(key: Any, fetch: Any, *, cache_size: int) -> float:
    """Median µs of ``AccessTokenVerifier.verify`` with a warm JWKS cache (``cache_size=0``:
    every call is a full verification; otherwise repeated tokens hit the verified-token cache)."""
    jwks = JWKSCache("https://v.example/jwks", fetch=fetch)
    verifier = AccessTokenVerifier(ISSUER, RESOURCE, jwks, cache_size=cache_size)
    access = token(key)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(verifier.verify(access))  # warm the JWKS cache
    loop.close()

    def once() -> None:
        # Drive the coroutine by hand: with a warm cache it never suspends (no event-loop cost measured).
        try:
            verifier.verify(access).send(None)
        except StopIteration:
            return
        raise RuntimeError("verify suspended with a warm cache")

    return median_us(once)


async def calls_per_second(url: str, bearer: str | None, calls: int) -> float:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        async with Client(streamable_http_client(url, http_client=http), cache=None) as client:
            for _ in range(20):
                await client.call_tool("list_menu", {})
            start = time.perf_counter()
            for _ in range(calls):
                result = await client.call_tool("list_menu", {})
                assert not result.is_error
            return calls / (time.perf_counter() - start)


def kit_cpu_us(kit: MCPKit, bearer: str) -> float:
    """Median µs the kit adds to one tools/call in-process: bearer verification (the SDK's
    backend), the guard (body read, strict JSON, decision) and the audit event, in front of
    an inner app that answers at once. No network, so machine noise matters less."""
    from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser, BearerAuthBackend
    from starlette.requests import HTTPConnection

    from verifier.mcp.guard import ToolGuard

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        await receive()

    guard = ToolGuard(inner, kit.scopes, kit.resource, audit=kit.audit)
    backend = BearerAuthBackend(kit.token_verifier)
    body = b'{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"list_menu","arguments":{}}}'
    headers = [(b"authorization", f"Bearer {bearer}".encode()), (b"content-type", b"application/json")]

    async def one() -> None:
        scope: dict[str, Any] = {"type": "http", "method": "POST", "path": "/mcp", "headers": headers}
        result = await backend.authenticate(HTTPConnection(scope))
        assert result is not None
        scope["user"] = result[1]
        assert isinstance(scope["user"], AuthenticatedUser)

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: Any) -> None:
            raise AssertionError("the guard refused")

        await guard(scope, receive, send)

    loop = asyncio.new_event_loop()
    try:
        return median_us(lambda: loop.run_until_complete(one()), number=200)
    finally:
        loop.close()


def main() -> None:
    key = generate()
    jwks = {"keys": [{**key.public_key.to_jwk(), "kid": "k1", "use": "sig", "alg": key.alg}]}

    async def fetch(url: str) -> Any:
        return jwks

    message = jws.parse_compact(token(key))
    raws, fulls, cached = [], [], []
    for _ in range(3):  # interleaved, so machine noise hits all three alike
        raws.append(median_us(lambda: key.public_key._impl.verify(message.signing_input, message.signature)))
        fulls.append(verification(key, fetch, cache_size=0))
        cached.append(verification(key, fetch, cache_size=4096))
    raw, full, hit = statistics.median(raws), statistics.median(fulls), statistics.median(cached)
    print(f"{'raw Ed25519 verify (libsodium, same message)':<48} {raw:8.1f} µs")
    print(
        f"{'AccessTokenVerifier.verify, full (warm JWKS)':<48} {full:8.1f} µs  ({full / raw:.2f}x raw; target <= 1.5x)"
    )
    print(f"{'AccessTokenVerifier.verify, repeated token':<48} {hit:8.1f} µs  ({hit / raw:.2f}x raw)")

    audit = MemoryAuditSink()
    kit_obj = MCPKit(
        issuer=ISSUER,
        resource=RESOURCE,
        jwks_url="https://v.example/jwks",
        scopes=tool_scopes(),
        audit=AuditHook(audit),
        clock=SystemClock(),
        fetch=fetch,
    )
    added = kit_cpu_us(kit_obj, token(key))
    audit.events.clear()
    protected, _ = build_app(kit_obj)
    open_server = build_server(None, Kitchen())
    open_app = open_server.streamable_http_app()
    protected_sock, protected_base = _bind()
    open_sock, open_base = _bind()
    calls = 300
    with _serve(protected, protected_sock), _serve(open_app, open_sock):
        rates: dict[str, list[float]] = {"open": [], "kit": []}
        for round_ in range(6):  # interleaved rounds, alternating who goes first; median of each
            order = ["open", "kit"] if round_ % 2 == 0 else ["kit", "open"]
            for name in order:
                if name == "open":
                    rates["open"].append(asyncio.run(calls_per_second(open_base + "/mcp", None, calls)))
                else:
                    rates["kit"].append(
                        asyncio.run(calls_per_second(protected_base + "/mcp", token(key), calls))
                    )
    open_rate, kit_rate = statistics.median(rates["open"]), statistics.median(rates["kit"])
    overhead = (1 / kit_rate - 1 / open_rate) / (1 / open_rate) * 100
    print(f"{'tools/call without auth':<48} {open_rate:8.0f} calls/s ({1e6 / open_rate:.0f} µs/call)")
    print(
        f"{'tools/call through the kit':<48} {kit_rate:8.0f} calls/s ({1e6 / kit_rate:.0f} µs/call;"
        f" +{overhead:.1f} % per call; target ≤ 20 %)"
    )
    print(
        f"{'kit work per call, in-process (verify+guard+audit)':<48} {added:8.1f} µs"
        f"  ({added / (1e6 / open_rate) * 100:.1f} % of an unauthenticated call)"
    )
    assert len(audit.events) >= calls


if __name__ == "__main__":
    main()
