"""Credentials the issuer has issued, as issued (the secured form).

Statements are built once and run with parameter dicts (:mod:`did_agents.storage.prepared`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from sqlalchemy import Connection, Row, bindparam, select, update

from did_agents.errors import ConflictError, NotFoundError
from did_agents.storage.prepared import execute_direct, ignoring_conflicts
from did_agents.storage.schema import issued_credentials, status_allocations, status_lists

__all__ = ["CredentialFormat", "CredentialRepository", "IssuedCredential", "StatusEntry", "latest_unrevoked"]

# VCDM 2.0 §6.3 (embedded proof) and VC-JOSE-COSE §6.1.1 (enveloping JWS).
CredentialFormat = Literal["application/vc", "application/vc+jwt"]

_c = issued_credentials.c
_FIND: Final = select(issued_credentials).where(_c.id == bindparam("b_id"))
_BY_SUBJECT: Final = (
    select(issued_credentials)
    .where(_c.subject_did == bindparam("b_subject"))
    .order_by(_c.issued_at, _c.id)
    .limit(bindparam("b_limit"))
)
_BY_AGENT: Final = (
    select(issued_credentials)
    .where(_c.agent_id == bindparam("b_agent"))
    .order_by(_c.issued_at, _c.id)
    .limit(bindparam("b_limit"))
)
_MARK_REVOKED: Final = (
    update(issued_credentials)
    .where(_c.id == bindparam("b_id"), _c.revoked_at.is_(None))
    .values(revoked_at=bindparam("b_now"))
)
_STATUS_ENTRIES: Final = (
    select(status_allocations.c.list_id, status_lists.c.purpose, status_allocations.c.status_index)
    .join(status_lists, status_lists.c.id == status_allocations.c.list_id)
    .where(status_allocations.c.credential_id == bindparam("b_id"))
    .order_by(status_lists.c.purpose)
)


@dataclass(frozen=True)
class IssuedCredential:
    id: str
    type: str
    issuer_did: str
    subject_did: str
    format: CredentialFormat
    body: str  # JSON text or compact JWS, exactly as issued
    issued_at: datetime
    agent_id: str | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class StatusEntry:
    """Where a credential's status lives (Bitstring Status List §2.1 entry)."""

    list_id: str
    purpose: str
    index: int


def _credential(row: Row[Any]) -> IssuedCredential:
    m = row._mapping
    return IssuedCredential(
        id=m["id"],
        type=m["type"],
        issuer_did=m["issuer_did"],
        subject_did=m["subject_did"],
        format=m["format"],
        body=m["body"],
        issued_at=m["issued_at"],
        agent_id=m["agent_id"],
        valid_from=m["valid_from"],
        valid_until=m["valid_until"],
        revoked_at=m["revoked_at"],
    )


class CredentialRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, credential: IssuedCredential) -> IssuedCredential:
        """Store an issued credential; :class:`ConflictError` (``credential_exists``) on a reused id."""
        inserted = execute_direct(
            self._conn,
            ignoring_conflicts(self._conn, issued_credentials),
            {
                "id": credential.id,
                "type": credential.type,
                "issuer_did": credential.issuer_did,
                "subject_did": credential.subject_did,
                "agent_id": credential.agent_id,
                "format": credential.format,
                "body": credential.body,
                "valid_from": credential.valid_from,
                "valid_until": credential.valid_until,
                "issued_at": credential.issued_at,
                "revoked_at": credential.revoked_at,
            },
        )
        if inserted.rowcount != 1:
            raise ConflictError("a credential with this id exists", reason="credential_exists")
        return credential

    def find(self, credential_id: str) -> IssuedCredential | None:
        row = self._conn.execute(_FIND, {"b_id": credential_id}).first()
        return None if row is None else _credential(row)

    def get(self, credential_id: str) -> IssuedCredential:
        credential = self.find(credential_id)
        if credential is None:
            raise NotFoundError("no such credential", reason="credential_not_found")
        return credential

    def by_subject(self, subject_did: str, *, limit: int = 100) -> list[IssuedCredential]:
        rows = self._conn.execute(_BY_SUBJECT, {"b_subject": subject_did, "b_limit": limit})
        return [_credential(row) for row in rows]

    def by_agent(self, agent_id: str, *, limit: int = 100) -> list[IssuedCredential]:
        rows = self._conn.execute(_BY_AGENT, {"b_agent": agent_id, "b_limit": limit})
        return [_credential(row) for row in rows]

    def mark_revoked(self, credential_id: str, *, now: datetime) -> bool:
        """Record the revocation time (the status bit is set through
        :class:`~did_agents.storage.status_lists.StatusListRepository`). Returns
        whether this call revoked it (``False`` if it already was)."""
        result = self._conn.execute(_MARK_REVOKED, {"b_id": credential_id, "b_now": now})
        if result.rowcount == 1:
            return True
        self.get(credential_id)  # NotFoundError if it does not exist
        return False

    def status_entries(self, credential_id: str) -> list[StatusEntry]:
        """The credential's status-list entries (one per purpose)."""
        return [
            StatusEntry(list_id=row.list_id, purpose=row.purpose, index=row.status_index)
            for row in self._conn.execute(_STATUS_ENTRIES, {"b_id": credential_id})
        ]


def latest_unrevoked(credentials: Iterable[IssuedCredential], type: str) -> IssuedCredential | None:
    """The last of ``credentials`` (in the repository's order, oldest first) of ``type`` that is
    not revoked."""
    live = [c for c in credentials if c.revoked_at is None and c.type == type]
    return live[-1] if live else None
