"""Hot-path statements are built once and served from SQLAlchemy's compiled cache.

A statement rebuilt per call still works but costs its construction and cache
key on every token exchange; one with a value inlined as a literal also misses
the compiled cache. These tests fail if either creeps back into the exchange
transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import bindparam, event, func, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.engine.interfaces import CacheStats
from sqlalchemy.sql.cache_key import HasCacheKey

from did_agents.audit import AuditEvent, AuditLog
from did_agents.clock import FixedClock
from did_agents.errors import ConflictError
from did_agents.storage import (
    ChallengeRepository,
    Database,
    MintedToken,
    ReplayCache,
    StatusListRepository,
    TokenRepository,
)
from did_agents.storage.prepared import execute_direct, ignoring_conflicts
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
    # On PostgreSQL the spend and the audit insert + head move; on SQLite both run through
    # execute_direct, which these hooks do not see (the status-list read still does).
    if db.backend == "sqlite":
        assert cache_stats and "UPDATE" not in statements
    else:
        assert statements.count("UPDATE") + statements.count("WITH") >= 2
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


# -- execute_direct -------------------------------------------------------------------------------

_SEEN_AT = select(replay_cache.c.seen_at, replay_cache.c.expires_at).where(
    replay_cache.c.jti == bindparam("b_jti")
)
_COUNT_FIXED = (
    select(func.count()).select_from(replay_cache).where(replay_cache.c.issuer == "did:key:z6MkFixed")
)


def test_execute_direct_binds_like_core_and_reports_conflicts_by_rowcount(db: Database) -> None:
    values = {"issuer": "did:key:z6MkA", "jti": "j1", "seen_at": NOW, "expires_at": NOW + timedelta(hours=1)}
    with db.transaction() as conn:
        first = execute_direct(conn, ignoring_conflicts(conn, replay_cache), values)
        again = execute_direct(conn, ignoring_conflicts(conn, replay_cache), values)
        conn.execute(ignoring_conflicts(conn, replay_cache), {**values, "jti": "j2"})  # Core, for comparison
    assert (first.rowcount, again.rowcount, first.rows) == (1, 0, [])
    with db.read() as conn:
        # The UTCDateTime bind processor ran: Core reads back the same instants for both rows.
        direct = conn.execute(_SEEN_AT, {"b_jti": "j1"}).one()
        core = conn.execute(_SEEN_AT, {"b_jti": "j2"}).one()
        # ... stored in the same form, so SQL comparisons agree (SQLite compares the text).
        later = conn.execute(
            select(func.count()).select_from(replay_cache).where(replay_cache.c.seen_at >= bindparam("b_t")),
            {"b_t": NOW},
        ).scalar_one()
    assert tuple(direct) == tuple(core) == (NOW, NOW + timedelta(hours=1))
    assert later == 2


def test_execute_direct_returns_rows_and_fills_in_values_fixed_in_the_statement(db: Database) -> None:
    with db.transaction() as conn:
        for jti in ("a", "b"):
            ReplayCache(conn).remember("did:key:z6MkFixed", jti, expires_at=NOW, now=NOW)
        ReplayCache(conn).remember("did:key:z6MkOther", "c", expires_at=NOW, now=NOW)
        result = execute_direct(conn, _COUNT_FIXED, {})
    assert result.rows == [(2,)]


def test_execute_direct_errors_are_translated_like_any_statement(db: Database) -> None:
    duplicate = insert(replay_cache)
    values = {"issuer": "did:key:z6MkA", "jti": "dup", "seen_at": NOW, "expires_at": NOW}
    with db.transaction() as conn:
        execute_direct(conn, duplicate, values)
    with pytest.raises(ConflictError), db.transaction() as conn:
        execute_direct(conn, duplicate, values)
    assert db.row_counts()["replay_cache"] == 1  # the failed transaction rolled back


def test_execute_direct_refuses_a_statement_missing_a_value(db: Database) -> None:
    if db.backend != "sqlite":
        pytest.skip("PostgreSQL runs conn.execute, which raises its own error")
    with pytest.raises(ValueError, match="b_jti"), db.read() as conn:
        execute_direct(conn, _SEEN_AT, {})


@given(
    st.datetimes(
        min_value=datetime(1, 1, 2),
        max_value=datetime(9999, 12, 30),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))]
        ),
    )
)
def test_direct_utc_datetime_text_is_sqlalchemys(value: datetime) -> None:
    from sqlalchemy.dialects import sqlite

    from did_agents.storage.prepared import _bind_processor
    from did_agents.storage.schema import UTCDateTime

    dialect = sqlite.dialect()
    core = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    direct = _bind_processor(UTCDateTime(), dialect)
    assert core is not None and direct is not None
    assert direct(value) == core(value)
    assert direct(None) is None
    with pytest.raises(ValueError):
        direct(value.replace(tzinfo=None))


def test_execute_direct_writes_belong_to_the_open_transaction_and_savepoint(db: Database) -> None:
    values = {"issuer": "did:key:z6MkA", "jti": "t1", "seen_at": NOW, "expires_at": NOW}
    with pytest.raises(RuntimeError), db.transaction() as conn:
        execute_direct(conn, ignoring_conflicts(conn, replay_cache), values)
        raise RuntimeError("roll back")
    assert db.row_counts()["replay_cache"] == 0
    with db.transaction() as conn:
        savepoint = conn.begin_nested()
        execute_direct(conn, ignoring_conflicts(conn, replay_cache), values)
        savepoint.rollback()
        execute_direct(conn, ignoring_conflicts(conn, replay_cache), {**values, "jti": "t2"})
    with db.read() as conn:
        kept = conn.execute(select(replay_cache.c.jti)).scalars().all()
    assert kept == ["t2"]


def test_execute_direct_binds_utc_datetimes_with_the_fast_processor(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    if db.backend != "sqlite":
        pytest.skip("PostgreSQL runs conn.execute")
    import did_agents.storage.prepared as prepared

    calls: list[datetime] = []
    fast = prepared._sqlite_utc_text

    def counting(value: datetime | None) -> str | None:
        if value is not None:
            calls.append(value)
        return fast(value)

    monkeypatch.setattr(prepared, "_sqlite_utc_text", counting)
    monkeypatch.setattr(prepared, "_PLANS", {})
    values = {
        "issuer": "did:key:z6MkA",
        "jti": "fast",
        "seen_at": NOW,
        "expires_at": NOW + timedelta(hours=1),
    }
    with db.transaction() as conn:
        execute_direct(conn, ignoring_conflicts(conn, replay_cache), values)
    assert calls == [NOW, NOW + timedelta(hours=1)]
