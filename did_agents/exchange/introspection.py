"""RFC 7662 token introspection for the access tokens this verifier minted.

A token is active only if it verifies with one of our published keys
(``typ`` ``at+jwt``), names us as ``iss``, has not expired, and its ``jti`` is
on record and not revoked. Anything else is ``{"active": false}`` with no
reason (RFC 7662 §2.2: the server SHOULD NOT say why). Authentication of the
caller is the service's business (RFC 7662 §2.1).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from did_agents.clock import Clock
from did_agents.errors import DIDAgentsError
from did_agents.exchange.access_token import AccessTokenSigner
from did_agents.storage.database import Database
from did_agents.storage.tokens import TokenRepository

__all__ = ["introspect"]

_INACTIVE = {"active": False}
_MAX_TOKEN_LENGTH = 16 * 1024


async def introspect(
    token: str, *, signer: AccessTokenSigner, database: Database, issuer: str, clock: Clock
) -> dict[str, Any]:
    """The RFC 7662 §2.2 response for ``token`` (``act`` included, RFC 8693 §4.1)."""
    if not token or len(token) > _MAX_TOKEN_LENGTH:
        return dict(_INACTIVE)
    try:
        claims = signer.verify(token)
    except DIDAgentsError:
        return dict(_INACTIVE)
    jti = claims.get("jti")
    exp = claims.get("exp")
    if claims.get("iss") != issuer or not isinstance(jti, str) or type(exp) is not int:
        return dict(_INACTIVE)
    if int(clock.now().timestamp()) >= exp:
        return dict(_INACTIVE)

    def lookup(conn: Connection) -> bool:
        stored = TokenRepository(conn).find(jti)
        return stored is not None and stored.revoked_at is None

    if not await database.read_async(lookup):
        return dict(_INACTIVE)
    response: dict[str, Any] = {"active": True, "token_type": "Bearer"}
    for name in ("scope", "client_id", "sub", "aud", "iss", "exp", "iat", "jti", "act", "delegation"):
        if name in claims:
            response[name] = claims[name]
    return response
