"""Capabilities: ``{resource, scopes[]}`` claims shared by all did-agents credentials.

DESIGN §4: ``resource`` is an MCP server URL, either exact or a prefix ending
in ``/``; ``scopes`` are strings like ``orders:read`` where ``orders:*`` covers
``orders:<anything>`` at the ``:`` boundary. This module only says what a
*well-formed* capability is; which capability covers which is policy
(``did_agents.delegation`` / ``did_agents.policy``).

Grammar (a strict subset of RFC 6749 §3.3 ``scope-token``, so every scope can
travel in an OAuth ``scope`` parameter unchanged)::

    scope    = segment *( ":" segment ) [ ":*" ]
    segment  = 1*( ALPHA / DIGIT / "_" / "-" / "." / "/" )

ASCII only (no look-alike code points, SECURITY SEC-38), at most 128
characters. Resources are ``https`` URLs (RFC 8707 §2: absolute, no fragment)
with a lower-case ASCII host, no user info and no query.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from did_agents.errors import MalformedError

__all__ = [
    "MAX_CAPABILITIES",
    "MAX_SCOPES",
    "MAX_SCOPE_LENGTH",
    "Capability",
    "capabilities_to_json",
    "is_scope",
    "parse_capabilities",
    "parse_resource",
]

MAX_SCOPE_LENGTH: Final = 128
MAX_SCOPES: Final = 64
MAX_CAPABILITIES: Final = 64
MAX_RESOURCE_LENGTH: Final = 2048

_SEGMENT = r"[A-Za-z0-9_.\-/]+"
_SCOPE: Final = re.compile(rf"^{_SEGMENT}(?::{_SEGMENT})*(?::\*)?$")
_IPV4: Final = re.compile(
    r"^(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}$"
)
_IPV6_LITERAL: Final = re.compile(r"^\[[0-9a-f:.]+\](?::[0-9]+)?$")
_HOST: Final = re.compile(
    r"^(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?$"
)


def _bad(message: str) -> MalformedError:
    return MalformedError(message, reason="invalid_capability")


def is_scope(value: object) -> bool:
    """True if ``value`` is a scope string of the grammar above."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_SCOPE_LENGTH
        and value.isascii()
        and _SCOPE.match(value) is not None
    )


def parse_resource(value: object) -> str:
    """Check a capability ``resource``: an exact https URL or a prefix ending in ``/``."""
    if not isinstance(value, str) or not value or len(value) > MAX_RESOURCE_LENGTH:
        raise _bad("resource must be a non-empty string")
    if not value.isascii() or any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise _bad("resource must be printable ASCII (use punycode for international hosts)")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise _bad(f"resource {value[:80]!r} is not a URL") from exc
    # RFC 8707 §2: "an absolute URI ... MUST NOT include a fragment component".
    if parts.scheme != "https" or not value.startswith("https://"):
        raise _bad("resource must be an https URL")
    if parts.fragment or "#" in value:
        raise _bad("resource must not have a fragment")
    if parts.query or "?" in value:
        raise _bad("resource must not have a query")
    if "@" in parts.netloc:
        raise _bad("resource must not have user info")
    if not _valid_host(parts.netloc):
        raise _bad("resource host must be a lower-case DNS name or an IP literal")
    if port is not None and not 0 < port < 65536:
        raise _bad("resource port out of range")
    return value


def _valid_host(netloc: str) -> bool:
    # The raw host as written (urlsplit's ``hostname`` lower-cases it, hiding look-alikes).
    if netloc.startswith("["):
        return _IPV6_LITERAL.match(netloc) is not None
    host = netloc.rsplit(":", 1)[0] if ":" in netloc else netloc
    return _HOST.match(host) is not None or _IPV4.match(host) is not None


@dataclass(frozen=True, slots=True)
class Capability:
    """What may be done where: ``scopes`` at ``resource`` (exact URL, or prefix ending in ``/``)."""

    resource: str
    scopes: tuple[str, ...]

    def __post_init__(self) -> None:
        parse_resource(self.resource)
        if not self.scopes:
            raise _bad("a capability needs at least one scope")
        if len(self.scopes) > MAX_SCOPES:
            raise _bad(f"a capability holds at most {MAX_SCOPES} scopes")
        for scope in self.scopes:
            if not is_scope(scope):
                raise _bad(f"scope {str(scope)[:80]!r} is not of the form name(:name)*(:*)?")
        if len(set(self.scopes)) != len(self.scopes):
            raise _bad("duplicate scope in a capability")

    @property
    def is_prefix(self) -> bool:
        """True if ``resource`` names every URL under it (it ends in ``/``)."""
        return self.resource.endswith("/")

    def to_json(self) -> dict[str, Any]:
        return {"resource": self.resource, "scopes": list(self.scopes)}

    @classmethod
    def from_json(cls, value: object) -> Capability:
        if not isinstance(value, dict):
            raise _bad("a capability must be an object")
        extra = set(value) - {"resource", "scopes"}
        if extra:
            raise _bad(f"unknown capability members {sorted(extra)}")
        scopes = value.get("scopes")
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            raise _bad("capability scopes must be an array of strings")
        return cls(parse_resource(value.get("resource")), tuple(scopes))


def parse_capabilities(value: object, *, allow_empty: bool = False) -> tuple[Capability, ...]:
    """Parse a ``capabilities`` claim: an array of ``{resource, scopes}`` objects."""
    if not isinstance(value, list):
        raise _bad("capabilities must be an array")
    if not value and not allow_empty:
        raise _bad("capabilities must not be empty")
    if len(value) > MAX_CAPABILITIES:
        raise _bad(f"at most {MAX_CAPABILITIES} capabilities")
    return tuple(Capability.from_json(item) for item in value)


def capabilities_to_json(capabilities: Sequence[Capability | Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Normalize capabilities given as ``Capability`` or plain mappings into JSON."""
    out = []
    for item in capabilities:
        cap = item if isinstance(item, Capability) else Capability.from_json(dict(item))
        out.append(cap.to_json())
    return out
