"""Per-tool actor policy (SECURITY SEC-58(f)): a tool may name the agents allowed to call it; only the
current actor counts — ``act.sub``, or ``sub`` for an autonomous token — never a nested actor
(RFC 8693 §4.1: prior actors "are informational only and are not to be considered in access control
decisions")."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest
from mcp.shared.exceptions import MCPError

from did_agents.clock import FixedClock
from did_agents.errors import ConfigurationError
from did_agents.keys import generate
from examples.urban_bites.server import TOOL_SCOPES, build_app
from tests.mcp.conftest import LOOPBACK, T0, USER, JWKSApp, Stack, mcp_client, mint, rpc
from tests.servers import run_server
from verifier.mcp.app import MCPKit
from verifier.mcp.audit_hook import AuditHook, MemoryAuditSink
from verifier.mcp.guard import ACCESS_DENIED_CODE, ToolScopes, current_actor

pytestmark = pytest.mark.anyio

ORDERING = "did:key:z6MkOrderingAgent"
PAYMENT = "did:key:z6MkPaymentAgent"
INVENTORY = "did:key:z6MkInventoryAgent"
ISSUER = "https://verifier.urbanbites.example"
RESOURCE = "https://mcp.urbanbites.example/mcp"


def policy() -> ToolScopes:
    scopes = ToolScopes({name: s for name, s in TOOL_SCOPES.items() if name != "delete_order"})
    scopes.declare("delete_order", ["orders:delete"], actors=[ORDERING, INVENTORY])
    return scopes


@pytest.fixture
def guarded() -> Iterator[Stack]:
    key = generate()
    jwks = JWKSApp()
    jwks.publish("k1", key)
    clock = FixedClock(T0)
    audit = MemoryAuditSink()
    with run_server(jwks) as jwks_base:
        kit = MCPKit(
            issuer=ISSUER,
            resource=RESOURCE,
            jwks_url=jwks_base + "/jwks",
            scopes=policy(),
            audit=AuditHook(audit),
            clock=clock,
            fetch_settings=LOOPBACK,
        )
        app, kitchen = build_app(kit)
        with run_server(app) as base:
            yield Stack(jwks, key, base + "/mcp", base, kit, kitchen, audit, clock)


def delete(stack: Stack, token: str) -> httpx2.Response:
    return rpc(stack.url, token, "tools/call", {"name": "delete_order", "arguments": {"order_id": 1}})


def assert_actor_denied(stack: Stack, response: httpx2.Response) -> None:
    assert response.status_code == 403, response.text
    assert "www-authenticate" not in response.headers  # not a scope problem: no step-up challenge
    error = response.json()["error"]
    assert error["code"] == ACCESS_DENIED_CODE
    assert error["data"] == {"error": "access_denied", "reason": "actor_not_allowed", "tool": "delete_order"}
    assert stack.kitchen.calls["delete_order"] == 0
    event = stack.audit.events[-1]
    assert (event.action, event.decision, event.reason) == ("delete_order", "denied", "actor_not_allowed")


def test_current_actor_is_act_sub_or_sub() -> None:
    assert current_actor(USER, {"act": {"sub": PAYMENT, "act": {"sub": ORDERING}}}) == PAYMENT
    assert current_actor(INVENTORY, {}) == INVENTORY
    assert current_actor(USER, {"act": "not-an-object"}) is None


def test_nested_allowed_actor_grants_nothing(guarded: Stack) -> None:
    """SEC-58(f): act={sub: PAYMENT, act: {sub: ORDERING}}, policy allows ORDERING only → 403."""
    token = mint(guarded.key, scope="orders:delete", act={"sub": PAYMENT, "act": {"sub": ORDERING}})
    assert_actor_denied(guarded, delete(guarded, token))
    assert guarded.audit.events[-1].actors == (PAYMENT, ORDERING)  # the chain is still audit data


def test_agent_not_named_is_refused_even_with_the_scope(guarded: Stack) -> None:
    token = mint(guarded.key, scope="orders:delete", act={"sub": PAYMENT}, client_id=PAYMENT)
    assert_actor_denied(guarded, delete(guarded, token))


def test_actor_policy_is_decided_before_scopes(guarded: Stack) -> None:
    """An agent that may never call the tool is not told which scope to request."""
    token = mint(guarded.key, scope="orders:read", act={"sub": PAYMENT})
    assert_actor_denied(guarded, delete(guarded, token))


def test_user_subject_is_not_the_actor(guarded: Stack) -> None:
    """sub is the user when act is present: an allowed DID as sub does not make the agent allowed."""
    token = mint(guarded.key, sub=ORDERING, scope="orders:delete", act={"sub": PAYMENT})
    assert_actor_denied(guarded, delete(guarded, token))


async def test_named_current_actor_is_allowed(guarded: Stack) -> None:
    async with mcp_client(guarded.url, guarded.token(scope="orders:create orders:delete")) as client:
        created = await client.call_tool("create_order", {"item": "falafel wrap"})
        assert created.structured_content is not None
        deleted = await client.call_tool("delete_order", {"order_id": created.structured_content["id"]})
    assert deleted.is_error is False and guarded.kitchen.calls["delete_order"] == 1
    assert guarded.audit.events[-1].reason == "scope_granted"


async def test_autonomous_agent_named_by_sub_is_allowed(guarded: Stack) -> None:
    token = mint(guarded.key, sub=INVENTORY, client_id=INVENTORY, act=None, scope="orders:delete")
    async with mcp_client(guarded.url, token) as client:
        result = await client.call_tool("delete_order", {"order_id": 1})
    assert result.is_error  # through the guard: the tool body ran and found no order 1
    assert guarded.kitchen.calls["delete_order"] == 1
    assert guarded.audit.events[-1].reason == "scope_granted"


async def test_mcp_client_sees_access_denied(guarded: Stack) -> None:
    token = mint(guarded.key, scope="orders:delete", act={"sub": PAYMENT})
    async with mcp_client(guarded.url, token) as client:
        with pytest.raises(MCPError) as info:
            await client.call_tool("delete_order", {"order_id": 1})
    assert info.value.error.code == ACCESS_DENIED_CODE
    assert guarded.kitchen.calls["delete_order"] == 0


def test_actor_declarations_are_checked() -> None:
    scopes = ToolScopes()
    for actors in ("did:key:z6MkA", [], ["not-a-did"]):
        with pytest.raises(ConfigurationError):
            scopes.declare("t", ["a:b"], actors=actors)
    scopes.declare("t", ["a:b"], actors=[ORDERING])
    scopes.declare("t", ["a:b"])  # re-declared without a policy: any agent
    assert scopes.allowed_actors("t") is None
