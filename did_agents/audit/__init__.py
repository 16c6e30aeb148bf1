"""Append-only, hash-chained audit events (DESIGN §8, SECURITY FLT-13).

Write events with :class:`AuditLog` on the connection of the business
transaction they describe, so both commit or neither does::

    with db.transaction() as conn:
        TokenRepository(conn).record(token)
        AuditLog(conn, clock).append(AuditEvent(type="token_exchange.granted", ...))

Refusals, which write nothing else, use :func:`record`.
"""

from did_agents.audit.event import (
    GENESIS_HASH,
    AuditEvent,
    AuditRecord,
    Decision,
    digest,
    event_hash,
)
from did_agents.audit.log import AuditLog, AuditQuery, ChainVerification, record

__all__ = [
    "GENESIS_HASH",
    "AuditEvent",
    "AuditLog",
    "AuditQuery",
    "AuditRecord",
    "ChainVerification",
    "Decision",
    "digest",
    "event_hash",
    "record",
]
