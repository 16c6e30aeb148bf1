"""SECURITY §H (SEC-55 … SEC-58) and FLT-08 end to end: access tokens minted by the real verifier
(uvicorn, SQLite and PostgreSQL) presented to Urban Bites MCP servers behind the MCP kit (uvicorn),
which fetch the verifier's real JWKS; calls made with the official MCP client or, for header-level
attacks, raw JSON-RPC POSTs. Forged-token variants use ``tests/mcp/conftest.py``'s ``stack``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx2
import pytest

from did_agents.keys import generate
from examples.urban_bites.server import Kitchen, build_app, tool_scopes
from tests.delegation.urban_bites import MCP
from tests.exchange.harness import ISSUER, decode_jwt
from tests.mcp.conftest import LOOPBACK, Stack, mcp_client, mint
from tests.security_oauth.checks import assert_mcp_401, chain, form, refused, remember_secret, rpc
from tests.servers import run_server
from tests.verifier.conftest import Live
from verifier.mcp.app import MCPKit
from verifier.mcp.audit_hook import AuditHook, MemoryAuditSink

pytestmark = pytest.mark.anyio
MCP_B = "https://mcp.payments.example/mcp"


@dataclass
class Servers:
    live: Live
    a_url: str
    a_kitchen: Kitchen
    a_audit: MemoryAuditSink
    b_url: str
    b_kitchen: Kitchen
    b_audit: MemoryAuditSink

    def token(self, scope: str = "orders:read orders:create") -> str:
        response = self.live.post_token(
            form(self.live.subject_token(self.live.w.ordering, chain(self.live)), scope=scope)
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        remember_secret(token)
        return token


def _kit(live: Live, resource: str, audit: MemoryAuditSink) -> MCPKit:
    kit = MCPKit(
        issuer=ISSUER,
        resource=resource,
        jwks_url=live.url + "/.well-known/jwks.json",
        scopes=tool_scopes(),
        audit=AuditHook(audit),
        clock=live.h.clock,
        fetch_settings=LOOPBACK,
    )
    # A JWKS max age shorter than the token lifetime, so FLT-08 can see a removed key refused
    # while the token it signed is otherwise still valid.
    kit.jwks.max_age = timedelta(seconds=60)
    return kit


@pytest.fixture
def servers(live: Live) -> Iterator[Servers]:
    a_audit, b_audit = MemoryAuditSink(), MemoryAuditSink()
    a_app, a_kitchen = build_app(_kit(live, MCP, a_audit))
    b_app, b_kitchen = build_app(_kit(live, MCP_B, b_audit))
    with run_server(a_app) as a, run_server(b_app) as b:
        yield Servers(live, a + "/mcp", a_kitchen, a_audit, b + "/mcp", b_kitchen, b_audit)


def _401_b(response: httpx2.Response) -> None:
    assert response.status_code == 401, response.text
    challenge = response.headers["www-authenticate"]
    assert 'error="invalid_token"' in challenge
    assert (
        'resource_metadata="https://mcp.payments.example/.well-known/oauth-protected-resource/mcp"'
        in challenge
    )


# -- SEC-55 / SEC-56 ----------------------------------------------------------------------------


async def test_sec55_56_token_for_mcp_a_is_refused_by_mcp_b(servers: Servers) -> None:
    """MCP_A forwards the user's token to MCP_B (token passthrough): refused; MCP_A still serves it."""
    token = servers.token()
    _401_b(rpc(servers.b_url, token, params={"name": "list_orders", "arguments": {}}))
    assert servers.b_kitchen.calls["list_orders"] == 0
    assert [(e.decision, e.reason) for e in servers.b_audit.events] == [("denied", "wrong_audience")]
    async with mcp_client(servers.a_url, token) as client:
        assert (await client.call_tool("list_orders", {})).is_error is False


async def test_sec55_audience_variants(stack: Stack) -> None:
    variants: dict[str, Any] = {
        "both-servers": ["https://mcp.urbanbites.example/mcp", MCP_B],
        "case": "https://MCP.urbanbites.example/mcp",
        "trailing-slash": "https://mcp.urbanbites.example/mcp/",
        "no-aud": None,
        "other-server": MCP_B,
    }
    for name, aud in variants.items():
        assert_mcp_401(rpc(stack.url, mint(stack.key, aud=aud, scope="menu:read")), name)
    assert stack.kitchen.calls["list_menu"] == 0


async def test_sec56_foreign_tokens_are_refused(stack: Stack) -> None:
    other_as = generate()
    variants = {
        "github-pat": "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
        "other-as-same-kid": mint(other_as, iss="https://other-as.example", scope="menu:read"),
        "other-as-own-kid": mint(other_as, kid="other", iss="https://other-as.example", scope="menu:read"),
        "our-claims-other-key": mint(other_as, scope="menu:read"),
    }
    for name, token in variants.items():
        assert_mcp_401(rpc(stack.url, token), name)
    assert stack.kitchen.calls["list_menu"] == 0


def test_sec56_an_access_token_cannot_be_exchanged_for_another(live: Live) -> None:
    """An MCP server exchanging a token it received (possibly for a wider scope): the verifier
    exchanges presentations only; an access token as ``subject_token`` is refused."""
    minted = live.post_token(form(live.subject_token(live.w.ordering, chain(live)), scope="orders:read"))
    token = minted.json()["access_token"]
    body = form(
        (token, "urn:ietf:params:oauth:token-type:jwt"), scope="orders:read orders:create orders:delete"
    )
    refused(live, body, reason="challenge_missing")  # an access token has no presentation nonce
    body = form((token, "urn:ietf:params:oauth:token-type:access_token"), scope="orders:read")
    refused(live, body, reason="unsupported_token_type")


