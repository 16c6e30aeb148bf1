"""Hot-path statements are built once and served from SQLAlchemy's compiled cache.

A statement rebuilt per call still works but costs its construction and cache
key on every token exchange; one with a value inlined as a literal also misses
the compiled cache. These tests fail if either creeps back into the exchange
transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.engine.interfaces import CacheStats
from sqlalchemy.sql.cache_key import HasCacheKey

from did_agents.audit import AuditEvent, AuditLog
from did_agents.clock import FixedClock
from did_agents.storage import (
    ChallengeRepository,
    Database,
    MintedToken,
    ReplayCache,
    StatusListRepository,
    TokenRepository,
)
from did_agents.storage.prepared import ignoring_conflicts
from did_agents.storage.schema import access_tokens, replay_cache

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
DOMAIN = "https://sts.example.com"


def test_ignoring_conflicts_built_once_per_backend_and_table(db: Database) -> None:
    with db.transaction() as conn:
        first = ignoring_conflicts(conn, replay_cache)
        assert ignoring_conflicts(conn, replay_cache) is first
        assert ignoring_conflicts(conn, access_tokens) is not first


def _exchange_transaction(db: Database, n: int) -> None:
    """What a granted token exchange writes (token_exchange.TokenExchange._mint's commit)."""
    with db.transaction() as conn:
        nonce = (
            ChallengeRepository(conn)
            .issue(purpose="presentation", domain=DOMAIN, ttl=timedelta(minutes=5), now=NOW)
            .nonce
        )
    with db.transaction() as conn:
        ChallengeRepository(conn).spend(nonce, NOW, purpose="presentation", domain=DOMAIN)
        StatusListRepository(conn).find("list-1", for_update=True)
        ReplayCache(conn).remember("did:key:z6MkAgent", f"jti-{n}", expires_at=NOW, now=NOW)
        TokenRepository(conn).record(
            MintedToken(
                jti=f"token-{n}",
                sub="did:key:z6MkUser",
                client_id="did:key:z6MkAgent",
                aud="https://api.example.com",
                scope="read",
                iat=NOW,
                exp=NOW + timedelta(minutes=5),
                act={"sub": "did:key:z6MkAgent"},
                chain=("urn:uuid:1",),
            )
        )
        AuditLog(conn, FixedClock(NOW)).append(
            AuditEvent(type="token_exchange.granted", decision="allowed", details={"jti": f"token-{n}"})
        )


@pytest.fixture
def cache_stats(db: Database) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def record(conn: Connection, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if context is not None and context.compiled is not None:  # not BEGIN / PRAGMA
            seen.append((statement, context.cache_hit))

    event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    event.remove(db.engine, "before_cursor_execute", record)


def test_exchange_transaction_statements_come_from_the_compiled_cache(
    db: Database, cache_stats: list[tuple[str, Any]]
) -> None:
    with db.transaction() as conn:
        StatusListRepository(conn).create("list-1", "revocation", now=NOW, size=64)
    _exchange_transaction(db, 1)  # compiles
    cache_stats.clear()
    _exchange_transaction(db, 2)
    statements = [statement.split()[0] for statement, _ in cache_stats]
    assert statements.count("UPDATE") + statements.count("WITH") >= 2  # spend, head move
    misses = [statement for statement, hit in cache_stats if hit is not CacheStats.CACHE_HIT]
    assert misses == []


def test_exchange_transaction_builds_no_statement(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    # A prebuilt statement memoizes its cache key; a statement built per call computes
    # a new one (HasCacheKey._generate_cache_key) every time it is executed.
    with db.transaction() as conn:
        StatusListRepository(conn).create("list-1", "revocation", now=NOW, size=64)
    _exchange_transaction(db, 1)
    keyed: list[str] = []
    generate = HasCacheKey._generate_cache_key

    def counting(self: HasCacheKey) -> Any:
        keyed.append(type(self).__name__)
        return generate(self)

    monkeypatch.setattr(HasCacheKey, "_generate_cache_key", counting)
    _exchange_transaction(db, 2)
    # Issuing the challenge (before the exchange) is prebuilt too.
    assert keyed == []
