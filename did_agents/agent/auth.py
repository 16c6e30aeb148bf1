"""Calling protected resources as an agent: an ``httpx.Auth`` and an authenticated MCP session.

Both attach ``Authorization: Bearer <access token>`` (RFC 6750 §2.1) from the
agent's token cache. A 401 triggers exactly one re-exchange and retry (the
token may have been revoked or the verifier's key rotated); a 403
``insufficient_scope`` is remembered (``last_refusal``) so the MCP session can
raise ``InsufficientScopeError`` naming the missing scope (RFC 6750 §3.1,
MCP authorization spec §Runtime Insufficient Scope Errors).

The official ``mcp`` client speaks ``httpx2`` (a fork of httpx with its own
``Auth`` base class), so :class:`MCPBearerAuth` is the same flow on that base.
The ``mcp`` client is imported only by :func:`mcp_session`.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import httpx
import httpx2

from did_agents.agent.identity import AgentIdentity
from did_agents.errors import DIDAgentsError, InsufficientScopeError, InvalidTokenError

if TYPE_CHECKING:
    from mcp.client.client import Client
    from mcp.types import CallToolResult

__all__ = ["AgentAuth", "AgentMCPSession", "MCPBearerAuth", "Refusal", "mcp_session", "parse_challenge"]

_PARAM: Final = re.compile(r'([a-zA-Z_]+)="([^"]*)"')
#: verifier.mcp.guard.INSUFFICIENT_SCOPE_CODE
_INSUFFICIENT_SCOPE_CODE: Final = -32003


def parse_challenge(header: str | None) -> dict[str, str]:
    """The auth-params of a ``WWW-Authenticate: Bearer ...`` challenge (RFC 6750 §3)."""
    if not header or not header.lower().startswith("bearer"):
        return {}
    return dict(_PARAM.findall(header))


@dataclass(frozen=True)
class Refusal:
    """What the resource server said on the last refused request."""

    status: int
    error: str | None
    scope: str | None
    description: str | None


class _BearerFlow:
    """The shared flow: token from the agent, one re-exchange on 401, remember refusals."""

    requires_request_body = True

    def __init__(
        self,
        agent: AgentIdentity,
        *,
        verifier_url: str,
        resource: str,
        scope: str,
        user: str | None = None,
        autonomous: bool = False,
    ) -> None:
        self.agent = agent
        self.verifier_url = verifier_url
        self.resource = resource
        self.scope = scope
        self.user = user
        self.autonomous = autonomous
        self.last_refusal: Refusal | None = None
        self.reexchanges = 0

    async def _token(self, refused: str | None = None) -> str:
        grant = await self.agent.access_token(
            self.verifier_url,
            self.resource,
            self.scope,
            user=self.user,
            autonomous=self.autonomous,
            refused=refused,
        )
        return grant.access_token

    def _remember(self, status: int, headers: Mapping[str, str]) -> None:
        params = parse_challenge(headers.get("www-authenticate"))
        self.last_refusal = Refusal(
            status, params.get("error"), params.get("scope"), params.get("error_description")
        )

    async def _flow(self, request: Any) -> AsyncGenerator[Any, Any]:
        token = await self._token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            # One re-exchange: a fresh token for the same target, then give up.
            self.reexchanges += 1
            token = await self._token(refused=token)
            request.headers["Authorization"] = f"Bearer {token}"
            response = yield request
        if response.status_code in (401, 403):
            self._remember(response.status_code, response.headers)
        else:
            self.last_refusal = None


class AgentAuth(_BearerFlow, httpx.Auth):
    """``httpx.AsyncClient(auth=AgentAuth(agent, verifier_url=..., resource=..., scope=...))``."""

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        flow = self._flow(request)
        response: Any = None
        try:
            while True:
                outgoing = await flow.asend(response)
                response = yield outgoing
        except StopAsyncIteration:
            return


class MCPBearerAuth(_BearerFlow, httpx2.Auth):
    """The same flow for the ``httpx2`` client the ``mcp`` SDK uses."""

    async def async_auth_flow(
        self, request: httpx2.Request
    ) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        flow = self._flow(request)
        response: Any = None
        try:
            while True:
                outgoing = await flow.asend(response)
                response = yield outgoing
        except StopAsyncIteration:
            return


class AgentMCPSession:
    """An MCP client session as an agent; refused calls raise ``did_agents.errors`` exceptions."""

    def __init__(self, client: Client, auth: MCPBearerAuth) -> None:
        self.client = client
        self.auth = auth

    async def call_tool(self, name: str, arguments: Mapping[str, Any] | None = None) -> CallToolResult:
        """Call ``name``. Raises ``InsufficientScopeError`` (``required`` = the missing scopes)
        on 403 and ``InvalidTokenError`` when the token was refused even after a re-exchange."""
        from mcp.shared.exceptions import MCPError

        try:
            return await self.client.call_tool(name, dict(arguments or {}))
        except MCPError as exc:
            raise self._translate(name, exc) from exc

    def _translate(self, tool: str, exc: Exception) -> Exception:
        error = getattr(exc, "error", None)
        data = getattr(error, "data", None)
        if getattr(error, "code", None) == _INSUFFICIENT_SCOPE_CODE and isinstance(data, Mapping):
            scope = str(data.get("scope") or "")
            return InsufficientScopeError(
                f"tool {tool} needs scope {scope}, which the token does not grant",
                required=tuple(scope.split()),
            )
        refusal = self.auth.last_refusal
        if refusal is not None and refusal.status == 403 and refusal.error == "insufficient_scope":
            scope = refusal.scope or ""
            return InsufficientScopeError(
                f"tool {tool} needs scope {scope}, which the token does not grant",
                required=tuple(scope.split()),
            )
        if refusal is not None and refusal.status == 401:
            return InvalidTokenError(
                f"the MCP server refused the access token: {refusal.description or refusal.error}"
            )
        return exc

    async def list_tools(self) -> Any:
        return await self.client.list_tools()


@asynccontextmanager
async def mcp_session(
    agent: AgentIdentity,
    url: str,
    *,
    verifier_url: str,
    resource: str,
    scope: str,
    user: str | None = None,
    autonomous: bool = False,
    timeout: float = 30.0,
) -> AsyncIterator[AgentMCPSession]:
    """An MCP session (streamable HTTP at ``url``) authenticated as ``agent`` for ``resource``/``scope``.

    The token is exchanged before the first request and reused until shortly
    before it expires.
    """
    from mcp.client.client import Client
    from mcp.client.streamable_http import streamable_http_client

    auth = MCPBearerAuth(
        agent, verifier_url=verifier_url, resource=resource, scope=scope, user=user, autonomous=autonomous
    )
    # Exchange up front, so a refused exchange raises here and not inside the transport's task.
    await auth._token()
    try:
        async with httpx2.AsyncClient(auth=auth, timeout=timeout) as http:
            async with Client(streamable_http_client(url, http_client=http), cache=None) as client:
                yield AgentMCPSession(client, auth)
    except BaseExceptionGroup as group:
        # The client's task group wraps what the caller raised inside the session: unwrap ours.
        ours = _first_error(group)
        if ours is None:
            raise
        raise ours from None


def _first_error(group: BaseExceptionGroup[BaseException]) -> DIDAgentsError | None:
    for exc in group.exceptions:
        if isinstance(exc, DIDAgentsError):
            return exc
        if isinstance(exc, BaseExceptionGroup):
            found = _first_error(exc)
            if found is not None:
                return found
    return None
