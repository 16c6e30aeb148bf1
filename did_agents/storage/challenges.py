"""Single-use, expiring challenges for presentation proofs (SECURITY SEC-23, FLT-05).

Spending is one conditional ``UPDATE ... WHERE spent_at IS NULL AND
expires_at > now``: of any number of concurrent spends exactly one sees a row
count of 1 (VC Data Model 2.0, Security Considerations, "Replay Attack": the
verifier enforces challenge uniqueness). The spend returns the row it changed
(``RETURNING``: SQLite ≥ 3.35, PostgreSQL), so a successful spend is one
statement (run directly on the driver, :func:`~did_agents.storage.prepared.execute_direct`);
only after a refusal is the row read again, to say why.

The statements are built once (module level) with bound parameters and run
with parameter dicts: SQLAlchemy's compiled cache then serves them without
rebuilding or re-keying (the spend runs in every token exchange's transaction).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Connection, Row, bindparam, delete, insert, or_, select, update
from sqlalchemy.sql.expression import Update

from did_agents.errors import VerificationError
from did_agents.storage.prepared import direct_datetime, execute_direct
from did_agents.storage.schema import challenges

__all__ = ["Challenge", "ChallengeRepository"]

_NONCE_BYTES = 32
_MAX_NONCE_LENGTH = 128

_c = challenges.c
_INSERT: Final = insert(challenges)
_FIND: Final = select(challenges).where(_c.nonce == bindparam("b_nonce"))
_PURGE: Final = delete(challenges).where(_c.expires_at <= bindparam("b_before"))


def _spend_statement(*, purpose: bool, domain: bool) -> Update:
    conditions = [
        _c.nonce == bindparam("b_nonce"),
        _c.spent_at.is_(None),
        _c.expires_at > bindparam("b_now"),
        # A challenge bound to a client can only be spent by that client. With
        # b_client NULL, ``client_id = NULL`` is never true: unbound challenges only.
        or_(_c.client_id.is_(None), _c.client_id == bindparam("b_client")),
    ]
    if purpose:
        conditions.append(_c.purpose == bindparam("b_purpose"))
    if domain:
        conditions.append(_c.domain == bindparam("b_domain"))
    return (
        update(challenges)
        .where(*conditions)
        .values(spent_at=bindparam("b_spent_at"))
        .returning(*challenges.c)
    )


# Keyed by (purpose given, domain given).
_SPEND: Final = {
    (purpose, domain): _spend_statement(purpose=purpose, domain=domain)
    for purpose in (False, True)
    for domain in (False, True)
}


@dataclass(frozen=True)
class Challenge:
    nonce: str
    purpose: str
    domain: str
    created_at: datetime
    expires_at: datetime
    client_id: str | None = None
    spent_at: datetime | None = None


def _challenge(row: Row[Any]) -> Challenge:
    m = row._mapping
    return Challenge(
        nonce=m["nonce"],
        purpose=m["purpose"],
        domain=m["domain"],
        created_at=m["created_at"],
        expires_at=m["expires_at"],
        client_id=m["client_id"],
        spent_at=m["spent_at"],
    )


_COLUMNS: Final = tuple(column.key for column in challenges.c)


def _spent(values: tuple[Any, ...]) -> Challenge:
    """The row the spend's ``RETURNING`` gave back (columns in table order)."""
    m = dict(zip(_COLUMNS, values, strict=True))
    created_at, expires_at = direct_datetime(m["created_at"]), direct_datetime(m["expires_at"])
    assert created_at is not None and expires_at is not None  # NOT NULL columns
    return Challenge(
        nonce=m["nonce"],
        purpose=m["purpose"],
        domain=m["domain"],
        created_at=created_at,
        expires_at=expires_at,
        client_id=m["client_id"],
        spent_at=direct_datetime(m["spent_at"]),
    )


class ChallengeRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def issue(
        self,
        *,
        purpose: str,
        domain: str,
        ttl: timedelta,
        now: datetime,
        client_id: str | None = None,
    ) -> Challenge:
        """A fresh 256-bit nonce bound to ``purpose``, ``domain`` and optionally a client."""
        if ttl <= timedelta(0):
            raise ValueError("challenge ttl must be positive")
        challenge = Challenge(
            nonce=secrets.token_urlsafe(_NONCE_BYTES),
            purpose=purpose,
            domain=domain,
            created_at=now,
            expires_at=now + ttl,
            client_id=client_id,
        )
        self._conn.execute(
            _INSERT,
            {
                "nonce": challenge.nonce,
                "purpose": purpose,
                "domain": domain,
                "client_id": client_id,
                "created_at": now,
                "expires_at": challenge.expires_at,
            },
        )
        return challenge

    def find(self, nonce: str) -> Challenge | None:
        if not nonce or len(nonce) > _MAX_NONCE_LENGTH:
            return None
        row = self._conn.execute(_FIND, {"b_nonce": nonce}).first()
        return None if row is None else _challenge(row)

    def spend(
        self,
        nonce: str,
        now: datetime,
        *,
        purpose: str | None = None,
        domain: str | None = None,
        client_id: str | None = None,
    ) -> Challenge:
        """Atomically mark the challenge spent, or raise :class:`VerificationError`
        with reason ``challenge_unknown`` / ``challenge_expired`` /
        ``challenge_spent`` / ``challenge_mismatch``.

        ``purpose`` and ``domain``, when given, must match what the challenge was
        issued for, and a challenge issued to a client is spendable by that
        ``client_id`` only; a mismatch does not spend it.
        """
        if nonce and len(nonce) <= _MAX_NONCE_LENGTH:
            # One conditional UPDATE ... RETURNING: of concurrent spends exactly one gets the row.
            params: dict[str, Any] = {
                "b_nonce": nonce,
                "b_now": now,
                "b_spent_at": now,
                "b_client": client_id,
            }
            if purpose is not None:
                params["b_purpose"] = purpose
            if domain is not None:
                params["b_domain"] = domain
            rows = execute_direct(self._conn, _SPEND[purpose is not None, domain is not None], params).rows
            if rows:
                return _spent(rows[0])
        raise self._why_refused(nonce, now, purpose=purpose, domain=domain, client_id=client_id)

    def _why_refused(
        self,
        nonce: str,
        now: datetime,
        *,
        purpose: str | None,
        domain: str | None,
        client_id: str | None,
    ) -> VerificationError:
        challenge = self.find(nonce)
        if challenge is None:
            return VerificationError("unknown challenge", reason="challenge_unknown")
        if challenge.spent_at is not None:
            return VerificationError("challenge already used", reason="challenge_spent")
        if challenge.expires_at <= now:
            return VerificationError("challenge expired", reason="challenge_expired")
        if (
            (purpose is not None and challenge.purpose != purpose)
            or (domain is not None and challenge.domain != domain)
            or (challenge.client_id is not None and challenge.client_id != client_id)
        ):
            return VerificationError("challenge issued for another use", reason="challenge_mismatch")
        # Spent by a concurrent request between our UPDATE and this read.
        return VerificationError("challenge already used", reason="challenge_spent")

    def purge(self, now: datetime, *, keep: timedelta = timedelta(0)) -> int:
        """Delete challenges that expired before ``now - keep``. A purged nonce
        reads as unknown, which is refused just the same."""
        result = self._conn.execute(_PURGE, {"b_before": now - keep})
        return result.rowcount
