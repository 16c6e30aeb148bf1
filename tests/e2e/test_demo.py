"""The Urban Bites demo end to end: issuer, verifier and MCP server on uvicorn, real HTTP, the official
MCP client. Every step of the story is asserted (examples/urban_bites/scenario.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import pytest

from did_agents.cli.main import run
from examples.urban_bites.scenario import Story, play
from examples.urban_bites.services import Services, start_services


@pytest.fixture(scope="module")
def story() -> Iterator[Story]:
    with start_services() as services:
        yield anyio.run(play, services, None)


def services(story: Story) -> Services:
    return story.services


def test_every_step_behaves(story: Story) -> None:
    assert [(s.number, s.ok) for s in story.steps] == [(n, True) for n in range(1, 8)], [
        s.lines for s in story.steps
    ]


def test_step1_four_agents_onboarded_with_their_own_keys(story: Story) -> None:
    assert set(story.agents) == {"ordering", "hr", "payment", "inventory"}
    assert all(agent.capability_credential is not None for agent in story.agents.values())


def test_step3_ordering_agent_orders_for_smith(story: Story) -> None:
    orders = story.orders["smith"]
    assert [o["item"] for o in orders] == ["bibimbap", "margherita"]
    assert all(o["placed_by"] == story.agents["ordering"].did for o in orders)


def test_step3_hr_agent_delete_refused_and_never_ran(story: Story) -> None:
    assert "orders:delete" in story.refusals["hr_exchange"]
    assert story.refusals["hr"] == "insufficient_scope orders:delete"
    assert story.tokens["hr"]["scope"] == "orders:read"
    assert story.services.kitchen.calls["delete_order"] == 0


def test_step4_payment_token_has_nested_act(story: Story) -> None:
    claims = story.tokens["payment"]
    assert claims["sub"] == story.services.smith.did
    assert claims["act"] == {"sub": story.agents["payment"].did, "act": {"sub": story.agents["ordering"].did}}
    assert claims["aud"] == story.services.resource
    assert claims["scope"] == "orders:read"


def test_step5_inventory_acts_for_itself(story: Story) -> None:
    claims = story.tokens["inventory"]
    assert claims["sub"] == story.agents["inventory"].did and "act" not in claims


def test_step6_revoked_delegation_refuses_the_next_exchange(story: Story) -> None:
    assert "revoked" in story.refusals["ordering"]
    assert "revoked" in story.refusals["payment"]  # its chain hangs from the revoked link


def test_step7_audit_trail_names_user_agents_tool_and_decision(story: Story) -> None:
    assert story.chain_ok
    rows = [
        (
            r.event.type,
            story.name_of(r.event.subject),
            tuple(story.name_of(a) for a in r.event.actors),
            r.event.action,
            r.event.decision,
            r.event.reason,
        )
        for r in story.audit
    ]
    assert ("mcp.tool_call", "smith", ("hr agent",), "delete_order", "denied", "insufficient_scope") in rows
    assert (
        "mcp.tool_call",
        "smith",
        ("payment agent", "ordering agent"),
        "list_orders",
        "allowed",
        "scope_granted",
    ) in rows
    assert ("mcp.tool_call", "inventory agent", (), "list_menu", "allowed", "scope_granted") in rows
    assert sum(1 for row in rows if row[0] == "token_exchange.denied" and row[5] == "revoked") == 2


def test_did_agents_demo_command_exits_zero(capsys: Any) -> None:
    code = run(["demo"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "all steps behaved as expected" in out
    assert "audit trail" in out
