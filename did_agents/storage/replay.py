"""Replay cache for actor-token ``jti`` values (RFC 7523 §3 item 7; SECURITY SEC-18, FLT-05).

:meth:`ReplayCache.remember` is one ``INSERT ... ON CONFLICT DO NOTHING`` on
the ``(issuer, jti)`` primary key: of concurrent presentations of the same
token exactly one inserts the row. Dedupe is on the decoded ``jti``, never on
token bytes (SECURITY SEC-12).
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import Connection, bindparam, delete

from did_agents.storage.prepared import ignoring_conflicts
from did_agents.storage.schema import replay_cache

__all__ = ["ReplayCache"]

_PURGE: Final = delete(replay_cache).where(replay_cache.c.expires_at <= bindparam("b_now"))


class ReplayCache:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def remember(self, issuer: str, jti: str, *, expires_at: datetime, now: datetime) -> bool:
        """Record ``(issuer, jti)``. ``True`` the first time, ``False`` for a replay.

        Keep ``expires_at`` at least the token's ``exp`` (plus any leeway): the
        row must outlive every moment the token could still be accepted.
        """
        if not jti:
            raise ValueError("jti must be non-empty")
        inserted = self._conn.execute(
            ignoring_conflicts(self._conn, replay_cache),
            {"issuer": issuer, "jti": jti, "seen_at": now, "expires_at": expires_at},
        )
        return inserted.rowcount == 1

    def purge(self, now: datetime) -> int:
        """Forget entries whose tokens can no longer be accepted anyway."""
        result = self._conn.execute(_PURGE, {"b_now": now})
        return result.rowcount
