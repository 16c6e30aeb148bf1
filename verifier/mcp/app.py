"""Put an SDK ``MCPServer`` behind did-agents access tokens in a few lines (DESIGN §7)::

    kit = MCPKit(issuer=VERIFIER, resource="https://mcp.urbanbites.example/mcp",
                 jwks_url=VERIFIER + "/.well-known/jwks.json", scopes=scopes, audit=hook)
    server = MCPServer("urban-bites", token_verifier=kit.token_verifier, auth=kit.auth)
    ... register tools ...
    app = kit.streamable_http_app(server)     # an ASGI app for uvicorn

The app answers 401 ``invalid_token`` (with ``resource_metadata``) for a bad or
foreign token, 403 ``insufficient_scope`` for a tool, resource or prompt the token
does not cover, 403 ``access_denied`` for an agent a tool's actor policy does not name,
serves RFC 9728 metadata, and records every tool call with the audit hook.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from mcp.server.auth.provider import TokenVerifier
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from starlette.applications import Starlette
from starlette.middleware import Middleware

from did_agents.clock import Clock, SystemClock
from did_agents.errors import ConfigurationError
from did_agents.fetch import FetchSettings
from verifier.mcp.audit_hook import AuditHook
from verifier.mcp.guard import ToolGuard, ToolScopes
from verifier.mcp.metadata import auth_settings, metadata_url
from verifier.mcp.token_verifier import AccessTokenVerifier, JWKSCache, JWKSFetcher

__all__ = ["MCPKit", "guard_app"]


def guard_app(
    app: Starlette,
    scopes: ToolScopes,
    *,
    resource: str,
    audit: AuditHook | None = None,
) -> Starlette:
    """Add :class:`ToolGuard` to an SDK Starlette app, *inside* its bearer authentication.

    Starlette builds its middleware stack on the first request, in list order
    (first = outermost); the SDK's authentication middleware is already in
    ``user_middleware``, so appending puts the guard after it, in front of the routes.
    """
    app.user_middleware.append(
        Middleware(
            ToolGuard,
            scopes=scopes,
            resource=resource,
            audit=audit,
            resource_metadata_url=metadata_url(resource),
        )
    )
    return app


@dataclass
class MCPKit:
    """The pieces for one protected MCP server (module docstring)."""

    issuer: str
    resource: str
    jwks_url: str
    scopes: ToolScopes
    audit: AuditHook | None = None
    clock: Clock = field(default_factory=SystemClock)
    fetch: JWKSFetcher | None = None
    fetch_settings: FetchSettings | None = None
    leeway: timedelta = timedelta(seconds=5)
    verifier: TokenVerifier | None = None

    def __post_init__(self) -> None:
        if self.verifier is None:
            self.jwks = JWKSCache(
                self.jwks_url, clock=self.clock, fetch=self.fetch, fetch_settings=self.fetch_settings
            )
            self.verifier = AccessTokenVerifier(
                self.issuer, self.resource, self.jwks, clock=self.clock, leeway=self.leeway
            )

    @property
    def token_verifier(self) -> TokenVerifier:
        assert self.verifier is not None
        return self.verifier

    @property
    def auth(self) -> AuthSettings:
        return auth_settings(self.issuer, self.resource)

    def streamable_http_app(self, server: MCPServer[Any], **options: Any) -> Starlette:
        """The server's streamable-HTTP app with the guard. Every registered tool, resource and
        prompt must be declared (the guard refuses undeclared ones anyway: this fails at start-up
        instead of on every call); resource templates cannot be guarded by exact URI and are refused."""
        tools = {tool.name for tool in server._tool_manager.list_tools()}
        resources = {str(resource.uri) for resource in server._resource_manager.list_resources()}
        prompts = {prompt.name for prompt in server._prompt_manager.list_prompts()}
        undeclared = sorted(
            (tools - self.scopes.tools())
            | (resources - self.scopes.resources())
            | (prompts - self.scopes.prompts())
        )
        if undeclared:
            raise ConfigurationError(f"declare the scopes of: {', '.join(undeclared)}")
        templates = [t.uri_template for t in server._resource_manager.list_templates()]
        if templates:
            raise ConfigurationError(
                f"resource templates cannot be guarded (declare concrete resources): {', '.join(templates)}"
            )
        app = server.streamable_http_app(**options)
        return guard_app(app, self.scopes, resource=self.resource, audit=self.audit)
