"""Decentralized mode: the Urban Bites MCP server verifies the agent's vp+jwt itself (verify_presentation,
verify_chain, its own policy), no verifier service. Real uvicorn server, official MCP client."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from mcp.shared.exceptions import MCPError

from did_agents.agent import AgentIdentity
from examples.urban_bites.server import Kitchen, build_server, tool_scopes
from tests.delegation.urban_bites import MCP, UrbanBites
from tests.mcp.conftest import mcp_client, rpc
from tests.servers import run_server
from verifier.mcp.app import guard_app
from verifier.mcp.audit_hook import AuditHook, MemoryAuditSink
from verifier.mcp.decentralized import PresentationTokenVerifier
from verifier.mcp.guard import INSUFFICIENT_SCOPE_CODE
from verifier.mcp.metadata import auth_settings

pytestmark = pytest.mark.anyio

SUITE = "eddsa-jcs-2022"


@dataclass
class World:
    w: UrbanBites
    url: str
    kitchen: Kitchen
    audit: MemoryAuditSink
    ordering: AgentIdentity
    smith_to_ordering: dict[str, object] | str


@pytest.fixture
def world() -> Iterator[World]:
    w = UrbanBites(SUITE)
    verifier = PresentationTokenVerifier(MCP, w.policy(), w.resolver, w.fetch, clock=w.clock)
    audit = MemoryAuditSink()
    kitchen = Kitchen()
    from mcp.server.mcpserver import MCPServer

    server = MCPServer(
        "urban-bites", token_verifier=verifier, auth=auth_settings("https://unused.example", MCP)
    )
    server = build_server(None, kitchen, server=server)
    app = guard_app(server.streamable_http_app(), tool_scopes(), resource=MCP, audit=AuditHook(audit))
    ordering = AgentIdentity(
        w.ordering.key, clock=w.clock, suite=SUITE, capability_credential=w.ordering_acc()
    )
    delegation = w.smith_to_ordering()
    ordering.accept([w.smith_role(), delegation])
    with run_server(app) as base:
        yield World(w, base + "/mcp", kitchen, audit, ordering, delegation)


async def test_agent_presentation_is_accepted_and_the_act_chain_audited(world: World) -> None:
    bearer = world.ordering.presentation_bearer(MCP)
    async with mcp_client(world.url, bearer) as client:
        created = await client.call_tool("create_order", {"item": "falafel wrap"})
        assert created.structured_content is not None
        assert created.structured_content["user"] == world.w.smith.did
        with pytest.raises(MCPError) as info:
            await client.call_tool("delete_order", {"order_id": 1})
    assert info.value.error.code == INSUFFICIENT_SCOPE_CODE
    assert world.kitchen.calls["delete_order"] == 0
    event = world.audit.events[0]
    assert (event.subject, event.actors, event.action) == (
        world.w.smith.did,
        (world.w.ordering.did,),
        "create_order",
    )


async def test_presentation_for_another_server_is_401(world: World) -> None:
    bearer = world.ordering.presentation_bearer(MCP)
    forged_for_other = AgentIdentity(
        world.ordering.key, clock=world.w.clock, suite=SUITE, capability_credential=world.w.ordering_acc()
    )
    forged_for_other.accept(
        [
            world.w.smith_role(),
            world.w.delegation(
                world.w.smith, world.w.ordering, ["orders:read"], resource="https://mcp.other.example/mcp"
            ),
        ]
    )
    other = forged_for_other.presentation_bearer("https://mcp.other.example/mcp")
    assert rpc(world.url, other, "tools/call", {"name": "list_orders", "arguments": {}}).status_code == 401
    assert (
        rpc(world.url, bearer + "x", "tools/call", {"name": "list_orders", "arguments": {}}).status_code
        == 401
    )


async def test_revoked_delegation_is_401(world: World) -> None:
    world.w.revoked.set(world.w.index_of(world.smith_to_ordering), 1)
    bearer = world.ordering.presentation_bearer(MCP)
    assert rpc(world.url, bearer, "tools/call", {"name": "list_orders", "arguments": {}}).status_code == 401
    assert world.audit.events[-1].reason == "revoked"


async def test_expired_presentation_is_401(world: World) -> None:
    bearer = world.ordering.presentation_bearer(MCP)
    world.w.clock.advance(timedelta(minutes=6))
    assert rpc(world.url, bearer, "tools/call", {"name": "list_orders", "arguments": {}}).status_code == 401
