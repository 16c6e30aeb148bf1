"""Access tokens minted by the verifier (RFC 8693 / RFC 9068), kept for
introspection (RFC 7662) and audit. The ``jti`` is the primary key, so a token
id can never be minted twice."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, Row, bindparam, delete, select, update

from did_agents.errors import ConflictError
from did_agents.storage.prepared import execute_direct, ignoring_conflicts
from did_agents.storage.schema import access_tokens

__all__ = ["MintedToken", "TokenRepository"]

# Built once, run with parameter dicts (the compiled cache serves them as they are).
_c = access_tokens.c
_FIND: Final = select(access_tokens).where(_c.jti == bindparam("b_jti"))
_REVOKE: Final = (
    update(access_tokens)
    .where(_c.jti == bindparam("b_jti"), _c.revoked_at.is_(None))
    .values(revoked_at=bindparam("b_now"))
)
_PURGE: Final = delete(access_tokens).where(_c.exp < bindparam("b_before"))


@dataclass(frozen=True)
class MintedToken:
    jti: str
    sub: str
    client_id: str
    aud: str
    scope: str
    iat: datetime
    exp: datetime
    act: Mapping[str, Any] | None = None  # RFC 8693 §4.1, most recent actor outermost
    chain: Sequence[str] | None = None  # delegation credential ids, root first
    chain_digest: str | None = None
    kid: str | None = None
    revoked_at: datetime | None = None


def _token(row: Row[Any]) -> MintedToken:
    m = row._mapping
    chain = m["chain"]
    return MintedToken(
        jti=m["jti"],
        sub=m["sub"],
        client_id=m["client_id"],
        aud=m["aud"],
        scope=m["scope"],
        iat=m["iat"],
        exp=m["exp"],
        act=m["act"],
        chain=None if chain is None else tuple(chain),
        chain_digest=m["chain_digest"],
        kid=m["kid"],
        revoked_at=m["revoked_at"],
    )


class TokenRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def record(self, token: MintedToken) -> MintedToken:
        """Store a minted token; :class:`ConflictError` (``jti_exists``) if the jti was used."""
        inserted = execute_direct(
            self._conn,
            ignoring_conflicts(self._conn, access_tokens),
            {
                "jti": token.jti,
                "sub": token.sub,
                "client_id": token.client_id,
                "aud": token.aud,
                "scope": token.scope,
                "act": None if token.act is None else dict(token.act),
                "chain": None if token.chain is None else list(token.chain),
                "chain_digest": token.chain_digest,
                "kid": token.kid,
                "iat": token.iat,
                "exp": token.exp,
                "revoked_at": token.revoked_at,
            },
        )
        if inserted.rowcount != 1:
            raise ConflictError("a token with this jti exists", reason="jti_exists")
        return token

    def find(self, jti: str) -> MintedToken | None:
        row = self._conn.execute(_FIND, {"b_jti": jti}).first()
        return None if row is None else _token(row)

    def revoke(self, jti: str, *, now: datetime) -> bool:
        """Mark the token revoked; ``True`` if this call revoked it."""
        result = self._conn.execute(_REVOKE, {"b_jti": jti, "b_now": now})
        return result.rowcount == 1

    def purge_expired(self, before: datetime) -> int:
        """Delete tokens that expired before ``before`` (their audit events remain)."""
        result = self._conn.execute(_PURGE, {"b_before": before})
        return result.rowcount
