"""Group commit: concurrent write transactions of the issuer share one SQLite commit.

SQLite has one writer at a time, and with ``synchronous=FULL`` every commit
waits for an fsync of the WAL. Under concurrent requests the writers would
queue (on :class:`~did_agents.storage.database.Database`'s mutex) and each pay
its own BEGIN, COMMIT and fsync. :class:`GroupCommit` hands every unit of work
to one writer thread, which runs the units waiting at the same time in *one*
transaction, each inside its own ``SAVEPOINT``:

* a unit that raises is rolled back to its savepoint alone and gets its own
  exception; the others are unaffected (the same outcome as running them one
  after the other);
* nobody gets a result before the shared COMMIT has returned, so every
  answer still follows a durable commit. If the shared transaction fails
  (a deferred foreign key of one unit at COMMIT, a busy or full disk), nothing
  of it is stored and each unit of the group is run again alone, so every
  caller gets the outcome it would have had on its own;
* the units of a group see each other's writes in order, exactly as
  serialized transactions would (unique constraints, the audit chain head and
  status allocations behave as before).

Callers wait in their own thread (:meth:`GroupCommit.run`) or on their event
loop (:meth:`GroupCommit.run_async`: no worker thread is held per request, the
answer comes back with ``call_soon_threadsafe``). The writer thread starts with
the first unit and ends after a second without work. Alone, a unit runs in a
plain transaction, as :meth:`Database.run` would. On PostgreSQL (concurrent
writers, its own group commit) :meth:`GroupCommit.run` is :meth:`Database.run`
and :meth:`GroupCommit.run_async` runs it in a worker thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection

from did_agents.errors import StorageError
from did_agents.storage.database import Database
from did_agents.storage.engine import translate_errors

__all__ = ["GroupCommit"]

T = TypeVar("T")

#: How long the writer thread waits for more work before it ends (a new unit starts another).
IDLE_SECONDS = 1.0


@dataclass(eq=False)
class _Unit(Generic[T]):
    work: Callable[[Connection], T]
    #: Set for units of :meth:`GroupCommit.run_async`: the answer goes to this loop's future.
    loop: asyncio.AbstractEventLoop | None = None
    future: asyncio.Future[T] | None = None
    ready: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    error: BaseException | None = None


class GroupCommit:
    """Run units of work in write transactions shared by the callers waiting at the same time."""

    def __init__(self, database: Database, *, max_group: int = 32) -> None:
        if max_group < 1:
            raise ValueError("max_group must be at least 1")
        self._database = database
        self._max_group = max_group
        self._lock = threading.Lock()
        self._work_arrived = threading.Condition(self._lock)
        #: Units waiting for the writer (not yet taken into a group).
        self._queue: list[_Unit[Any]] = []
        self._writer: threading.Thread | None = None

    def run(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in a write transaction (perhaps shared) and return its result once committed.

        Raises what ``work`` raised (its writes rolled back), or the
        :class:`~did_agents.errors.StorageError` of a failed commit.
        """
        if self._database.backend != "sqlite":
            return self._database.run(work)
        unit: _Unit[T] = _Unit(work)
        self._submit(unit)
        unit.ready.wait()
        if unit.error is not None:
            raise unit.error
        result: T = unit.result
        return result

    async def run_async(self, work: Callable[[Connection], T]) -> T:
        """:meth:`run` for async callers: the event loop goes on while the unit waits and runs.

        A caller cancelled while its unit is queued or running does not stop the unit:
        it commits (or not) as it would have, and the answer is dropped.
        """
        if self._database.backend != "sqlite":
            return await asyncio.to_thread(self._database.run, work)
        loop = asyncio.get_running_loop()
        unit: _Unit[T] = _Unit(work, loop=loop, future=loop.create_future())
        self._submit(unit)
        assert unit.future is not None
        return await unit.future

    def _submit(self, unit: _Unit[Any]) -> None:
        if self._writer is not None and self._writer is threading.current_thread():
            # Called from inside a unit: it would wait for the group it is part of.
            raise RuntimeError("nested write transaction: pass the open connection instead")
        with self._lock:
            self._queue.append(unit)
            if self._writer is None:
                self._writer = threading.Thread(target=self._write, name="did-agents-writer", daemon=True)
                self._writer.start()
            else:
                self._work_arrived.notify()

    def _write(self) -> None:
        me = threading.current_thread()
        try:
            while True:
                with self._lock:
                    if not self._queue:
                        self._work_arrived.wait(IDLE_SECONDS)
                    if not self._queue:
                        self._writer = None
                        return
                    group = self._queue[: self._max_group]
                    del self._queue[: len(group)]
                self._commit(group)
        finally:
            with self._lock:
                if self._writer is me:
                    # Ended by an exception: whoever waits gets a new writer.
                    self._writer = None
                    if self._queue:
                        self._writer = threading.Thread(
                            target=self._write, name="did-agents-writer", daemon=True
                        )
                        self._writer.start()

    def _commit(self, group: list[_Unit[Any]]) -> None:
        try:
            if len(group) == 1:
                # Alone: a plain transaction, exactly Database.run.
                outcomes = [_attempt_alone(self._database, group[0])]
            else:
                try:
                    outcomes = self._database.run(lambda conn: [_attempt(conn, unit) for unit in group])
                except Exception:
                    # Nothing of the group was stored: each unit again, on its own.
                    outcomes = [_attempt_alone(self._database, unit) for unit in group]
        except BaseException:
            interrupted = StorageError("the shared transaction was interrupted", reason="storage_unavailable")
            for unit in group:
                _deliver(unit, False, interrupted)
            raise
        for unit, (ok, value) in zip(group, outcomes, strict=True):
            _deliver(unit, ok, value)


def _attempt_alone(database: Database, unit: _Unit[Any]) -> tuple[bool, Any]:
    try:
        return True, database.run(unit.work)
    except Exception as exc:
        return False, exc


def _attempt(conn: Connection, unit: _Unit[Any]) -> tuple[bool, Any]:
    # One unit inside the shared transaction: its own SAVEPOINT, released on success and
    # rolled back (alone) when it raises. Database errors are translated here, as
    # Database.transaction would translate them for a unit running on its own.
    savepoint = conn.begin_nested()
    try:
        with translate_errors():
            value = unit.work(conn)
    except Exception as exc:
        savepoint.rollback()
        return False, exc
    savepoint.commit()
    return True, value


def _deliver(unit: _Unit[Any], ok: bool, value: Any) -> None:
    if unit.future is not None:
        assert unit.loop is not None
        try:
            unit.loop.call_soon_threadsafe(_settle, unit.future, ok, value)
        except RuntimeError:
            pass  # the caller's loop is closed: nobody is waiting for the answer
        return
    if ok:
        unit.result = value
    else:
        unit.error = value
    unit.ready.set()


def _settle(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.done():  # the caller was cancelled
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)
