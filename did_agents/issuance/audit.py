"""The issuer's view of the hash-chained audit log: one writer, :class:`did_agents.audit.AuditLog`.

Appending runs in the caller's transaction, so the event commits with the
change it records, or not at all (SECURITY FLT-03, FLT-13); the chain head is
locked by ``AuditLog.append`` so the chain never forks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from did_agents.audit.event import AuditEvent, AuditRecord
from did_agents.audit.log import AuditLog, AuditQuery
from did_agents.clock import FixedClock, SystemClock

__all__ = ["ChainCheck", "append_event", "list_events", "verify_chain"]

_PROBLEMS = {
    "seq_gap": "a sequence number is missing",
    "prev_hash_mismatch": "prev_hash does not link to the previous event",
    "hash_mismatch": "the event's hash does not match its content",
    "head_mismatch": "the chain head does not match the last event",
}


def append_event(conn: Connection, event: AuditEvent, now: datetime) -> AuditRecord:
    """Append ``event`` at ``now`` in the caller's transaction."""
    return AuditLog(conn, FixedClock(now)).append(event)


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
    query = AuditQuery(
        type_prefix=type_prefix or None,
        subject=subject or None,
        decision=decision or None,  # type: ignore[arg-type]  # validated by the route
        after_seq=after_seq,
        limit=limit,
    )
    return AuditLog(conn, SystemClock()).query(query)


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    events: int
    #: The first sequence number whose hash or link does not verify.
    broken_at: int | None = None
    problem: str | None = None


def verify_chain(conn: Connection) -> ChainCheck:
    """Recompute every hash and link, and compare the last one with the chain head."""
    result = AuditLog(conn, SystemClock()).verify_chain()
    if result.ok:
        return ChainCheck(True, result.events_checked)
    return ChainCheck(
        False,
        result.events_checked,
        result.first_broken_seq,
        _PROBLEMS.get(result.reason or "", result.reason),
    )
