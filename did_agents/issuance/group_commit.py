"""Group commit: concurrent write transactions of the issuer share one SQLite commit.

SQLite has one writer at a time, and with ``synchronous=FULL`` every commit
waits for an fsync of the WAL. Under concurrent requests the writers queue
(on :class:`~did_agents.storage.database.Database`'s mutex) and each pays its
own BEGIN, COMMIT and fsync. :class:`GroupCommit` runs the units of work that
are waiting at the same time in *one* transaction, each inside its own
``SAVEPOINT``:

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

The thread that finds no group running leads: it takes up to ``max_group``
waiting units, runs and commits them, and hands the lead to the first unit
that arrived meanwhile, so no caller waits for more than the group in front
of it. Alone, a unit runs in a plain transaction, as :meth:`Database.run`
would. On PostgreSQL (concurrent writers, its own group commit)
:meth:`GroupCommit.run` is :meth:`Database.run`.
"""

from __future__ import annotations

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


@dataclass(eq=False)
class _Unit(Generic[T]):
    work: Callable[[Connection], T]
    ready: threading.Event = field(default_factory=threading.Event)
    lead: bool = False
    done: bool = False
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
        self._queue: list[_Unit[Any]] = []
        self._leading = False
        self._leader_thread: int | None = None

    def run(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in a write transaction (perhaps shared) and return its result once committed.

        Raises what ``work`` raised (its writes rolled back), or the
        :class:`~did_agents.errors.StorageError` of a failed commit.
        """
        if self._database.backend != "sqlite":
            return self._database.run(work)
        if self._leader_thread == threading.get_ident():
            # Called from inside a unit: it would wait for the group it is part of.
            raise RuntimeError("nested write transaction: pass the open connection instead")
        unit: _Unit[T] = _Unit(work)
        with self._lock:
            self._queue.append(unit)
            if not self._leading:
                self._leading = True
                unit.lead = True
        if not unit.lead:
            unit.ready.wait()
        if not unit.done:  # made leader, by the caller or by the previous leader
            self._lead(unit)
        if unit.error is not None:
            raise unit.error
        result: T = unit.result
        return result

    def _lead(self, me: _Unit[Any]) -> None:
        # Invariant: a queue that is not empty has a leader (or one being handed the lead),
        # and a new leader's unit is first in the queue, so the first group holds it.
        with self._lock:
            group = self._queue[: self._max_group]
            del self._queue[: len(group)]
        self._leader_thread = threading.get_ident()
        try:
            self._commit(group)
        finally:
            self._leader_thread = None
            with self._lock:
                if self._queue:
                    successor = self._queue[0]
                    successor.lead = True
                    successor.ready.set()
                else:
                    self._leading = False
        assert me.done

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
        except BaseException as exc:
            interrupted = StorageError("the shared transaction was interrupted", reason="storage_unavailable")
            for unit in group:
                _deliver(unit, False, exc if unit.lead else interrupted)
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
    if ok:
        unit.result = value
    else:
        unit.error = value
    unit.done = True
    unit.ready.set()
