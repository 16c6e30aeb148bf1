"""Users (RoleCredential subjects)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from did_agents.errors import ConflictError, NotFoundError
from did_agents.storage import Database, User, UserRepository

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
USER = User(did="did:key:z6MkSmith", roles=("customer",), created_at=NOW, updated_at=NOW, name="Smith")


def test_round_trip_and_unique_did(db: Database) -> None:
    with db.transaction() as conn:
        UserRepository(conn).add(USER)
    with pytest.raises(ConflictError) as exc, db.transaction() as conn:
        UserRepository(conn).add(USER)
    assert exc.value.reason == "user_exists"
    with db.read() as conn:
        assert UserRepository(conn).get(USER.did) == USER


def test_update_roles_and_status(db: Database) -> None:
    later = NOW + timedelta(days=1)
    with db.transaction() as conn:
        repo = UserRepository(conn)
        repo.add(USER)
        updated = repo.update(USER.did, now=later, roles=["customer", "manager"], status="suspended")
    assert (tuple(updated.roles), updated.status, updated.updated_at, updated.name) == (
        ("customer", "manager"),
        "suspended",
        later,
        "Smith",
    )


def test_unknown_user(db: Database) -> None:
    with db.transaction() as conn, pytest.raises(NotFoundError) as exc:
        UserRepository(conn).update("did:key:z6MkNobody", now=NOW, status="removed")
    assert exc.value.reason == "user_not_found"
