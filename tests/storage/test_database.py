"""The Database handle."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, func, select

from did_agents.errors import StorageError
from did_agents.storage import Database, ReplayCache
from did_agents.storage.schema import replay_cache

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


def test_read_async_reads_inline_on_sqlite_and_in_a_worker_thread_on_postgresql(db: Database) -> None:
    with db.transaction() as conn:
        ReplayCache(conn).remember("did:key:z6MkA", "j1", expires_at=NOW, now=NOW)
    threads: list[int] = []

    def work(conn: Connection) -> bool:
        threads.append(threading.get_ident())
        # Sees what committed before.
        return int(conn.execute(select(func.count()).select_from(replay_cache)).scalar_one()) == 1

    async def main() -> tuple[bool, int]:
        return await db.read_async(work), threading.get_ident()

    seen, loop_thread = asyncio.run(main())
    assert seen is True
    assert (threads == [loop_thread]) is (db.backend == "sqlite")
