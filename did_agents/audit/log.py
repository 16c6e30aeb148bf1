"""The audit log: append (in the caller's transaction), query, verify the chain.

Appends are serialized so the chain never forks: each one locks the single
``audit_chain_head`` row (``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite
the ``BEGIN IMMEDIATE`` write transaction already excludes other writers),
takes ``seq = head.seq + 1`` and ``prev_hash = head.hash``, inserts the event
and moves the head. ``seq`` is the primary key, so even a bug that skipped the
lock could not store two events at one place in the chain.

Append the audit event last in a transaction: the head lock is then held only
until commit, and every transaction takes locks in the same order.

The database refuses UPDATE and DELETE on ``audit_events`` (triggers created by
the migration; SECURITY FLT-13).

The append's three statements are built once and run with parameter dicts (it
runs in every audited transaction; see :mod:`did_agents.storage.prepared`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, Row, bindparam, insert, select, update

from did_agents import strict_json
from did_agents.audit.event import (
    GENESIS_HASH,
    AuditEvent,
    AuditRecord,
    Decision,
    canonical_json,
    event_hash,
)
from did_agents.clock import Clock
from did_agents.errors import MalformedError, StorageError
from did_agents.storage.database import Database
from did_agents.storage.prepared import execute_direct
from did_agents.storage.schema import audit_chain_head, audit_events

__all__ = ["AuditLog", "AuditQuery", "ChainVerification", "record"]

_log = logging.getLogger(__name__)
_BATCH: Final = 1000
MAX_QUERY_LIMIT: Final = 10_000

_head = audit_chain_head.c
# The one head row, locked until commit (PostgreSQL: FOR UPDATE; SQLite renders no
# FOR UPDATE, its BEGIN IMMEDIATE write transaction already excludes other writers).
_LOCK_HEAD: Final = select(_head.seq, _head.hash).where(_head.id == 1).with_for_update()
_READ_HEAD: Final = select(_head.seq, _head.hash)
_INSERT_EVENT: Final = insert(audit_events).values({c.name: bindparam(f"b_{c.name}") for c in audit_events.c})
# The triggers let the head move by one only.
_MOVE_HEAD: Final = (
    update(audit_chain_head).where(_head.id == 1).values(seq=bindparam("b_seq"), hash=bindparam("b_hash"))
)
# PostgreSQL: the insert and the head move in one statement (one round trip). A
# data-modifying CTE runs exactly once, whatever the outer statement reads of it
# (PostgreSQL docs §7.8.4), and an error in either part fails the whole statement.
_INSERT_AND_MOVE_HEAD: Final = _INSERT_EVENT.add_cte(_MOVE_HEAD.returning(_head.seq).cte("moved_head"))
_GET: Final = select(audit_events).where(audit_events.c.seq == bindparam("b_seq"))
_BATCH_AFTER: Final = (
    select(audit_events)
    .where(audit_events.c.seq > bindparam("b_after"))
    .order_by(audit_events.c.seq)
    .limit(_BATCH)
)


@dataclass(frozen=True)
class AuditQuery:
    """Filters for :meth:`AuditLog.query`; all given filters must match."""

    type: str | None = None
    type_prefix: str | None = None  # e.g. "token_exchange."
    subject: str | None = None
    actor: str | None = None  # any position in the actor chain
    client_id: str | None = None
    decision: Decision | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    after_seq: int | None = None  # for paging
    limit: int = 100
    newest_first: bool = False


@dataclass(frozen=True)
class ChainVerification:
    """The result of :meth:`AuditLog.verify_chain`."""

    events_checked: int
    first_broken_seq: int | None = None
    reason: str | None = None  # hash_mismatch | prev_hash_mismatch | seq_gap | head_mismatch

    @property
    def ok(self) -> bool:
        return self.first_broken_seq is None


def _record(row: Row[Any]) -> AuditRecord:
    m = row._mapping
    event = AuditEvent(
        type=m["type"],
        decision=m["decision"],
        reason=m["reason"],
        subject=m["subject"],
        actors=tuple(strict_json.loads(m["actors"])),
        client_id=m["client_id"],
        action=m["action"],
        resource=m["resource"],
        details=strict_json.loads(m["details"]),
    )
    return AuditRecord(seq=m["seq"], time=m["time"], event=event, prev_hash=m["prev_hash"], hash=m["hash"])


class AuditLog:
    """The audit log seen through one connection (and so one transaction)."""

    def __init__(self, conn: Connection, clock: Clock) -> None:
        self._conn = conn
        self._clock = clock

    def append(self, event: AuditEvent) -> AuditRecord:
        """Chain ``event`` onto the log inside the caller's transaction."""
        heads = execute_direct(self._conn, _LOCK_HEAD, {}).rows
        if len(heads) != 1:
            raise StorageError("the audit chain head is missing (run migrations)", reason="audit_broken")
        seq, prev_hash = int(heads[0][0]) + 1, str(heads[0][1])
        time = self._clock.now()
        digest = event_hash(seq, time, event, prev_hash)
        row = {
            "b_seq": seq,
            "b_time": time,
            "b_type": event.type,
            "b_subject": event.subject,
            "b_actors": canonical_json(list(event.actors)),
            "b_client_id": event.client_id,
            "b_action": event.action,
            "b_resource": event.resource,
            "b_decision": event.decision,
            "b_reason": event.reason,
            "b_details": canonical_json(dict(event.details)),
            "b_prev_hash": prev_hash,
            "b_hash": digest,
        }
        if self._conn.dialect.name == "postgresql":
            self._conn.execute(_INSERT_AND_MOVE_HEAD, row)
        else:
            execute_direct(self._conn, _INSERT_EVENT, row)
            execute_direct(self._conn, _MOVE_HEAD, row)
        _log.debug("audit %s seq=%d decision=%s reason=%s", event.type, seq, event.decision, event.reason)
        return AuditRecord(seq=seq, time=time, event=event, prev_hash=prev_hash, hash=digest)

    def head(self) -> tuple[int, str]:
        """``(seq, hash)`` of the newest event (``(0, GENESIS_HASH)`` when empty)."""
        row = self._conn.execute(_READ_HEAD).one()
        return int(row.seq), str(row.hash)

    def get(self, seq: int) -> AuditRecord | None:
        row = self._conn.execute(_GET, {"b_seq": seq}).first()
        return None if row is None else _record(row)

    def query(self, q: AuditQuery | None = None) -> list[AuditRecord]:
        """Events matching ``q``, by ``seq`` (oldest first unless ``newest_first``)."""
        q = q or AuditQuery()
        if not 1 <= q.limit <= MAX_QUERY_LIMIT:
            raise ValueError(f"limit must be in 1..{MAX_QUERY_LIMIT}")
        c = audit_events.c
        query = select(audit_events)
        if q.type is not None:
            query = query.where(c.type == q.type)
        if q.type_prefix is not None:
            query = query.where(c.type.startswith(q.type_prefix, autoescape=True))
        if q.subject is not None:
            query = query.where(c.subject == q.subject)
        if q.actor is not None:
            # ``actors`` is JCS text; a DID never contains '"' or '\', so the quoted
            # DID matches exactly one whole array element.
            query = query.where(c.actors.contains(canonical_json(q.actor), autoescape=True))
        if q.client_id is not None:
            query = query.where(c.client_id == q.client_id)
        if q.decision is not None:
            query = query.where(c.decision == q.decision)
        if q.since is not None:
            query = query.where(c.time >= q.since)
        if q.until is not None:
            query = query.where(c.time < q.until)
        if q.after_seq is not None:
            query = query.where(c.seq < q.after_seq if q.newest_first else c.seq > q.after_seq)
        query = query.order_by(c.seq.desc() if q.newest_first else c.seq).limit(q.limit)
        return [_record(row) for row in self._conn.execute(query)]

    def _all(self) -> Iterator[Row[Any]]:
        last = 0
        while True:
            rows = self._conn.execute(_BATCH_AFTER, {"b_after": last}).all()
            if not rows:
                return
            yield from rows
            last = int(rows[-1].seq)

    def verify_chain(self) -> ChainVerification:
        """Recompute every hash. Reports the first ``seq`` whose event was altered,
        removed, inserted or reordered, or a head that does not match the tail
        (events cut off the end)."""
        expected_seq, prev_hash, checked = 1, GENESIS_HASH, 0
        for row in self._all():
            seq = int(row.seq)
            if seq != expected_seq:
                return ChainVerification(checked, expected_seq, "seq_gap")
            if row.prev_hash != prev_hash:
                return ChainVerification(checked, seq, "prev_hash_mismatch")
            try:
                record = _record(row)
                recomputed = event_hash(seq, record.time, record.event, record.prev_hash)
            except (ValueError, TypeError, MalformedError):  # a stored field no longer parses
                return ChainVerification(checked, seq, "hash_mismatch")
            if recomputed != row.hash:
                return ChainVerification(checked, seq, "hash_mismatch")
            checked += 1
            expected_seq, prev_hash = seq + 1, str(row.hash)
        head_seq, head_hash = self.head()
        tail = expected_seq - 1
        if head_seq != tail or head_hash != prev_hash:
            # Events cut off the end (head ahead), or a head moved back / rewritten.
            broken = head_seq if head_seq == tail else min(head_seq, tail) + 1
            return ChainVerification(checked, broken, "head_mismatch")
        return ChainVerification(checked)


def record(db: Database, clock: Clock, event: AuditEvent) -> AuditRecord:
    """Append ``event`` in its own transaction (for refusals, where nothing else is written)."""
    with db.transaction() as conn:
        return AuditLog(conn, clock).append(event)
