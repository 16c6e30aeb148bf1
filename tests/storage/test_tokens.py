"""Minted access tokens: one row per jti."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from did_agents.errors import ConflictError
from did_agents.storage import Database, MintedToken, TokenRepository

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TOKEN = MintedToken(
    jti="jti-1",
    sub="did:key:z6MkSmith",
    client_id="did:key:z6MkPay",
    aud="https://mcp.urbanbites.example/mcp",
    scope="orders:read",
    iat=NOW,
    exp=NOW + timedelta(minutes=5),
    act={"sub": "did:key:z6MkPay", "act": {"sub": "did:key:z6MkOrdering"}},
    chain=("urn:uuid:a", "urn:uuid:b"),
    chain_digest="sha256-abc",
    kid="k1",
)


def test_round_trip(db: Database) -> None:
    with db.transaction() as conn:
        TokenRepository(conn).record(TOKEN)
    with db.read() as conn:
        assert TokenRepository(conn).find("jti-1") == TOKEN


def test_jti_is_unique(db: Database) -> None:
    with db.transaction() as conn:
        TokenRepository(conn).record(TOKEN)
    with pytest.raises(ConflictError) as exc, db.transaction() as conn:
        TokenRepository(conn).record(replace(TOKEN, sub="did:key:z6MkMallory"))
    assert exc.value.reason == "jti_exists"
    assert db.row_counts()["access_tokens"] == 1


def test_revoke_and_purge(db: Database) -> None:
    with db.transaction() as conn:
        repo = TokenRepository(conn)
        repo.record(TOKEN)
        repo.record(replace(TOKEN, jti="jti-2", exp=NOW + timedelta(hours=1), act=None, chain=None))
        assert repo.revoke("jti-1", now=NOW) and not repo.revoke("jti-1", now=NOW)
        assert repo.purge_expired(NOW + timedelta(minutes=10)) == 1
        assert repo.find("jti-1") is None
        kept = repo.find("jti-2")
        assert kept is not None and kept.act is None and kept.chain is None
