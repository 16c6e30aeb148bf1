"""The capability algebra: what a credential lets its subject do, and how sets narrow.

A capability is ``{resource, scopes}`` (DESIGN §4). A capability *set* is the
union of the ``(resource, scope)`` pairs its capabilities grant; all set
operations here work on those pairs.

Resources
    An absolute ``https``/``http`` URL. A URL whose path ends in ``/`` is a
    *prefix*: it covers itself and every URL below it, at a path-segment
    boundary (``https://a.example/mcp/`` covers ``https://a.example/mcp/x``,
    never ``https://a.example/mcpx``; UCAN spec §Command makes the same rule for
    ``/crypto`` vs ``/cryptocurrency``). Any other URL is exact. Scheme and host
    compare case-insensitively (RFC 3986 §6.2.2.1) and are lowercased on
    parsing; everything else compares byte for byte. Refused, because a server
    could read them differently from us: dot segments (``.``/``..``, also
    percent-encoded; RFC 3986 §5.2.4), empty segments (``//``), percent-encoded
    ``/`` ``\\`` ``.``, backslashes, user info, query, fragment (RFC 8707 §2),
    non-ASCII and control characters. No other normalization (a default port is
    not removed: ``https://a.example:443/x`` and ``https://a.example/x`` differ).

Scopes
    RFC 6749 §3.3 scope-tokens (``%x21 / %x23-5B / %x5D-7E``: ASCII only, so no
    Unicode look-alikes, no spaces, no controls), at most 128 characters, shaped
    ``ns:action`` — at least two non-empty ``:``-separated segments. The last
    segment may be ``*``: ``orders:*`` covers ``orders:<anything>`` (including
    ``orders:read:own`` and the narrower wildcard ``orders:read:*``) at the ``:``
    boundary, never ``ordersx:read``. ``*`` anywhere else, and a bare ``*``, are
    refused: nobody can delegate "everything". Comparison is exact (case
    sensitive, RFC 6749 §3.3).

Both kinds of pattern form trees (a pattern covers exactly the patterns below
it), so the intersection of two patterns is the narrower one or nothing, and a
set of ``(resource, scope)`` pairs has one canonical form: the pairs not covered
by another pair, grouped by resource (:func:`normalize`). Sets compare equal iff
they grant the same things.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from did_agents.errors import InvalidScopeError, MalformedError

__all__ = [
    "MAX_CAPABILITIES",
    "MAX_REQUESTED_SCOPES",
    "MAX_RESOURCE_LENGTH",
    "MAX_SCOPES_PER_CAPABILITY",
    "MAX_SCOPE_LENGTH",
    "Capability",
    "CapabilitySet",
    "capabilities_to_json",
    "covers",
    "effective_scopes",
    "grants",
    "intersect",
    "is_wildcard",
    "narrower_resource",
    "narrower_scope",
    "normalize",
    "parse_capabilities",
    "parse_resource",
    "parse_scope",
    "parse_scope_parameter",
    "resource_covers",
    "scope_covers",
    "scopes_on",
]

MAX_SCOPE_LENGTH: Final = 128
MAX_RESOURCE_LENGTH: Final = 2048
MAX_SCOPES_PER_CAPABILITY: Final = 64
MAX_CAPABILITIES: Final = 32
MAX_REQUESTED_SCOPES: Final = 64

# RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_NQCHAR: Final = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
_SEGMENT_WILDCARD: Final = "*"
# RFC 3986 §2.1 / §3.2.2: host and port as we accept them (reg-name or IPv6 literal).
_HOST: Final = re.compile(
    r"(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])"
)
_PCT: Final = re.compile(r"%(?![0-9A-Fa-f]{2})")
# Percent-encodings a server may decode into a path separator or a dot segment.
_DANGEROUS_PCT: Final = re.compile(r"%(?:2[eEfF]|5[cC])")


# -- scopes ----------------------------------------------------------------------------------


def _bad_scope(description: str) -> MalformedError:
    return MalformedError(description, reason="malformed_scope")


def parse_scope(value: object) -> str:
    """Validate one scope pattern (``ns:action`` or ``ns:*``) and return it unchanged.

    Raises ``MalformedError`` (reason ``malformed_scope``).
    """
    if not isinstance(value, str):
        raise _bad_scope("a scope must be a string")
    if not value:
        raise _bad_scope("empty scope")
    if len(value) > MAX_SCOPE_LENGTH:
        raise _bad_scope(f"scope longer than {MAX_SCOPE_LENGTH} characters")
    if _NQCHAR.fullmatch(value) is None:
        # RFC 6749 §3.3 scope-token characters; refuses non-ASCII look-alikes,
        # spaces, quotes, backslashes and controls.
        raise _bad_scope(f"scope {value[:40]!r} has characters outside RFC 6749 §3.3 scope-token")
    segments = value.split(":")
    if len(segments) < 2:
        raise _bad_scope(f"scope {value!r} is not of the form ns:action")
    if any(not segment for segment in segments):
        raise _bad_scope(f"scope {value!r} has an empty segment")
    for index, segment in enumerate(segments):
        if "*" in segment and not (segment == _SEGMENT_WILDCARD and index == len(segments) - 1):
            raise _bad_scope(f"scope {value!r}: '*' is only allowed as the whole last segment")
    return value


def is_wildcard(scope: str) -> bool:
    """True for a wildcard pattern such as ``orders:*``."""
    return scope.endswith(":*")


def scope_covers(parent: str, child: str) -> bool:
    """True when every scope ``child`` grants is granted by ``parent``.

    ``ns:*`` covers ``ns:x``, ``ns:x:y`` and ``ns:x:*`` (the ``:`` boundary is
    part of the prefix compared), never ``nsx:y``. Otherwise exact equality.
    """
    if parent == child:
        return True
    return is_wildcard(parent) and child.startswith(parent[:-1])


def narrower_scope(a: str, b: str) -> str | None:
    """The intersection of two scope patterns: the narrower one, or ``None`` if disjoint."""
    if scope_covers(a, b):
        return b
    if scope_covers(b, a):
        return a
    return None


def parse_scope_parameter(value: str | None) -> frozenset[str]:
    """Parse an OAuth ``scope`` request parameter (RFC 6749 §3.3) into concrete scopes.

    Space-delimited (``%x20`` only, exactly one between tokens), at most
    ``MAX_REQUESTED_SCOPES`` tokens, each a concrete scope: wildcards are never
    requested (a token carries the scopes it grants, spelled out). ``None`` or
    ``""`` gives the empty set, meaning "everything the chain allows".

    Raises ``InvalidScopeError`` (RFC 6749 §5.2 ``invalid_scope``).
    """
    if value is None or value == "":
        return frozenset()
    if not isinstance(value, str):
        raise InvalidScopeError("scope must be a string", reason="malformed_scope")
    if len(value) > MAX_REQUESTED_SCOPES * (MAX_SCOPE_LENGTH + 1):
        raise InvalidScopeError("scope parameter too long", reason="too_many_scopes")
    tokens = value.split(" ")
    if len(tokens) > MAX_REQUESTED_SCOPES:
        raise InvalidScopeError(
            f"more than {MAX_REQUESTED_SCOPES} scopes requested", reason="too_many_scopes"
        )
    result: set[str] = set()
    for token in tokens:
        try:
            scope = parse_scope(token)
        except MalformedError as exc:
            raise InvalidScopeError(exc.description, reason="malformed_scope") from exc
        if is_wildcard(scope):
            raise InvalidScopeError(
                f"wildcard scope {scope!r} cannot be requested; name the scopes", reason="wildcard_scope"
            )
        result.add(scope)
    return frozenset(result)


# -- resources -------------------------------------------------------------------------------


def _bad_resource(description: str) -> MalformedError:
    return MalformedError(description, reason="malformed_resource")


def parse_resource(value: object) -> str:
    """Validate a resource URL (exact, or a prefix ending in ``/``) and return its normal form.

    The normal form lowercases scheme and host; nothing else changes. Raises
    ``MalformedError`` (reason ``malformed_resource``) for anything listed in the
    module docstring.
    """
    if not isinstance(value, str):
        raise _bad_resource("a resource must be a string")
    return _parse_resource_text(str(value))


# A pure function of the text, asked for the same few URLs on every exchange: memoized (bounded,
# least recently used out). Refusals raise, and exceptions are not cached.
@functools.lru_cache(maxsize=4096)
def _parse_resource_text(value: str) -> str:
    if not value or len(value) > MAX_RESOURCE_LENGTH:
        raise _bad_resource("resource is empty or too long")
    if not value.isascii() or any(ch <= " " or ch == "\x7f" for ch in value):
        raise _bad_resource("resource contains non-ASCII, space or control characters")
    if "\\" in value:
        raise _bad_resource("resource contains a backslash")
    if "#" in value:
        raise _bad_resource("resource has a fragment (RFC 8707 §2)")
    if "?" in value:
        raise _bad_resource("resource has a query")
    try:
        parts = urlsplit(value)
    except ValueError as exc:
        raise _bad_resource("resource is not a URL") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise _bad_resource("resource must be an absolute https or http URL (RFC 8707 §2)")
    if not value[len(parts.scheme) :].startswith("://"):
        raise _bad_resource("resource must have an authority")
    netloc = parts.netloc
    if not netloc or "@" in netloc:
        raise _bad_resource("resource must have a host and no user info")
    host, port = netloc, ""
    if netloc.startswith("["):
        end = netloc.find("]")
        if end < 0:
            raise _bad_resource("resource has a malformed IPv6 host")
        host, rest = netloc[: end + 1], netloc[end + 1 :]
        if rest and not rest.startswith(":"):
            raise _bad_resource("resource has a malformed authority")
        port = rest[1:] if rest else ""
        has_port = bool(rest)
    else:
        has_port = ":" in netloc
        if has_port:
            host, port = netloc.rsplit(":", 1)
    host = host.lower()
    if _HOST.fullmatch(host) is None:
        raise _bad_resource("resource has a malformed host")
    if has_port and (not port.isdigit() or not 0 < int(port) < 65536 or port.startswith("0")):
        raise _bad_resource("resource has a malformed port")
    path = parts.path
    if path and not path.startswith("/"):
        raise _bad_resource("resource path must start with '/'")
    if _PCT.search(path):
        raise _bad_resource("resource has a malformed percent-encoding")
    if _DANGEROUS_PCT.search(path):
        raise _bad_resource("resource percent-encodes '.', '/' or '\\'")
    segments = path.split("/")[1:]
    for index, segment in enumerate(segments):
        if segment in (".", ".."):
            raise _bad_resource("resource has a dot segment (RFC 3986 §5.2.4)")
        if segment == "" and index != len(segments) - 1:
            raise _bad_resource("resource has an empty path segment")
    authority = host + (f":{port}" if has_port else "")
    return f"{scheme}://{authority}{path}"


def resource_covers(parent: str, child: str) -> bool:
    """True when ``child`` (exact or prefix) lies within ``parent``. Both must be parsed."""
    if parent == child:
        return True
    return parent.endswith("/") and child.startswith(parent)


def narrower_resource(a: str, b: str) -> str | None:
    """The intersection of two resource patterns: the narrower one, or ``None``."""
    if resource_covers(a, b):
        return b
    if resource_covers(b, a):
        return a
    return None


# -- capabilities and sets -------------------------------------------------------------------


@dataclass(frozen=True, slots=True, order=True)
class Capability:
    """``{resource, scopes}``: the scopes granted on a resource (exact URL or prefix)."""

    resource: str
    scopes: frozenset[str]

    def to_json(self) -> dict[str, Any]:
        return {"resource": self.resource, "scopes": sorted(self.scopes)}


CapabilitySet = tuple[Capability, ...]
"""A normalized capability set (see :func:`normalize`)."""

_CAPABILITY_KEYS: Final = frozenset({"resource", "scopes"})


def parse_capabilities(value: object) -> CapabilitySet:
    """Parse a credential's ``capabilities`` claim (a list of ``{resource, scopes}``).

    Unknown members inside a capability are refused, not ignored: a caveat we do
    not understand could be wider in a child than in its parent (SECURITY
    SEC-37). Raises ``MalformedError`` (reasons ``malformed_capability``,
    ``malformed_scope``, ``malformed_resource``). Returns the normal form.
    """
    if not isinstance(value, list):
        raise MalformedError("capabilities must be a list", reason="malformed_capability")
    if not value:
        raise MalformedError("capabilities must not be empty", reason="malformed_capability")
    if len(value) > MAX_CAPABILITIES:
        raise MalformedError(f"more than {MAX_CAPABILITIES} capabilities", reason="malformed_capability")
    parsed: list[Capability] = []
    for item in value:
        if not isinstance(item, Mapping):
            raise MalformedError("a capability must be an object", reason="malformed_capability")
        extra = set(item) - _CAPABILITY_KEYS
        if extra:
            raise MalformedError(
                f"capability has unsupported members {sorted(extra)!r}", reason="malformed_capability"
            )
        resource = parse_resource(item.get("resource"))
        scopes = item.get("scopes")
        if not isinstance(scopes, list) or not scopes:
            raise MalformedError("capability scopes must be a non-empty list", reason="malformed_capability")
        if len(scopes) > MAX_SCOPES_PER_CAPABILITY:
            raise MalformedError(
                f"more than {MAX_SCOPES_PER_CAPABILITY} scopes in a capability", reason="malformed_capability"
            )
        parsed.append(Capability(resource, frozenset(parse_scope(s) for s in scopes)))
    return normalize(parsed)


def capabilities_to_json(caps: Iterable[Capability]) -> list[dict[str, Any]]:
    """The ``capabilities`` claim for a capability set (deterministic order)."""
    return [cap.to_json() for cap in sorted(normalize(caps))]


def _pairs(caps: Iterable[Capability]) -> set[tuple[str, str]]:
    return {(cap.resource, scope) for cap in caps for scope in cap.scopes}


# The two ancestor lists are pure functions of one string, asked for the same few resources and
# scopes on every exchange: memoized (bounded, least recently used first out).
@functools.lru_cache(maxsize=4096)
def _scope_ancestors(scope: str) -> tuple[str, ...]:
    """``scope`` and every wildcard pattern that covers it (``a:b:c`` → ``a:b:c``, ``a:b:*``, ``a:*``)."""
    segments = scope.split(":")
    result = [scope]
    for k in range(len(segments) - 1, 0, -1):
        wildcard = ":".join(segments[:k]) + ":*"
        if wildcard != scope:
            result.append(wildcard)
    return tuple(result)


@functools.lru_cache(maxsize=4096)
def _resource_ancestors(resource: str) -> tuple[str, ...]:
    """``resource`` and every prefix pattern that covers it (each ``/`` of the path)."""
    path_start = resource.find("/", resource.index("://") + 3)
    if path_start < 0:
        return (resource,)
    cuts = [i + 1 for i in range(path_start, len(resource)) if resource[i] == "/"]
    return (resource, *(resource[:cut] for cut in reversed(cuts) if cut != len(resource)))


def _grouped(caps: Iterable[Capability]) -> dict[str, set[str]]:
    grouped: dict[str, set[str]] = {}
    for cap in caps:
        grouped.setdefault(cap.resource, set()).update(cap.scopes)
    return grouped


def _granted_by(grouped: Mapping[str, Iterable[str]], resource: str, scope: str, *, strict: bool) -> bool:
    # (resource, scope) is granted by (r, s) iff r is an ancestor-or-self of resource and s of scope;
    # both ancestor lists are short, so this is a handful of set lookups.
    scope_anc = _scope_ancestors(scope)
    for r in _resource_ancestors(resource):
        held = grouped.get(r)
        if not held:
            continue
        for s in scope_anc:
            if s in held and not (strict and r == resource and s == scope):
                return True
    return False


def _from_grouped(grouped: Mapping[str, set[str]]) -> CapabilitySet:
    # Canonical form: drop pairs covered by another pair, then group by resource.
    # Patterns form trees whose nodes each cover infinitely many URLs / scopes, so
    # the maximal pairs are determined by the granted set alone.
    result: list[Capability] = []
    for resource in sorted(grouped):
        kept = frozenset(s for s in grouped[resource] if not _granted_by(grouped, resource, s, strict=True))
        if kept:
            result.append(Capability(resource, kept))
    return tuple(result)


def normalize(caps: Iterable[Capability]) -> CapabilitySet:
    """The canonical form of a capability set: sorted, no pair covered by another."""
    return _from_grouped(_grouped(caps))


def grants(caps: Iterable[Capability], resource: str, scope: str) -> bool:
    """True when the set grants ``scope`` (a pattern) on ``resource`` (a pattern)."""
    return _granted_by(_grouped(caps), resource, scope, strict=False)


def covers(parent: Iterable[Capability], child: Iterable[Capability]) -> bool:
    """True when ``child`` ⊆ ``parent``: every ``(resource, scope)`` pair of the
    child is granted by some capability of the parent (UCAN spec §Attenuation:
    each delegation restates or attenuates)."""
    grouped = _grouped(parent)
    return all(_granted_by(grouped, resource, scope, strict=False) for resource, scope in _pairs(child))


def intersect(a: Iterable[Capability], b: Iterable[Capability]) -> CapabilitySet:
    """``a ∩ b`` in normal form: commutative, idempotent (``intersect(x, x) == normalize(x)``).

    Two pattern pairs meet in (narrower resource, narrower scope). The narrower
    scope is always one of the two, so per resource pair it suffices to keep the
    scopes of each side that the other side grants.
    """
    if type(a) is tuple and type(b) is tuple:
        # Capability sets (tuples of frozen capabilities) are values: an exchange intersects
        # the same few sets every time, so their intersections are memoized.
        try:
            return _intersect_sets(a, b)
        except TypeError:  # a capability built with unhashable scopes (a set): not memoized
            pass
    return _intersect(a, b)


@functools.lru_cache(maxsize=1024)
def _intersect_sets(a: CapabilitySet, b: CapabilitySet) -> CapabilitySet:
    return _intersect(a, b)


def _intersect(a: Iterable[Capability], b: Iterable[Capability]) -> CapabilitySet:
    ga, gb = _grouped(a), _grouped(b)
    result: dict[str, set[str]] = {}
    for ra, sa in ga.items():
        for rb, sb in gb.items():
            resource = narrower_resource(ra, rb)
            if resource is None:
                continue
            only_a, only_b = {ra: sa}, {rb: sb}
            kept = {s for s in sa if _granted_by(only_b, rb, s, strict=False)}
            kept |= {s for s in sb if _granted_by(only_a, ra, s, strict=False)}
            if kept:
                result.setdefault(resource, set()).update(kept)
    return _from_grouped(result)


def _minimal_scopes(scopes: Iterable[str]) -> frozenset[str]:
    pool = set(scopes)
    return frozenset(s for s in pool if not any(t != s and scope_covers(t, s) for t in pool))


def scopes_on(resource: str, caps: Iterable[Capability]) -> frozenset[str]:
    """The scope patterns ``caps`` grant on the exact URL ``resource`` (normal form)."""
    if type(caps) is tuple:
        try:
            return _scopes_on_set(resource, caps)  # a capability set is a value: memoized
        except TypeError:  # a capability built with unhashable scopes (a set): not memoized
            pass
    return _scopes_on(resource, caps)


@functools.lru_cache(maxsize=1024)
def _scopes_on_set(resource: str, caps: CapabilitySet) -> frozenset[str]:
    return _scopes_on(resource, caps)


def _scopes_on(resource: str, caps: Iterable[Capability]) -> frozenset[str]:
    return _minimal_scopes(s for cap in caps if resource_covers(cap.resource, resource) for s in cap.scopes)


def _intersect_scopes(a: frozenset[str], b: frozenset[str]) -> frozenset[str]:
    result = (narrower_scope(x, y) for x in a for y in b)
    return _minimal_scopes(s for s in result if s is not None)


def effective_scopes(resource: str, *sets: Iterable[Capability] | Iterable[str]) -> frozenset[str]:
    """The scope patterns granted on ``resource`` by *every* one of ``sets``.

    Each argument is a capability set, or a plain collection of scope patterns
    (a request, or an allowlist) that applies to ``resource`` itself. With no
    sets the result is empty. The result is ⊆ (covered by) each argument.
    """
    result: frozenset[str] | None = None
    for item in sets:
        items = list(item)
        if items and isinstance(items[0], Capability):
            caps = [c for c in items if isinstance(c, Capability)]
            scopes = scopes_on(resource, caps)
        else:
            scopes = _minimal_scopes(s for s in items if isinstance(s, str))
        result = scopes if result is None else _intersect_scopes(result, scopes)
        if not result:
            return frozenset()
    return result or frozenset()