# -- SEC-57 -------------------------------------------------------------------------------------


async def test_sec57_denied_tool_through_resources_or_prompts(stack: Stack) -> None:
    """The denied tool cannot be reached through resources/read or prompts/get (the server exposes
    neither; the kit guards tools/call only and says so), and a narrow token's tools/list is not a
    grant: every tool is listed, calls are still refused (tests/mcp/test_wire.py)."""
    token = stack.token(scope="orders:read")
    async with mcp_client(stack.url, token) as client:
        for call in (
            client.read_resource("tool://delete_order?order_id=1"),
            client.get_prompt("delete_order", {"order_id": "1"}),
        ):
            with pytest.raises(Exception) as info:
                await call
            assert "delete_order" in str(info.value) or info.value is not None
    assert stack.kitchen.calls["delete_order"] == 0
    assert [e.decision for e in stack.audit.events] == []  # nothing ran, nothing to authorize


# -- SEC-58 -------------------------------------------------------------------------------------


async def test_sec58_bearer_transport_misuse(stack: Stack) -> None:
    token = stack.token(scope="menu:read")
    # (a) the query string is not a bearer method here (RFC 6750 §2.3 is not supported).
    assert_mcp_401(rpc(stack.url + "?access_token=" + token, None), "query")
    # (c) Basic authentication is not a bearer token.
    assert_mcp_401(rpc(stack.url, None, headers={"Authorization": "Basic ZGlkOnNlY3JldA=="}), "basic")
    # (b) a token in the header and another in a form body: RFC 6750 §2 "MUST NOT use more than one method".
    response = httpx2.post(
        stack.url,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json, text/event-stream",
        },
        content=f"access_token={token}".encode(),
        timeout=10,
    )
    assert response.status_code == 400, response.text
    assert stack.kitchen.calls["list_menu"] == 0


async def test_sec58_time_claims(stack: Stack) -> None:
    now = int(stack.clock.now().timestamp())
    leeway = int(stack.kit.leeway.total_seconds())
    variants = {
        "expired-beyond-leeway": mint(stack.key, scope="menu:read", iat=now - 300, exp=now - leeway - 1),
        "nbf+1h": mint(stack.key, scope="menu:read", nbf=now + 3600),
        "iat+1day": mint(stack.key, scope="menu:read", iat=now + 86400, exp=now + 86400 + 300),
    }
    for name, token in variants.items():
        assert_mcp_401(rpc(stack.url, token), name)
    assert stack.kitchen.calls["list_menu"] == 0


async def test_sec58_token_one_second_after_exp_is_401(stack: Stack) -> None:
    """(d) exactly as the catalog: exp one second in the past (the kit's leeway is not applied to exp)."""
    now = int(stack.clock.now().timestamp())
    assert_mcp_401(rpc(stack.url, mint(stack.key, scope="menu:read", iat=now - 300, exp=now - 1)))


async def test_sec58_nested_actors_are_not_authority(stack: Stack) -> None:
    """(f) Authorization uses sub + scope; the nested act chain is audit data. A token whose
    *nested* actor is privileged gains nothing: the scope decides (no per-actor tool policy exists)."""
    token = mint(
        stack.key,
        scope="orders:read",
        act={"sub": "did:key:z6MkPaymentAgent", "act": {"sub": "did:key:z6MkOrderingAgent"}},
    )
    response = rpc(stack.url, token, params={"name": "delete_order", "arguments": {"order_id": 1}})
    assert response.status_code == 403
    assert stack.kitchen.calls["delete_order"] == 0
    event = stack.audit.events[-1]
    assert event.actors == ("did:key:z6MkPaymentAgent", "did:key:z6MkOrderingAgent")
    assert (event.decision, event.reason) == ("denied", "insufficient_scope")


# -- FLT-08 -------------------------------------------------------------------------------------


async def test_flt08_rotation_with_the_real_verifier_jwks(servers: Servers) -> None:
    live = servers.live
    signer = live.app.state.verifier.exchange.signer
    k1 = signer.active_kid
    before = servers.token()
    async with mcp_client(servers.a_url, before) as client:
        assert (await client.call_tool("list_orders", {})).is_error is False
    k2 = signer.rotate()
    after = servers.token()
    assert decode_jwt(after)[0]["kid"] == k2 != k1
    live.h.clock.advance(timedelta(seconds=31))  # the unknown kid K2 may trigger one refetch
    for token in (before, after):  # K1 still published: both verify
        async with mcp_client(servers.a_url, token) as client:
            assert (await client.call_tool("list_orders", {})).is_error is False
    signer.remove(k1)
    live.h.clock.advance(timedelta(seconds=61))  # past the kit's JWKS max_age: the key set is refetched
    assert decode_jwt(before)[1]["exp"] > int(live.h.clock.now().timestamp())  # not expired
    fresh = servers.token()
    assert_mcp_401_a(rpc(servers.a_url, before, params={"name": "list_orders", "arguments": {}}))
    assert servers.a_audit.events[-1].reason == "unknown_kid", servers.a_audit.events[-1]
    async with mcp_client(servers.a_url, fresh) as client:
        assert (await client.call_tool("list_orders", {})).is_error is False


def assert_mcp_401_a(response: httpx2.Response) -> None:
    assert response.status_code == 401, response.text
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
