"""Dependencies of the issuer routes: the :class:`Issuer` and operator authentication.

Operators authenticate with ``Authorization: Bearer <token>`` (RFC 6750 §2.1).
A missing token is 401 with ``WWW-Authenticate: Bearer realm="did-agents"``; a
wrong or revoked one adds ``error="invalid_token"``; an operator without the
required role gets 403 with ``error="insufficient_scope"`` (RFC 6750 §3, §3.1).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from did_agents.errors import ForbiddenError, UnauthorizedError
from did_agents.issuance.context import Actor, Issuer
from did_agents.storage.operators import OperatorRepository

__all__ = ["ANONYMOUS", "IssuerDep", "get_issuer", "require_role"]

ANONYMOUS = Actor(id="anonymous")
_bearer = HTTPBearer(auto_error=False, description="An operator API token (`did-agents operator create`).")


async def get_issuer(request: Request) -> Issuer:
    issuer: Issuer = request.app.state.issuer
    return issuer


IssuerDep = Annotated[Issuer, Depends(get_issuer)]


async def _authenticate(issuer: Issuer, credentials: HTTPAuthorizationCredentials | None) -> Actor:
    """The live operator holding the bearer token, read from the database on every request
    (a revoked token stops working at once). On SQLite the read runs on the event loop
    (:meth:`~did_agents.storage.database.Database.read_async`): cheaper than a thread hop."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise UnauthorizedError("operator credentials are required", reason="missing_token")
    token = credentials.credentials
    operator = await issuer.database.read_async(lambda conn: OperatorRepository(conn).authenticate(token))
    return Actor(id=f"operator:{operator.name}", role=operator.role)


def require_role(*roles: str) -> Callable[..., Awaitable[Actor]]:
    """A dependency that yields the authenticated operator if it holds one of ``roles``."""

    async def dependency(
        issuer: IssuerDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Actor:
        actor = await _authenticate(issuer, credentials)
        if actor.role not in roles:
            raise ForbiddenError(f"this needs the {' or '.join(roles)} role", reason="insufficient_role")
        return actor

    return dependency


async def optional_admin_for_open_issue(
    request: Request,
    issuer: IssuerDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    """``POST /credentials/issue``: admin, unless ``DID_AGENTS_VC_API_OPEN_ISSUE`` is on."""
    if request.app.state.settings.vc_api_open_issue and credentials is None:
        return ANONYMOUS
    actor = await _authenticate(issuer, credentials)
    if actor.role != "admin":
        raise ForbiddenError("this needs the admin role", reason="insufficient_role")
    return actor


Admin = Annotated[Actor, Depends(require_role("admin"))]
Auditor = Annotated[Actor, Depends(require_role("auditor"))]
Reader = Annotated[Actor, Depends(require_role("admin", "auditor"))]
IssueActor = Annotated[Actor, Depends(optional_admin_for_open_issue)]
