"""The kit on the wire: the Urban Bites MCP server on uvicorn, the official MCP client (streamable HTTP),
tokens minted by the test. SECURITY SEC-55/57/58, FLT-08; MCP authorization spec §Token Handling,
§Runtime Insufficient Scope Errors; RFC 6750 §3.1; RFC 9728."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta
from typing import Any

import httpx2
import pytest
from mcp.shared.exceptions import MCPError

from did_agents import multibase
from did_agents.keys import generate
from examples.urban_bites.server import build_app
from tests.mcp.conftest import (
    ISSUER,
    OTHER_RESOURCE,
    RESOURCE,
    T0,
    Stack,
    claims,
    make_kit,
    mcp_client,
    mint,
    rpc,
)
from tests.servers import run_server
from verifier.mcp.audit_hook import MemoryAuditSink, describe
from verifier.mcp.guard import INSUFFICIENT_SCOPE_CODE

pytestmark = pytest.mark.anyio


def b64(data: bytes) -> str:
    return multibase.b64url_encode(data)


def assert_401(response: httpx2.Response) -> None:
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert 'error="invalid_token"' in challenge
    assert (
        'resource_metadata="https://mcp.urbanbites.example/.well-known/oauth-protected-resource/mcp"'
        in challenge
    )


async def test_granted_tool_call_runs_and_is_audited(stack: Stack) -> None:
    async with mcp_client(stack.url, stack.token()) as client:
        created = await client.call_tool("create_order", {"item": "bibimbap"})
        listed = await client.call_tool("list_orders", {})
    assert (
        created.structured_content is not None and created.structured_content["user"] == "did:key:z6MkSmith"
    )
    assert listed.structured_content == {"result": [created.structured_content]}
    events = stack.audit.events
    assert [(e.action, e.decision, e.reason) for e in events] == [
        ("create_order", "allowed", "scope_granted"),
        ("list_orders", "allowed", "scope_granted"),
    ]
    assert events[0].subject == "did:key:z6MkSmith" and events[0].actors == ("did:key:z6MkOrderingAgent",)
    assert describe(events[0]) == (
        "did:key:z6MkSmith via did:key:z6MkOrderingAgent called tool create_order: allowed (scope_granted)"
    )


async def test_missing_scope_is_403_naming_it_and_the_tool_never_runs(stack: Stack) -> None:
    async with mcp_client(stack.url, stack.token(scope="orders:read")) as client:
        with pytest.raises(MCPError) as info:
            await client.call_tool("delete_order", {"order_id": 1})
    assert info.value.error.code == INSUFFICIENT_SCOPE_CODE
    assert info.value.error.data == {
        "error": "insufficient_scope",
        "scope": "orders:delete",
        "tool": "delete_order",
    }
    assert stack.kitchen.calls["delete_order"] == 0
    response = rpc(
        stack.url,
        stack.token(scope="orders:read"),
        "tools/call",
        {"name": "delete_order", "arguments": {"order_id": 1}},
    )
    assert response.status_code == 403
    assert response.headers["www-authenticate"].startswith(
        'Bearer error="insufficient_scope", scope="orders:delete"'
    )
    assert stack.kitchen.calls["delete_order"] == 0
    assert [(e.decision, e.reason, e.details.get("missing_scopes")) for e in stack.audit.events] == [
        ("denied", "insufficient_scope", ["orders:delete"])
    ] * 2


async def test_a_tools_search_token_cannot_call_another_tool(stack: Stack) -> None:
    response = rpc(
        stack.url, stack.token(scope="tools:search"), "tools/call", {"name": "list_orders", "arguments": {}}
    )
    assert response.status_code == 403
    assert 'scope="orders:read"' in response.headers["www-authenticate"]
    assert sum(stack.kitchen.calls.values()) == 0


async def test_wildcard_scope_covers_at_the_colon_boundary(stack: Stack) -> None:
    async with mcp_client(stack.url, stack.token(scope="orders:*")) as client:
        await client.call_tool("create_order", {"item": "margherita"})
        await client.call_tool("delete_order", {"order_id": 1})
    denied = rpc(
        stack.url, stack.token(scope="ordersx:*"), "tools/call", {"name": "list_orders", "arguments": {}}
    )
    assert denied.status_code == 403


@pytest.mark.parametrize(
    "name",
    [
        "Delete_Order",
        "delete_order ",
        "delete_order\u200b",
        "list_orders/../delete_order",
        "delete_order\r\nX: y",
        "ｄelete_order",
    ],
)
async def test_tool_names_are_matched_exactly(stack: Stack, name: str) -> None:
    response = rpc(
        stack.url,
        stack.token(scope="orders:read"),
        "tools/call",
        {"name": name, "arguments": {"order_id": 1}},
    )
    assert response.status_code == 400
    assert response.json()["error"]["data"] == {"reason": "unknown_tool"}
    assert sum(stack.kitchen.calls.values()) == 0
    assert stack.audit.events[-1].reason == "unknown_tool"


async def test_ambiguous_json_is_refused_before_the_sdk_reads_it(stack: Stack) -> None:
    body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_orders","name":"delete_order","arguments":{"order_id":1}}}'
    response = httpx2.post(
        stack.url,
        content=body.encode(),
        headers={
            "Authorization": f"Bearer {stack.token(scope='orders:read')}",
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
        },
    )
    assert response.status_code == 400
    assert sum(stack.kitchen.calls.values()) == 0


async def test_batch_is_refused_whole_if_one_call_is_denied(stack: Stack) -> None:
    batch = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": "list_orders", "arguments": {}},
        },
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "delete_order", "arguments": {"order_id": 1}},
        },
    ]
    response = httpx2.post(
        stack.url,
        content=json.dumps(batch).encode(),
        headers={
            "Authorization": f"Bearer {stack.token(scope='orders:read')}",
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
        },
    )
    assert response.status_code == 403
    assert sum(stack.kitchen.calls.values()) == 0


async def test_token_for_one_mcp_server_is_refused_by_another(stack: Stack) -> None:
    audit = MemoryAuditSink()
    other_kit = make_kit(stack.kit.jwks_url, stack.clock, audit, resource=OTHER_RESOURCE)
    other_app, other_kitchen = build_app(other_kit)
    with run_server(other_app) as other_base:
        token_for_a = stack.token()
        response = rpc(
            other_base + "/mcp", token_for_a, "tools/call", {"name": "list_orders", "arguments": {}}
        )
        assert response.status_code == 401
        assert 'error="invalid_token"' in response.headers["www-authenticate"]
        async with mcp_client(stack.url, token_for_a) as client:
            assert (await client.call_tool("list_orders", {})).is_error is False
    assert other_kitchen.calls["list_orders"] == 0
    assert [(e.decision, e.reason, e.subject) for e in audit.events] == [("denied", "wrong_audience", None)]


async def test_expired_token_is_401(stack: Stack) -> None:
    token = stack.token()
    stack.clock.advance(timedelta(minutes=10))
    assert_401(rpc(stack.url, token, "tools/call", {"name": "list_menu", "arguments": {}}))


async def test_token_signed_by_an_unknown_key_is_401(stack: Stack) -> None:
    assert_401(rpc(stack.url, mint(generate()), "tools/call", {"name": "list_menu", "arguments": {}}))
    assert_401(
        rpc(stack.url, mint(generate(), kid="nobody"), "tools/call", {"name": "list_menu", "arguments": {}})
    )


async def test_alg_none_is_401(stack: Stack) -> None:
    header = b64(json.dumps({"alg": "none", "typ": "at+jwt", "kid": "k1"}).encode())
    token = f"{header}.{b64(json.dumps(claims(scope='menu:read')).encode())}."
    assert_401(rpc(stack.url, token, "tools/call", {"name": "list_menu", "arguments": {}}))


async def test_hmac_token_keyed_with_our_public_key_is_401(stack: Stack) -> None:
    header = b64(json.dumps({"alg": "HS256", "typ": "at+jwt", "kid": "k1"}).encode())
    unsigned = f"{header}.{b64(json.dumps(claims(scope='menu:read')).encode())}"
    for secret in (stack.key.public_key.raw, json.dumps(stack.jwks.keys[0]).encode()):
        signature = hmac.new(secret, unsigned.encode(), hashlib.sha256).digest()
        assert_401(
            rpc(
                stack.url,
                unsigned + "." + b64(signature),
                "tools/call",
                {"name": "list_menu", "arguments": {}},
            )
        )
    assert stack.kitchen.calls["list_menu"] == 0


async def test_no_token_and_query_string_token_are_401(stack: Stack) -> None:
    assert_401(rpc(stack.url, None, "tools/call", {"name": "list_menu", "arguments": {}}))
    token = stack.token(scope="menu:read")
    assert_401(
        rpc(stack.url + "?access_token=" + token, None, "tools/call", {"name": "list_menu", "arguments": {}})
    )


async def test_jwks_rotation_old_key_works_while_published(stack: Stack) -> None:
    new_key = generate()
    stack.jwks.publish("k2", new_key)
    old = stack.token(scope="menu:read", exp=int(T0.timestamp()) + 3600)
    stack.clock.advance(timedelta(seconds=31))
    now = int(stack.clock.now().timestamp())
    new = mint(new_key, kid="k2", scope="menu:read", iat=now, exp=now + 300)
    for token in (old, new):
        async with mcp_client(stack.url, token) as client:
            assert (await client.call_tool("list_menu", {})).is_error is False
    stack.jwks.withdraw("k1")
    stack.clock.advance(timedelta(minutes=5))
    assert_401(rpc(stack.url, old, "tools/call", {"name": "list_menu", "arguments": {}}))
    now = int(stack.clock.now().timestamp())
    fresh = mint(new_key, kid="k2", scope="menu:read", iat=now, exp=now + 300)
    async with mcp_client(stack.url, fresh) as client:
        assert (await client.call_tool("list_menu", {})).is_error is False


async def test_rfc9728_metadata_names_our_verifier(stack: Stack) -> None:
    response = httpx2.get(stack.base + "/.well-known/oauth-protected-resource/mcp")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    assert document["resource"] == RESOURCE
    assert document["authorization_servers"] == [ISSUER]
    assert document["bearer_methods_supported"] == ["header"]


async def test_tools_list_is_not_filtered(stack: Stack) -> None:
    async with mcp_client(stack.url, stack.token(scope="menu:read")) as client:
        tools = await client.list_tools()
    assert {tool.name for tool in tools.tools} == {"list_menu", "create_order", "list_orders", "delete_order"}
