"""The issuing organization and the public halves of its keys.

Private keys stay in the key store (:mod:`did_agents.keystore`); this table is
what the DID document and JWKS are built from. A partial unique index allows
one active key per purpose, so two concurrent rotations cannot both win.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from sqlalchemy import Connection, Row, bindparam, select, update

from did_agents.errors import ConflictError, NotFoundError
from did_agents.storage.engine import insert_ignoring_conflicts
from did_agents.storage.schema import org_keys, organization

__all__ = ["OrgKey", "OrgKeyStatus", "Organization", "OrganizationRepository"]

OrgKeyStatus = Literal["active", "retired"]

# Built once, run with parameter dicts (see did_agents.storage.prepared).
_ORGANIZATION: Final = select(organization)
_ACTIVE_KEY: Final = select(org_keys).where(
    org_keys.c.purpose == bindparam("b_purpose"), org_keys.c.status == "active"
)


@dataclass(frozen=True)
class Organization:
    did: str
    host: str
    created_at: datetime


@dataclass(frozen=True)
class OrgKey:
    kid: str
    organization_did: str
    purpose: str
    public_jwk: Mapping[str, Any]
    status: OrgKeyStatus
    created_at: datetime
    retired_at: datetime | None = None


def _key(row: Row[Any]) -> OrgKey:
    m = row._mapping
    return OrgKey(
        kid=m["kid"],
        organization_did=m["organization_did"],
        purpose=m["purpose"],
        public_jwk=m["public_jwk"],
        status=m["status"],
        created_at=m["created_at"],
        retired_at=m["retired_at"],
    )


class OrganizationRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get(self) -> Organization | None:
        """The organization, if it was set up (there is at most one)."""
        row = self._conn.execute(_ORGANIZATION).first()
        if row is None:
            return None
        m = row._mapping
        return Organization(did=m["did"], host=m["host"], created_at=m["created_at"])

    def create(self, did: str, host: str, *, now: datetime) -> Organization:
        """Record the organization; refuses if one exists already."""
        inserted = self._conn.execute(
            insert_ignoring_conflicts(self._conn, organization).values(
                id=1, did=did, host=host, created_at=now
            )
        )
        if inserted.rowcount != 1:
            raise ConflictError("the organization is already set up", reason="organization_exists")
        return Organization(did=did, host=host, created_at=now)

    def add_key(self, key: OrgKey) -> OrgKey:
        """Store a public key. Adding an active key while another is active for the
        same purpose is a :class:`ConflictError` (``active_key_exists``): retire first,
        in the same transaction."""
        inserted = self._conn.execute(
            insert_ignoring_conflicts(self._conn, org_keys).values(
                kid=key.kid,
                organization_did=key.organization_did,
                purpose=key.purpose,
                public_jwk=dict(key.public_jwk),
                status=key.status,
                created_at=key.created_at,
                retired_at=key.retired_at,
            )
        )
        if inserted.rowcount != 1:
            raise ConflictError(
                "this kid exists, or another key is active for this purpose", reason="active_key_exists"
            )
        return key

    def keys(self, *, status: OrgKeyStatus | None = None) -> list[OrgKey]:
        query = select(org_keys).order_by(org_keys.c.created_at, org_keys.c.kid)
        if status is not None:
            query = query.where(org_keys.c.status == status)
        return [_key(row) for row in self._conn.execute(query)]

    def active_key(self, purpose: str) -> OrgKey:
        row = self._conn.execute(_ACTIVE_KEY, {"b_purpose": purpose}).first()
        if row is None:
            raise NotFoundError(f"no active key for purpose {purpose!r}", reason="no_active_key")
        return _key(row)

    def retire_key(self, kid: str, *, now: datetime) -> None:
        """Mark ``kid`` retired (kept published for verification, SECURITY FLT-08)."""
        self._conn.execute(
            update(org_keys)
            .where(org_keys.c.kid == kid, org_keys.c.status == "active")
            .values(status="retired", retired_at=now)
        )

    def delete_key(self, kid: str) -> bool:
        """Remove a retired key (it leaves the JWKS). Active keys are never deleted."""
        result = self._conn.execute(
            org_keys.delete().where(org_keys.c.kid == kid, org_keys.c.status == "retired")
        )
        return result.rowcount == 1
