"""Actor-token jti replay cache (RFC 7523 §3 item 7; SECURITY SEC-18, FLT-05)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from did_agents.storage import Database, ReplayCache

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
EXP = NOW + timedelta(minutes=5)
AGENT = "did:key:z6MkAgent"


def _remember(db: Database, jti: str, issuer: str = AGENT) -> bool:
    with db.transaction() as conn:
        return ReplayCache(conn).remember(issuer, jti, expires_at=EXP, now=NOW)


def test_first_use_accepted_replay_refused(db: Database) -> None:
    assert _remember(db, "jti-1") is True
    assert _remember(db, "jti-1") is False


def test_jti_is_scoped_by_issuer(db: Database) -> None:
    assert _remember(db, "jti-1", AGENT)
    assert _remember(db, "jti-1", "did:key:z6MkOtherAgent")


def test_replay_in_the_same_transaction_does_not_abort_it(db: Database) -> None:
    # ON CONFLICT DO NOTHING: on PostgreSQL a failed INSERT would poison the transaction.
    with db.transaction() as conn:
        cache = ReplayCache(conn)
        assert cache.remember(AGENT, "j", expires_at=EXP, now=NOW)
        assert not cache.remember(AGENT, "j", expires_at=EXP, now=NOW)
        assert cache.remember(AGENT, "k", expires_at=EXP, now=NOW)


def test_empty_jti_refused(db: Database) -> None:
    with pytest.raises(ValueError), db.transaction() as conn:
        ReplayCache(conn).remember(AGENT, "", expires_at=EXP, now=NOW)


def test_concurrent_presentations_exactly_one_accepted(db: Database) -> None:
    barrier = threading.Barrier(50)

    def attempt(_: int) -> bool:
        barrier.wait()
        return _remember(db, "raced-jti")

    with ThreadPoolExecutor(50) as pool:
        outcomes = list(pool.map(attempt, range(50)))
    assert outcomes.count(True) == 1
    assert db.row_counts()["replay_cache"] == 1


def test_purge_forgets_only_expired_entries(db: Database) -> None:
    _remember(db, "old")
    with db.transaction() as conn:
        cache = ReplayCache(conn)
        cache.remember(AGENT, "new", expires_at=EXP + timedelta(minutes=1), now=NOW)
        assert cache.purge(EXP) == 1
        assert not cache.remember(AGENT, "new", expires_at=EXP, now=NOW)
