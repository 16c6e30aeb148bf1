"""The agent registry (DESIGN §3, §6 issuer endpoints).

Statements are built once and run with parameter dicts (:mod:`did_agents.storage.prepared`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final, Literal

from sqlalchemy import Connection, Row, bindparam, select, update

from did_agents.errors import ConflictError, NotFoundError
from did_agents.storage.prepared import execute_direct, ignoring_conflicts
from did_agents.storage.schema import agents

__all__ = ["Agent", "AgentKind", "AgentRepository", "AgentStatus"]

AgentKind = Literal["delegated", "autonomous"]
AgentStatus = Literal["active", "suspended", "offboarded"]

_c = agents.c
_FIND: Final = select(agents).where(_c.id == bindparam("b_id"))
_FIND_FOR_UPDATE: Final = _FIND.with_for_update()
_BY_DID: Final = select(agents).where(_c.did == bindparam("b_did"))
# SET columns come from the parameter dict's other keys.
_SAVE: Final = update(agents).where(_c.id == bindparam("b_id"))


@dataclass(frozen=True)
class Agent:
    id: str
    did: str
    did_method: str
    kind: AgentKind
    name: str
    owner: str
    created_at: datetime
    updated_at: datetime
    description: str = ""
    model: str | None = None
    version: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    requested_capabilities: Sequence[Mapping[str, Any]] = ()
    delegators: Sequence[str] = ()
    status: AgentStatus = "active"
    public_jwk: Mapping[str, Any] | None = None


def _values(agent: Agent) -> dict[str, Any]:
    return {
        "id": agent.id,
        "did": agent.did,
        "did_method": agent.did_method,
        "kind": agent.kind,
        "name": agent.name,
        "description": agent.description,
        "owner": agent.owner,
        "model": agent.model,
        "version": agent.version,
        "labels": dict(agent.labels),
        "requested_capabilities": [dict(c) for c in agent.requested_capabilities],
        "delegators": list(agent.delegators),
        "status": agent.status,
        "public_jwk": None if agent.public_jwk is None else dict(agent.public_jwk),
        "created_at": agent.created_at,
        "updated_at": agent.updated_at,
    }


def _agent(row: Row[Any]) -> Agent:
    m = row._mapping
    return Agent(
        id=m["id"],
        did=m["did"],
        did_method=m["did_method"],
        kind=m["kind"],
        name=m["name"],
        owner=m["owner"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        description=m["description"],
        model=m["model"],
        version=m["version"],
        labels=m["labels"],
        requested_capabilities=tuple(m["requested_capabilities"]),
        delegators=tuple(m["delegators"]),
        status=m["status"],
        public_jwk=m["public_jwk"],
    )


class AgentRepository:
    """Agents by id and DID. ``did`` is unique: one registry entry per identity."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, agent: Agent) -> Agent:
        """Insert ``agent``; :class:`ConflictError` (``agent_exists``) if its id or DID is taken."""
        inserted = execute_direct(self._conn, ignoring_conflicts(self._conn, agents), _values(agent))
        if inserted.rowcount != 1:
            raise ConflictError("an agent with this id or DID already exists", reason="agent_exists")
        return agent

    def find(self, agent_id: str, *, for_update: bool = False) -> Agent | None:
        row = self._conn.execute(_FIND_FOR_UPDATE if for_update else _FIND, {"b_id": agent_id}).first()
        return None if row is None else _agent(row)

    def get(self, agent_id: str, *, for_update: bool = False) -> Agent:
        """The agent, locked against concurrent changes if ``for_update`` (PostgreSQL)."""
        agent = self.find(agent_id, for_update=for_update)
        if agent is None:
            raise NotFoundError("no such agent", reason="agent_not_found")
        return agent

    def by_did(self, did: str) -> Agent | None:
        row = self._conn.execute(_BY_DID, {"b_did": did}).first()
        return None if row is None else _agent(row)

    def list_agents(
        self,
        *,
        status: AgentStatus | None = None,
        owner: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Agent]:
        query = select(agents).order_by(agents.c.created_at, agents.c.id).limit(limit).offset(offset)
        if status is not None:
            query = query.where(agents.c.status == status)
        if owner is not None:
            query = query.where(agents.c.owner == owner)
        return [_agent(row) for row in self._conn.execute(query)]

    def save(self, agent: Agent, *, now: datetime) -> Agent:
        """Write back every mutable field of ``agent`` (read it with ``for_update``)."""
        saved = replace(agent, updated_at=now)
        values = _values(saved)
        for immutable in ("id", "did", "did_method", "created_at"):
            del values[immutable]
        result = self._conn.execute(_SAVE, {**values, "b_id": agent.id})
        if result.rowcount != 1:
            raise NotFoundError("no such agent", reason="agent_not_found")
        return saved

    def set_status(self, agent_id: str, status: AgentStatus, *, now: datetime) -> Agent:
        result = self._conn.execute(_SAVE, {"b_id": agent_id, "status": status, "updated_at": now})
        if result.rowcount != 1:
            raise NotFoundError("no such agent", reason="agent_not_found")
        return self.get(agent_id)
