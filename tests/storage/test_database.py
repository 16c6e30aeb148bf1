"""The Database handle."""

from __future__ import annotations

import asyncio
import sqlite3
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


def _replay_rows(db: Database) -> int:
    return db.row_counts()["replay_cache"]


def test_run_async_commits_inline_on_sqlite_and_in_a_worker_thread_on_postgresql(db: Database) -> None:
    threads: list[int] = []

    def work(conn: Connection) -> str:
        threads.append(threading.get_ident())
        ReplayCache(conn).remember("did:key:z6MkA", "j1", expires_at=NOW, now=NOW)
        return "done"

    async def main() -> tuple[str, int]:
        return await db.run_async(work), threading.get_ident()

    result, loop_thread = asyncio.run(main())
    assert result == "done" and _replay_rows(db) == 1  # committed: another connection sees it
    assert (threads == [loop_thread]) is (db.backend == "sqlite")


def test_run_async_rolls_back_and_raises_when_work_fails(db: Database) -> None:
    def work(conn: Connection) -> None:
        ReplayCache(conn).remember("did:key:z6MkA", "j1", expires_at=NOW, now=NOW)
        raise StorageError("down", reason="storage_unavailable")

    with pytest.raises(StorageError) as caught:
        asyncio.run(db.run_async(work))
    assert caught.value.reason == "storage_unavailable" and _replay_rows(db) == 0


def test_run_async_queues_behind_a_writer_thread_instead_of_blocking_the_loop(db: Database) -> None:
    if db.backend != "sqlite":
        pytest.skip("the inline path is SQLite's")
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with db.transaction() as conn:
            ReplayCache(conn).remember("did:key:z6MkA", "held", expires_at=NOW, now=NOW)
            holding.set()
            release.wait()

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait()
    threads: list[int] = []

    def work(conn: Connection) -> None:
        threads.append(threading.get_ident())
        ReplayCache(conn).remember("did:key:z6MkA", "queued", expires_at=NOW, now=NOW)

    async def main() -> int:
        task = asyncio.ensure_future(db.run_async(work))
        await asyncio.sleep(0)  # let it try the lock (a yield, no waiting for time)
        assert not task.done() and threads == []  # not run inline: the loop is free
        release.set()
        await task
        return threading.get_ident()

    loop_thread = asyncio.run(main())
    holder.join()
    assert len(threads) == 1 and threads[0] != loop_thread
    assert _replay_rows(db) == 2


def test_run_async_hands_over_when_another_process_holds_the_sqlite_lock(db: Database) -> None:
    if db.backend != "sqlite":
        pytest.skip("the inline path is SQLite's")
    # Another process's writer: a separate sqlite3 connection holding the write lock.
    other = sqlite3.connect(db.engine.url.database or "", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    threads: list[int] = []

    def work(conn: Connection) -> None:
        threads.append(threading.get_ident())
        ReplayCache(conn).remember("did:key:z6MkA", "j1", expires_at=NOW, now=NOW)

    try:
        # The inline attempt gives up at once, having run nothing.
        assert db._run_inline(work) == (False, None)
        assert threads == []
    finally:
        other.execute("ROLLBACK")
        other.close()

    async def main() -> int:
        await db.run_async(work)
        return threading.get_ident()

    # It left the connection and the in-process lock usable: the next write runs inline.
    assert threads == [asyncio.run(main())] and _replay_rows(db) == 1


def test_run_async_runs_work_again_in_the_queue_after_a_busy_inline_attempt(db: Database) -> None:
    calls: list[str] = []

    def work(conn: Connection) -> str:
        calls.append(f"j{len(calls)}")
        ReplayCache(conn).remember("did:key:z6MkA", calls[-1], expires_at=NOW, now=NOW)
        if len(calls) == 1:
            raise StorageError("database is locked", reason="storage_busy")
        return calls[-1]

    assert asyncio.run(db.run_async(work)) == "j1"
    with db.read() as conn:  # the first attempt's row was rolled back
        assert list(conn.execute(select(replay_cache.c.jti)).scalars()) == ["j1"]


def test_after_commit_runs_once_after_a_commit_and_never_after_a_rollback(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[str] = []

    def note() -> None:
        ran.append("committed")

    def fails() -> None:
        raise RuntimeError("after-commit action broke")

    with db.transaction() as conn:
        ReplayCache(conn).remember("did:key:z6MkA", "j1", expires_at=NOW, now=NOW)
        Database.after_commit(conn, note)
        Database.after_commit(conn, note)  # the same action once
        Database.after_commit(conn, fails)  # logged; the commit stands
        assert ran == []  # not before the commit
    assert ran == ["committed"] and _replay_rows(db) == 1
    assert "after-commit action failed" in caplog.text

    with pytest.raises(RuntimeError), db.transaction() as conn:
        Database.after_commit(conn, note)
        raise RuntimeError("rolled back")
    with db.transaction():
        pass  # the rolled-back transaction's action was dropped, not carried over
    assert ran == ["committed"]

    def work(conn: Connection) -> None:
        ReplayCache(conn).remember("did:key:z6MkA", "j2", expires_at=NOW, now=NOW)
        Database.after_commit(conn, note)

    asyncio.run(db.run_async(work))  # inline on SQLite, a worker thread on PostgreSQL
    assert ran == ["committed", "committed"]
