"""MCP kit harness: a JWKS server we control, tokens we mint, and the Urban Bites MCP server
behind the kit on real uvicorn servers, called with the official MCP client."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx2
import pytest
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client

from did_agents import jws
from did_agents.clock import FixedClock
from did_agents.fetch import FetchSettings
from did_agents.keys import PrivateKey, generate
from examples.urban_bites.server import Kitchen, build_app, tool_scopes
from tests.servers import run_server
from verifier.mcp.app import MCPKit
from verifier.mcp.audit_hook import AuditHook, MemoryAuditSink

ISSUER = "https://verifier.urbanbites.example"
RESOURCE = "https://mcp.urbanbites.example/mcp"
OTHER_RESOURCE = "https://mcp.other.example/mcp"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
USER = "did:key:z6MkSmith"
AGENT = "did:key:z6MkOrderingAgent"
LOOPBACK = FetchSettings(allow=frozenset({"127.0.0.1"}), http_hosts=frozenset({"127.0.0.1"}))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class JWKSApp:
    """Serves ``{"keys": [...]}`` at any path; ``hits`` counts requests."""

    keys: list[dict[str, Any]] = field(default_factory=list)
    hits: int = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        self.hits += 1
        body = json.dumps({"keys": self.keys}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def publish(self, kid: str, key: PrivateKey) -> None:
        self.keys.append({**key.public_key.to_jwk(), "kid": kid, "use": "sig", "alg": key.alg})

    def withdraw(self, kid: str) -> None:
        self.keys = [k for k in self.keys if k["kid"] != kid]


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(T0.timestamp())
    base: dict[str, Any] = {
        "iss": ISSUER,
        "sub": USER,
        "aud": RESOURCE,
        "scope": "orders:read orders:create",
        "client_id": AGENT,
        "act": {"sub": AGENT},
        "iat": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def mint(key: PrivateKey, kid: str = "k1", typ: str | None = "at+jwt", **overrides: Any) -> str:
    return jws.sign_compact(claims(**overrides), key, typ=typ, kid=kid)


@dataclass
class Stack:
    """The JWKS server and one protected Urban Bites server."""

    jwks: JWKSApp
    key: PrivateKey
    url: str  # where the MCP endpoint is served
    base: str
    kit: MCPKit
    kitchen: Kitchen
    audit: MemoryAuditSink
    clock: FixedClock

    def token(self, **overrides: Any) -> str:
        return mint(self.key, **overrides)


def make_kit(jwks_url: str, clock: FixedClock, audit: MemoryAuditSink, resource: str = RESOURCE) -> MCPKit:
    return MCPKit(
        issuer=ISSUER,
        resource=resource,
        jwks_url=jwks_url,
        scopes=tool_scopes(),
        audit=AuditHook(audit),
        clock=clock,
        fetch_settings=LOOPBACK,
    )


@pytest.fixture
def stack() -> Iterator[Stack]:
    key = generate()
    jwks = JWKSApp()
    jwks.publish("k1", key)
    clock = FixedClock(T0)
    audit = MemoryAuditSink()
    with run_server(jwks) as jwks_base:
        kit = make_kit(jwks_base + "/.well-known/jwks.json", clock, audit)
        app, kitchen = build_app(kit)
        with run_server(app) as base:
            yield Stack(jwks, key, base + "/mcp", base, kit, kitchen, audit, clock)


@asynccontextmanager
async def mcp_client(url: str, token: str | None) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with httpx2.AsyncClient(headers=headers, timeout=10) as http:
        async with Client(streamable_http_client(url, http_client=http), cache=None) as client:
            yield client


def rpc(
    url: str, token: str | None, method: str, params: dict[str, Any] | None = None, **extra: Any
) -> httpx2.Response:
    """One raw JSON-RPC POST (no session) — for checks below the MCP client."""
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or {}}
    return httpx2.post(url, headers=headers, content=json.dumps(body).encode(), timeout=10, **extra)
