"""RFC 9728 OAuth 2.0 Protected Resource Metadata for an MCP server, and the SDK's ``AuthSettings``.

MCP authorization spec §Authorization Server Discovery: an MCP server MUST
serve protected-resource metadata naming its authorization server(s), and
point to it from ``WWW-Authenticate`` (``resource_metadata=``) on 401. The
metadata lives at ``/.well-known/oauth-protected-resource`` + the resource's
path (RFC 9728 §3.1). The ``mcp`` SDK serves it from ``AuthSettings``; this
module builds those settings so that the document names our verifier as the
only authorization server, and offers the document itself for servers that
are not built on the SDK.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from mcp.server.auth.settings import AuthSettings

__all__ = ["auth_settings", "metadata_url", "protected_resource_metadata"]


def metadata_url(resource: str) -> str:
    """RFC 9728 §3.1: insert ``/.well-known/oauth-protected-resource`` between host and path."""
    parts = urlsplit(resource)
    path = "" if parts.path in ("", "/") else parts.path
    return f"{parts.scheme}://{parts.netloc}/.well-known/oauth-protected-resource{path}"


def protected_resource_metadata(
    resource: str,
    authorization_server: str,
    *,
    scopes_supported: Sequence[str] = (),
    resource_name: str | None = None,
) -> dict[str, Any]:
    """The RFC 9728 §2 document: ``resource`` (exactly this server's identifier),
    ``authorization_servers`` (our verifier), ``bearer_methods_supported``
    (header only, RFC 6750 §2.1) and ``scopes_supported``."""
    document: dict[str, Any] = {
        "resource": resource,
        "authorization_servers": [authorization_server],
        "bearer_methods_supported": ["header"],
    }
    if scopes_supported:
        document["scopes_supported"] = list(scopes_supported)
    if resource_name:
        document["resource_name"] = resource_name
    return document


def auth_settings(issuer: str, resource: str) -> AuthSettings:
    """``AuthSettings`` for an SDK ``MCPServer`` protected by a did-agents verifier.

    No ``required_scopes`` at the transport: scopes are per tool (``ToolGuard``).
    ``validate_token_resource`` is on as a second check; our token verifier
    already refused every token whose ``aud`` is not exactly ``resource``.
    """
    return AuthSettings(
        issuer_url=issuer,  # type: ignore[arg-type]  # pydantic validates the string
        resource_server_url=resource,  # type: ignore[arg-type]
        required_scopes=None,
        validate_token_resource=True,
    )
