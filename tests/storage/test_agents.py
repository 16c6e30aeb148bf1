"""The agent registry."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from did_agents.errors import ConflictError, NotFoundError, StorageError
from did_agents.storage import Agent, AgentRepository, Database

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
AGENT = Agent(
    id="ordering",
    did="did:key:z6MkOrdering",
    did_method="key",
    kind="delegated",
    name="Ordering assistant",
    owner="did:key:z6MkTeam",
    created_at=NOW,
    updated_at=NOW,
    description="Orders food",
    model="gpt-x",
    version="1.2",
    labels={"team": "food"},
    requested_capabilities=({"resource": "https://mcp.urbanbites.example/mcp", "scopes": ["orders:read"]},),
    delegators=("*",),
)


def test_round_trip(db: Database) -> None:
    with db.transaction() as conn:
        AgentRepository(conn).add(AGENT)
    with db.read() as conn:
        assert AgentRepository(conn).get("ordering") == AGENT
        assert AgentRepository(conn).by_did(AGENT.did) == AGENT


@pytest.mark.parametrize("clash", [{"id": "ordering"}, {"did": AGENT.did}])
def test_id_and_did_are_unique(db: Database, clash: dict[str, str]) -> None:
    other = replace(AGENT, **{"id": "other", "did": "did:key:z6MkOther", **clash})
    with db.transaction() as conn:
        AgentRepository(conn).add(AGENT)
    with pytest.raises(ConflictError) as exc, db.transaction() as conn:
        AgentRepository(conn).add(other)
    assert exc.value.reason == "agent_exists"


def test_status_is_a_closed_set(db: Database) -> None:
    with pytest.raises(ConflictError), db.transaction() as conn:
        AgentRepository(conn).add(replace(AGENT, status="deleted"))  # type: ignore[arg-type]


def test_save_updates_mutable_fields(db: Database) -> None:
    later = NOW + timedelta(hours=1)
    with db.transaction() as conn:
        repo = AgentRepository(conn)
        repo.add(AGENT)
        agent = repo.get("ordering", for_update=True)
        saved = repo.save(replace(agent, name="Renamed", labels={"team": "ops"}), now=later)
    with db.read() as conn:
        stored = AgentRepository(conn).get("ordering")
    assert stored == saved
    assert (stored.name, dict(stored.labels), stored.updated_at, stored.created_at) == (
        "Renamed",
        {"team": "ops"},
        later,
        NOW,
    )


def test_set_status_and_list(db: Database) -> None:
    with db.transaction() as conn:
        repo = AgentRepository(conn)
        repo.add(AGENT)
        repo.add(replace(AGENT, id="pay", did="did:key:z6MkPay"))
        assert repo.set_status("pay", "suspended", now=NOW).status == "suspended"
        assert [a.id for a in repo.list_agents(status="active")] == ["ordering"]
        assert [a.id for a in repo.list_agents()] == ["ordering", "pay"]


def test_unknown_agent(db: Database) -> None:
    with db.transaction() as conn, pytest.raises(NotFoundError) as exc:
        AgentRepository(conn).set_status("nope", "suspended", now=NOW)
    assert exc.value.reason == "agent_not_found"


def test_rejected_value_does_not_leak_into_the_error(db: Database) -> None:
    with pytest.raises((ConflictError, StorageError)) as exc, db.transaction() as conn:
        AgentRepository(conn).add(replace(AGENT, kind="secret-kind-value"))  # type: ignore[arg-type]
    assert "secret-kind-value" not in str(exc.value)


def test_list_filters_by_owner_and_status_in_order(db: Database) -> None:
    mine = [
        replace(AGENT, id=f"a{i}", did=f"did:key:z6MkA{i}", created_at=NOW + timedelta(seconds=i))
        for i in range(3)
    ]
    other = replace(AGENT, id="b", did="did:key:z6MkB", owner="did:key:z6MkOtherTeam")
    suspended = replace(mine[1], status="suspended")
    with db.transaction() as conn:
        repo = AgentRepository(conn)
        for agent in (mine[0], suspended, mine[2], other):
            repo.add(agent)
    with db.read() as conn:
        repo = AgentRepository(conn)
        assert [a.id for a in repo.list_agents(owner=AGENT.owner)] == ["a0", "a1", "a2"]
        assert [a.id for a in repo.list_agents(owner=AGENT.owner, status="active")] == ["a0", "a2"]
        assert [a.id for a in repo.list_agents(owner=AGENT.owner, limit=1, offset=1)] == ["a1"]
        assert [a.id for a in repo.list_agents(owner="did:key:z6MkOtherTeam")] == ["b"]
        assert repo.list_agents(owner="did:key:z6MkNobody") == []
