"""Operator tokens: only a hash is stored; revoked tokens stop working."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from did_agents.errors import ConflictError, UnauthorizedError
from did_agents.storage import Database, OperatorRepository
from did_agents.storage.operators import hash_token
from did_agents.storage.schema import operators

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_token_authenticates_and_only_its_hash_is_stored(db: Database) -> None:
    with db.transaction() as conn:
        operator, token = OperatorRepository(conn).create("alice", "admin", now=NOW)
    with db.read() as conn:
        assert OperatorRepository(conn).authenticate(token) == operator
        stored = conn.execute(select(operators.c.token_hash)).scalar_one()
    assert stored == hash_token(token) and token not in stored
    assert len(token) >= 43  # 256 bits


@pytest.mark.parametrize("token", ["", "wrong", "x" * 10_000])
def test_bad_token_refused(db: Database, token: str) -> None:
    with db.transaction() as conn:
        OperatorRepository(conn).create("alice", "admin", now=NOW)
        with pytest.raises(UnauthorizedError) as exc:
            OperatorRepository(conn).authenticate(token)
    assert exc.value.reason == "invalid_operator_token"


def test_revoked_token_refused(db: Database) -> None:
    with db.transaction() as conn:
        repo = OperatorRepository(conn)
        operator, token = repo.create("bob", "auditor", now=NOW)
        assert repo.revoke(operator.id, now=NOW).revoked_at == NOW
        with pytest.raises(UnauthorizedError):
            repo.authenticate(token)


def test_names_are_unique(db: Database) -> None:
    with db.transaction() as conn:
        OperatorRepository(conn).create("alice", "admin", now=NOW)
    with pytest.raises(ConflictError) as exc, db.transaction() as conn:
        OperatorRepository(conn).create("alice", "auditor", now=NOW)
    assert exc.value.reason == "operator_exists"
