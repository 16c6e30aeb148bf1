"""Appending the issuer's events to the hash-chained audit log, and reading it back.

The chain recipe is :mod:`did_agents.audit.event`'s. Appending locks the single
``audit_chain_head`` row (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's
``BEGIN IMMEDIATE`` already serializes writers) so the chain never forks, and
runs in the caller's transaction: the event commits with the change it
records, or not at all (SECURITY FLT-03, FLT-13).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, bindparam, select, update

from did_agents.audit.event import GENESIS_HASH, AuditEvent, AuditRecord, canonical_json, event_hash
from did_agents.errors import StorageError
from did_agents.storage.schema import audit_chain_head, audit_events

__all__ = ["ChainCheck", "append_event", "list_events", "verify_chain"]


# Built once: SQLAlchemy compiles each of them once (its statement cache) and every
# append only binds parameters, instead of building and cache-keying new
# statements from literal values each time.
_HEAD: Final = (
    select(audit_chain_head.c.seq, audit_chain_head.c.hash)
    .where(audit_chain_head.c.id == 1)
    .with_for_update()
)
_INSERT: Final = audit_events.insert()
_ADVANCE: Final = (
    update(audit_chain_head)
    .where(audit_chain_head.c.id == 1)
    .values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
)


def append_event(conn: Connection, event: AuditEvent, now: datetime) -> AuditRecord:
    """Append ``event`` at ``now`` in the caller's transaction."""
    head = conn.execute(_HEAD).first()
    if head is None:
        raise StorageError(
            "the audit chain head is missing (database not migrated?)", reason="storage_unavailable"
        )
    seq = int(head.seq) + 1
    digest = event_hash(seq, now, event, head.hash)
    conn.execute(
        _INSERT,
        {
            "seq": seq,
            "time": now,
            "type": event.type,
            "subject": event.subject,
            "actors": canonical_json(list(event.actors)),
            "client_id": event.client_id,
            "action": event.action,
            "resource": event.resource,
            "decision": event.decision,
            "reason": event.reason,
            "details": canonical_json(dict(event.details)),
            "prev_hash": head.hash,
            "hash": digest,
        },
    )
    conn.execute(_ADVANCE, {"new_seq": seq, "new_hash": digest})
    return AuditRecord(seq=seq, time=now, event=event, prev_hash=head.hash, hash=digest)


def _record(row: Any) -> AuditRecord:
    m = row._mapping
    event = AuditEvent(
        type=m["type"],
        decision=m["decision"],
        reason=m["reason"],
        subject=m["subject"],
        actors=tuple(json.loads(m["actors"])),
        client_id=m["client_id"],
        action=m["action"],
        resource=m["resource"],
        details=json.loads(m["details"]),
    )
    return AuditRecord(seq=m["seq"], time=m["time"], event=event, prev_hash=m["prev_hash"], hash=m["hash"])


def list_events(
    conn: Connection,
    *,
    type_prefix: str | None = None,
    subject: str | None = None,
    decision: str | None = None,
    after_seq: int = 0,
    limit: int = 100,
) -> list[AuditRecord]:
    """Events in chain order after ``after_seq``, filtered (``type_prefix`` matches ``agent.`` etc.)."""
    query = (
        select(audit_events).where(audit_events.c.seq > after_seq).order_by(audit_events.c.seq).limit(limit)
    )
    if type_prefix:
        query = query.where(audit_events.c.type.startswith(type_prefix, autoescape=True))
    if subject:
        query = query.where(audit_events.c.subject == subject)
    if decision:
        query = query.where(audit_events.c.decision == decision)
    return [_record(row) for row in conn.execute(query)]


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    events: int
    #: The first sequence number whose hash or link does not verify.
    broken_at: int | None = None
    problem: str | None = None


def verify_chain(conn: Connection, *, batch: int = 1000) -> ChainCheck:
    """Recompute every hash and link, and compare the last one with the chain head."""
    prev = GENESIS_HASH
    expected_seq = 1
    after = 0
    count = 0
    while True:
        records = list_events(conn, after_seq=after, limit=batch)
        if not records:
            break
        for record in records:
            if record.seq != expected_seq:
                return ChainCheck(False, count, record.seq, "a sequence number is missing")
            if record.prev_hash != prev:
                return ChainCheck(False, count, record.seq, "prev_hash does not link to the previous event")
            if event_hash(record.seq, record.time, record.event, record.prev_hash) != record.hash:
                return ChainCheck(False, count, record.seq, "the event's hash does not match its content")
            prev = record.hash
            expected_seq += 1
            after = record.seq
            count += 1
    head = conn.execute(select(audit_chain_head.c.seq, audit_chain_head.c.hash)).first()
    if head is None or int(head.seq) != count or head.hash != prev:
        return ChainCheck(False, count, count, "the chain head does not match the last event")
    return ChainCheck(True, count)
