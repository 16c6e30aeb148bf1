"""Operators of the issuer/verifier (admins and auditors) and their bearer tokens.

Only the SHA-256 of a token is stored. A token is 256 random bits, so hashing
without a salt is enough (nothing to brute-force), and looking the hash up by
index reveals nothing useful about other tokens; the final comparison is
constant-time anyway.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from sqlalchemy import Connection, Row, bindparam, select, update

from did_agents.errors import ConflictError, NotFoundError, UnauthorizedError
from did_agents.storage.engine import insert_ignoring_conflicts
from did_agents.storage.schema import operators

__all__ = ["Operator", "OperatorRepository", "OperatorRole", "hash_token"]

OperatorRole = Literal["admin", "auditor"]

_TOKEN_BYTES = 32
_MAX_TOKEN_LENGTH = 512
# Built once (every operator request authenticates; see did_agents.storage.prepared).
_BY_TOKEN_HASH: Final = select(operators).where(operators.c.token_hash == bindparam("b_hash"))
_GET: Final = select(operators).where(operators.c.id == bindparam("b_id"))


def hash_token(token: str) -> str:
    """Hex SHA-256 of an operator token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Operator:
    id: str
    name: str
    role: OperatorRole
    created_at: datetime
    revoked_at: datetime | None = None


def _operator(row: Row[Any]) -> Operator:
    m = row._mapping
    return Operator(
        id=m["id"], name=m["name"], role=m["role"], created_at=m["created_at"], revoked_at=m["revoked_at"]
    )


class OperatorRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def create(self, name: str, role: OperatorRole, *, now: datetime) -> tuple[Operator, str]:
        """A new operator and its token. The token is returned once and never stored."""
        token = secrets.token_urlsafe(_TOKEN_BYTES)
        operator = Operator(id=uuid.uuid4().hex, name=name, role=role, created_at=now)
        inserted = self._conn.execute(
            insert_ignoring_conflicts(self._conn, operators).values(
                id=operator.id,
                name=name,
                role=role,
                token_hash=hash_token(token),
                created_at=now,
            )
        )
        if inserted.rowcount != 1:
            raise ConflictError("an operator with this name already exists", reason="operator_exists")
        return operator, token

    def authenticate(self, token: str) -> Operator:
        """The live operator holding ``token``, or :class:`UnauthorizedError`."""
        if not token or len(token) > _MAX_TOKEN_LENGTH:
            raise UnauthorizedError("invalid operator token", reason="invalid_operator_token")
        digest = hash_token(token)
        row = self._conn.execute(_BY_TOKEN_HASH, {"b_hash": digest}).first()
        if row is None or not hmac.compare_digest(row._mapping["token_hash"], digest):
            raise UnauthorizedError("invalid operator token", reason="invalid_operator_token")
        operator = _operator(row)
        if operator.revoked_at is not None:
            raise UnauthorizedError("invalid operator token", reason="invalid_operator_token")
        return operator

    def get(self, operator_id: str) -> Operator:
        row = self._conn.execute(_GET, {"b_id": operator_id}).first()
        if row is None:
            raise NotFoundError("no such operator", reason="operator_not_found")
        return _operator(row)

    def list_operators(self) -> list[Operator]:
        rows = self._conn.execute(select(operators).order_by(operators.c.created_at, operators.c.name))
        return [_operator(row) for row in rows]

    def revoke(self, operator_id: str, *, now: datetime) -> Operator:
        """Revoke the operator's token (idempotent; the first revocation time is kept)."""
        self._conn.execute(
            update(operators)
            .where(operators.c.id == operator_id, operators.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return self.get(operator_id)
