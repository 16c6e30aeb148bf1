"""Exchanging presentations for access tokens at a did-agents verifier, with a per-target cache.

The flow (DESIGN §6): ``POST /challenges`` → sign a presentation bound to the
challenge and the verifier's domain → ``POST /oauth/token`` (RFC 8693 §2.1)
with the presentation as ``subject_token``, an actor token signed with the
agent's key, ``resource`` (RFC 8707) and ``scope``. The answer (RFC 8693 §2.2.1)
is cached per ``(resource, scope)`` until ``refresh_margin`` before it expires.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

import anyio
import httpx

from did_agents import strict_json
from did_agents.clock import Clock, SystemClock
from did_agents.errors import (
    DIDAgentsError,
    InvalidScopeError,
    InvalidTargetError,
    MalformedError,
    VerificationError,
)
from did_agents.exchange.request import GRANT_TYPE_TOKEN_EXCHANGE, JWT_TOKEN_TYPE, VP_TOKEN_TYPE

__all__ = [
    "GRANT_TYPE",
    "JWT_TOKEN_TYPE",
    "VP_TOKEN_TYPE",
    "AccessGrant",
    "TokenCache",
    "TokenEndpointClient",
    "refusal_from_body",
]

GRANT_TYPE: Final = GRANT_TYPE_TOKEN_EXCHANGE


@dataclass(frozen=True)
class AccessGrant:
    """An access token and what it is for."""

    access_token: str = field(repr=False)
    resource: str
    scope: str
    expires_at: datetime


def refusal_from_body(status: int, body: bytes) -> DIDAgentsError:
    """The ``did_agents.errors`` class for an RFC 6749 §5.2 error body."""
    try:
        document = strict_json.loads(body)
    except DIDAgentsError:
        document = {}
    if not isinstance(document, dict):
        document = {}
    code = document.get("error") if isinstance(document.get("error"), str) else "server_error"
    description = str(document.get("error_description") or f"the verifier answered {status}")[:500]
    if code == "invalid_target":
        return InvalidTargetError(description)
    if code == "invalid_scope":
        return InvalidScopeError(description)
    return VerificationError(f"refused ({code}): {description}", reason="refused")


PresentationBuilder = Callable[[str, str], Awaitable[tuple[str, str]]]
"""``(challenge, domain) -> (subject_token, subject_token_type)``."""
ActorTokenBuilder = Callable[[str], str]
"""``audience -> actor token``."""


@dataclass
class TokenEndpointClient:
    """Talks to one verifier (``verifier_url`` is its issuer identifier and base URL)."""

    verifier_url: str
    http: httpx.AsyncClient

    async def challenge(self) -> tuple[str, str]:
        response = await self.http.post(self.verifier_url + "/challenges")
        if response.status_code != 201:
            raise refusal_from_body(response.status_code, response.content)
        body = strict_json.loads(response.content)
        if not isinstance(body, dict) or not isinstance(body.get("challenge"), str):
            raise MalformedError("the verifier's challenge answer is malformed")
        return body["challenge"], str(body.get("domain") or self.verifier_url)

    async def exchange(
        self,
        *,
        present: PresentationBuilder,
        actor_token: ActorTokenBuilder | None,
        resource: str,
        scope: str,
        clock: Clock,
    ) -> AccessGrant:
        challenge, domain = await self.challenge()
        subject_token, subject_type = await present(challenge, domain)
        form = {
            "grant_type": GRANT_TYPE,
            "subject_token": subject_token,
            "subject_token_type": subject_type,
            "resource": resource,
            "scope": scope,
        }
        if actor_token is not None:
            form["actor_token"] = actor_token(self.verifier_url)
            form["actor_token_type"] = JWT_TOKEN_TYPE
        response = await self.http.post(self.verifier_url + "/oauth/token", data=form)
        if response.status_code != 200:
            raise refusal_from_body(response.status_code, response.content)
        body: Any = strict_json.loads(response.content)
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            raise MalformedError("the token endpoint's answer has no access_token")
        expires_in = body.get("expires_in")
        if type(expires_in) is not int or expires_in <= 0:
            raise MalformedError("the token endpoint's answer has no expires_in")
        granted: str = body["scope"] if isinstance(body.get("scope"), str) else scope
        return AccessGrant(
            body["access_token"], resource, granted, clock.now() + timedelta(seconds=expires_in)
        )


@dataclass
class TokenCache:
    """Tokens per ``(resource, scope)``, reused until ``refresh_margin`` before expiry."""

    clock: Clock = field(default_factory=SystemClock)
    refresh_margin: timedelta = timedelta(seconds=30)
    exchanges: int = 0
    _grants: dict[tuple[str, str], AccessGrant] = field(default_factory=dict, repr=False)
    _locks: dict[tuple[str, str], anyio.Lock] = field(default_factory=dict, repr=False)

    def cached(self, resource: str, scope: str) -> AccessGrant | None:
        grant = self._grants.get((resource, scope))
        if grant is not None and self.clock.now() < grant.expires_at - self.refresh_margin:
            return grant
        return None

    def forget(self, resource: str, scope: str) -> None:
        self._grants.pop((resource, scope), None)

    async def get(
        self,
        resource: str,
        scope: str,
        fetch: Callable[[], Awaitable[AccessGrant]],
        *,
        refused: str | None = None,
    ) -> AccessGrant:
        """The cached grant, or a new one from ``fetch``. ``refused`` is a token the
        resource server just refused: it is replaced even if not expired (once: a
        concurrent caller that already replaced it wins)."""
        key = (resource, scope)
        lock = self._locks.setdefault(key, anyio.Lock())
        async with lock:
            current = self._grants.get(key)
            if current is not None:
                if refused is not None and current.access_token != refused:
                    return current
                if refused is None and self.cached(resource, scope) is not None:
                    return current
            grant = await fetch()
            self.exchanges += 1
            self._grants[key] = grant
            return grant


def form_json(document: Any) -> str:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)
