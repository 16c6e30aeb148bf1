"""The :class:`Database` handle services keep: engine, transactions, migrations.

The API is synchronous (SQLAlchemy's sync engine); async services call it
through :meth:`Database.read_async` / :meth:`Database.run_async`, which on
SQLite run short work inline when they need not wait and otherwise hand it
to a thread. Repositories take the :class:`~sqlalchemy.Connection`
that :meth:`Database.transaction` yields, so a business write and its audit
event commit or roll back together (SECURITY FLT-03: if the audit write fails,
nothing is minted).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Final, TypeVar

from sqlalchemy import Connection, Engine, exc, func, select
from sqlalchemy.engine import URL

from did_agents.errors import StorageError
from did_agents.storage import migrate
from did_agents.storage.engine import (
    BEGIN_OPTION,
    DEFAULT_BUSY_TIMEOUT,
    Backend,
    backend_of,
    create_engine_for,
    translate_errors,
)
from did_agents.storage.schema import metadata

__all__ = ["Database"]

T = TypeVar("T")

_log = logging.getLogger(__name__)

#: Key in a connection's ``info`` of the callbacks :meth:`Database.after_commit` registered.
_AFTER_COMMIT: Final = "did_agents_after_commit"


def _run_after_commit(callbacks: list[Callable[[], None]]) -> None:
    for callback in callbacks:
        try:
            callback()
        except Exception:
            _log.exception("an after-commit action failed (the transaction is committed)")


class Database:
    """One database (SQLite file or PostgreSQL), shared by all requests of a service."""

    def __init__(self, engine: Engine, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> None:
        self._engine = engine
        self._backend: Backend = backend_of(engine)
        self._busy_timeout = busy_timeout
        # SQLite has one writer at a time. Threads of this process queue on a
        # mutex (prompt hand-over) rather than in SQLite's busy handler, which
        # polls with sleeps of up to 100 ms; other processes still meet the
        # busy handler.
        self._sqlite_writer = threading.Lock() if self._backend == "sqlite" else None
        self._writer_thread: int | None = None
        #: SQLite: the connection :meth:`run_async` writes on inline (opened on first use; it
        #: is used only while holding ``_sqlite_writer``).
        self._inline: Connection | None = None

    @classmethod
    def connect(
        cls,
        url: str | URL,
        *,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        pool_size: int = 10,
        upgrade: bool = False,
    ) -> Database:
        """Create the engine for ``url``; with ``upgrade``, migrate to head first."""
        database = cls(
            create_engine_for(url, busy_timeout=busy_timeout, pool_size=pool_size), busy_timeout=busy_timeout
        )
        if upgrade:
            database.upgrade()
        return database

    def __repr__(self) -> str:
        # The URL's password is masked by SQLAlchemy's URL repr.
        return f"Database({self._engine.url!r})"

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def backend(self) -> Backend:
        return self._backend

    def upgrade(self, revision: str = "head") -> None:
        """Apply the bundled migrations (safe to call from several instances at once)."""
        migrate.upgrade(self._engine, revision)

    def revision(self) -> str | None:
        return migrate.current_revision(self._engine)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction: committed when the block ends, rolled back on error.

        On SQLite it starts with ``BEGIN IMMEDIATE``: writers queue for the lock
        (up to the busy timeout) instead of failing half-way. Database errors
        leave as :class:`~did_agents.errors.StorageError` /
        :class:`~did_agents.errors.ConflictError`.
        """
        with self._writer_turn(), translate_errors(), self._engine.connect() as conn:
            conn.info.pop(_AFTER_COMMIT, None)  # left by a transaction that rolled back
            with conn.begin():
                yield conn
            callbacks = conn.info.pop(_AFTER_COMMIT, [])
        _run_after_commit(callbacks)

    @staticmethod
    def after_commit(conn: Connection, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the write transaction of ``conn`` has committed — not if it
        rolls back — after the write lock is released. (Registered inside a savepoint that
        rolled back, it still runs when the outer transaction commits: use it to act on
        committed state.) An equal callback registered twice runs once. Its errors are logged,
        not raised: the commit stands."""
        callbacks = conn.info.setdefault(_AFTER_COMMIT, [])
        if callback not in callbacks:  # the same action once per transaction
            callbacks.append(callback)

    @contextmanager
    def _writer_turn(self) -> Iterator[None]:
        lock = self._sqlite_writer
        if lock is None:
            yield
            return
        me = threading.get_ident()
        if self._writer_thread == me:
            # A second write transaction from inside the first would wait for itself.
            raise RuntimeError("nested write transaction on SQLite: pass the open connection instead")
        if not lock.acquire(timeout=self._busy_timeout):
            raise StorageError("timed out waiting for the database write lock", reason="storage_busy")
        self._writer_thread = me
        try:
            yield
        finally:
            self._writer_thread = None
            lock.release()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction (a consistent snapshot; no write lock taken)."""
        with translate_errors(), self._engine.connect() as conn:
            if self._backend == "sqlite":
                conn.execution_options(**{BEGIN_OPTION: "DEFERRED"})
            else:
                conn.execution_options(postgresql_readonly=True)
            with conn.begin():
                yield conn

    async def read_async(self, work: Callable[[Connection], T]) -> T:
        """Run the read-only ``work`` in a :meth:`read` transaction from async code.

        On SQLite it runs inline, on the calling (event-loop) thread: an indexed
        read of the local file costs tens of microseconds, less than a hop to a
        worker thread and back (which under load also costs GIL hand-overs), and
        WAL readers do not wait for writers (sqlite.org/wal.html §2.2 "Concurrency":
        "Readers do not block writers and a writer does not block readers").
        On PostgreSQL a read is a network round trip, so it runs in a worker thread.
        Use it only for short indexed reads.
        """

        def read() -> T:
            with self.read() as conn:
                return work(conn)

        if self._backend == "sqlite":
            return read()
        return await asyncio.to_thread(read)

    def run(self, work: Callable[[Connection], T], *, attempts: int = 3) -> T:
        """Run ``work`` in a write transaction, retrying it when the database
        reports a retryable conflict (PostgreSQL §13.5: serialization failure,
        deadlock; SQLite: still locked after the busy timeout)."""
        for attempt in range(1, attempts + 1):
            try:
                with self.transaction() as conn:
                    return work(conn)
            except StorageError as error:
                if error.reason != "storage_busy" or attempt == attempts:
                    raise
        raise AssertionError("unreachable")

    async def run_async(self, work: Callable[[Connection], T]) -> T:
        """:meth:`run` from async code: ``work`` in a write transaction, committed
        (durably, at the configured ``synchronous`` level) before this returns.

        On SQLite, when no other writer holds the lock at this moment, it runs
        inline on the calling (event-loop) thread, on a connection kept open for
        it: a short local write transaction costs less CPU than the hand-off to
        a worker thread and back, and on SQLite writers take turns anyway. It
        never waits there: the lock is tried without blocking and ``BEGIN
        IMMEDIATE`` runs with no busy timeout, so when this process's other
        threads or another process are writing it hands ``work`` to a worker
        thread (:meth:`run`, which queues and retries) instead of blocking the
        loop. The commit's ``fsync`` (``synchronous=FULL``) does block the loop
        for its duration. On PostgreSQL every transaction runs in a worker thread
        (a network round trip). ``work`` must be safe to run again from the start
        after its transaction rolled back (as for :meth:`run`).
        """
        if self._sqlite_writer is not None and self._sqlite_writer.acquire(blocking=False):
            try:
                done, result = self._run_inline(work)
            finally:
                self._sqlite_writer.release()
            if done:
                return result  # type: ignore[return-value]
        return await asyncio.to_thread(self.run, work)

    def _run_inline(self, work: Callable[[Connection], T]) -> tuple[bool, T | None]:
        """One attempt at ``work`` on the inline connection; ``(False, None)`` when SQLite is
        busy (nothing was written) and the caller should queue instead. Holds ``_sqlite_writer``."""
        conn = self._inline
        if conn is None or conn.closed or conn.invalidated:
            with translate_errors():
                conn = self._engine.connect()
                driver = conn.connection.driver_connection
                assert driver is not None
                # sqlite.org/pragma.html#pragma_busy_timeout: 0 = report SQLITE_BUSY at once.
                # (On the driver: a SQLAlchemy statement would begin a transaction.)
                driver.execute("PRAGMA busy_timeout = 0").close()
            self._inline = conn
        with translate_errors():
            try:
                transaction = conn.begin()  # BEGIN IMMEDIATE (storage.engine)
            except exc.OperationalError as error:
                if "database is locked" not in str(error.orig):
                    raise
                _log.debug("SQLite write lock held elsewhere; queueing the write")
                return False, None
        conn.info.pop(_AFTER_COMMIT, None)
        me = threading.get_ident()
        self._writer_thread = me
        try:
            with translate_errors(), transaction:
                result = work(conn)
        except StorageError as error:
            if error.reason != "storage_busy":
                raise
            return False, None  # rolled back; run it again in the queue
        finally:
            self._writer_thread = None
        _run_after_commit(conn.info.pop(_AFTER_COMMIT, []))
        return True, result

    def row_counts(self) -> dict[str, int]:
        """Rows per table — for checking that a refusal wrote nothing (SECURITY NEG-INV 2)."""
        with self.read() as conn:
            return {
                table.name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
                for table in metadata.sorted_tables
            }

    def dispose(self) -> None:
        """Close pooled connections (at shutdown)."""
        inline, self._inline = self._inline, None
        if inline is not None:
            inline.close()
        self._engine.dispose()
