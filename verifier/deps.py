"""Dependencies of the verifier routes: the :class:`Verifier` and introspection-caller authentication."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from did_agents.clock import Clock
from did_agents.did.resolver import Resolver
from did_agents.errors import InvalidClientError, UnauthorizedError
from did_agents.exchange import StatusListSource, TokenExchange
from did_agents.storage.operators import OperatorRepository
from verifier.settings import VerifierSettings

__all__ = ["IntrospectionCaller", "Verifier", "VerifierDep", "get_verifier"]


@dataclass(frozen=True)
class Verifier:
    """What the routes use: the exchange core (database, policy, signer, resolver) and settings."""

    settings: VerifierSettings
    exchange: TokenExchange
    resolver: Resolver
    status_source: StatusListSource
    clock: Clock


async def get_verifier(request: Request) -> Verifier:
    # async: FastAPI runs a plain ``def`` dependency in the thread pool, a hop per request.
    verifier: Verifier = request.app.state.verifier
    return verifier


VerifierDep = Annotated[Verifier, Depends(get_verifier)]
_bearer = HTTPBearer(auto_error=False, description="An operator API token (`did-agents operator create`).")


def authenticate_caller(
    verifier: VerifierDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """RFC 7662 §2.1: introspection callers authenticate; here with an operator bearer token."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise InvalidClientError("introspection requires caller authentication", reason="missing_credentials")
    try:
        with verifier.exchange.database.read() as conn:
            operator = OperatorRepository(conn).authenticate(credentials.credentials)
    except UnauthorizedError as exc:
        raise InvalidClientError("caller authentication failed", reason="invalid_credentials") from exc
    return f"operator:{operator.name}"


IntrospectionCaller = Annotated[str, Depends(authenticate_caller)]
