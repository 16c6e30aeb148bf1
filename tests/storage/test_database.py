"""The Database handle."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection

from did_agents.errors import StorageError
from did_agents.storage import Database, ReplayCache

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_row_counts_cover_every_table(db: Database) -> None:
    counts = db.row_counts()
    assert counts["audit_chain_head"] == 1
    assert {name for name, n in counts.items() if n} == {"audit_chain_head"}


def test_read_transaction_cannot_write(db: Database) -> None:
    if db.backend == "sqlite":
        pytest.skip("SQLite has no read-only transactions; read() only avoids the write lock")
    with pytest.raises(StorageError), db.read() as conn:
        ReplayCache(conn).remember("did:key:z6MkA", "j", expires_at=NOW, now=NOW)


def test_run_retries_only_retryable_errors(db: Database) -> None:
    calls: list[int] = []

    def flaky(conn: Connection) -> str:
        calls.append(1)
        if len(calls) < 3:
            raise StorageError("deadlock", reason="storage_busy")
        return "done"

    assert db.run(flaky) == "done" and len(calls) == 3

    def broken(conn: Connection) -> None:
        raise StorageError("down", reason="storage_unavailable")

    with pytest.raises(StorageError):
        db.run(broken)


def test_nested_write_transaction_is_refused_at_once_on_sqlite(db: Database) -> None:
    if db.backend != "sqlite":
        pytest.skip("PostgreSQL allows concurrent write transactions")
    with db.transaction(), pytest.raises(RuntimeError), db.transaction():
        pass
    with db.transaction():  # the lock was released
        pass
