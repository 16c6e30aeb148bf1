"""The did:web method (W3C CCG "did:web Method Specification").

A did:web names a host (with an optional percent-encoded port) and an optional
colon-separated path; its DID document is served over HTTPS at

- ``did:web:example.com``            → ``https://example.com/.well-known/did.json``
- ``did:web:example.com:user:alice`` → ``https://example.com/user/alice/did.json``
- ``did:web:example.com%3A3000``     → ``https://example.com:3000/.well-known/did.json``

(§Method-specific identifier; §Read (Resolve) steps 1-5). Resolution goes
through :class:`did_agents.fetch.GuardedFetcher` (SSRF rules, no redirects,
size and time limits) and checks that the document's ``id`` is the DID being
resolved (§Read (Resolve) step 7).

Identifiers are held to one canonical, unambiguous form; anything else is
refused with ``ResolutionError(reason="invalid_did")`` (SECURITY SEC-47, SEC-51):

- the host is a DNS name (RFC 1035 §2.3.1 / RFC 1123 §2.1 labels, lower case,
  at most 253 characters), never an IP address (§Method-specific identifier:
  "it MUST NOT include IP addresses"; a name whose last label is numeric, such
  as ``127.0.0.1``, ``2130706433`` or ``0x7f.1``, is treated as one);
- IDNA labels (``xn--``) are refused unless ``allow_idn`` (homograph look-alikes);
- the only percent-encoding is the port colon ``%3A``; the port is 1-65535
  without leading zeros;
- path segments are non-empty runs of ``[A-Za-z0-9._-]``, never ``.`` or ``..``,
  and the first is never ``.well-known`` (which would alias the host's own DID).
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass
from typing import Any

from did_agents.did.document import DIDDocument, parse_did
from did_agents.errors import FetchError, MalformedError, ResolutionError
from did_agents.fetch import DID_DOCUMENT_MEDIA_TYPES, GuardedFetcher

__all__ = ["WebDID", "WebResolver", "did_for_url", "document_url", "parse"]

_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")
_HOST_AND_PORT = re.compile(r"(?P<host>[^%]+)(?:%3[Aa](?P<port>[0-9]+))?")
_MAX_HOST_LENGTH = 253
_RELATIONSHIPS = (
    "authentication",
    "assertionMethod",
    "keyAgreement",
    "capabilityInvocation",
    "capabilityDelegation",
)


@dataclass(frozen=True, slots=True)
class WebDID:
    """A parsed did:web: host name, optional port, path segments."""

    host: str
    port: int | None
    path: tuple[str, ...]

    @property
    def did(self) -> str:
        authority = self.host if self.port is None else f"{self.host}%3A{self.port}"
        return ":".join(("did", "web", authority, *self.path))

    @property
    def document_url(self) -> str:
        # did:web §Read (Resolve): 1. ":" → "/"; 2. decode the port colon; 3. prepend https://;
        # 4. no path → append /.well-known; 5. append /did.json.
        authority = self.host if self.port is None else f"{self.host}:{self.port}"
        path = "/" + "/".join(self.path) if self.path else "/.well-known"
        return f"https://{authority}{path}/did.json"


def _invalid(did: str, why: str) -> ResolutionError:
    return ResolutionError(f"invalidDid: {did[:100]!r}: {why}", reason="invalid_did")


def _check_host(host: str, *, allow_idn: bool) -> str | None:
    """Why ``host`` is not an acceptable did:web host name, or ``None``."""
    if len(host) > _MAX_HOST_LENGTH:
        return "host name too long"
    if host != host.lower():
        return "host name must be lower case"
    labels = host.split(".")
    for label in labels:
        if not _LABEL.fullmatch(label):
            return "host name is not a DNS name"
        if label.startswith("xn--") and not allow_idn:
            return "internationalized (xn--) host names are not accepted"
    if labels[-1].isdigit() or labels[-1].startswith("0x"):
        # §Method-specific identifier: MUST NOT include IP addresses. No top-level
        # domain is numeric (RFC 3696 §2), so this also catches 2130706433 and 0x7f.1.
        return "IP addresses are not allowed"
    return None


def _check_segments(path: tuple[str, ...]) -> str | None:
    for segment in path:
        if not _SEGMENT.fullmatch(segment):
            return "path segments must be non-empty [A-Za-z0-9._-] (no percent-encoding)"
        if segment in (".", ".."):
            return "dot segments are not allowed"
    if path and path[0] == ".well-known":
        return "a path may not start with .well-known"
    return None


def parse(did: str, *, allow_idn: bool = False) -> WebDID:
    """Parse and validate a did:web (no fragment, query or path)."""
    try:
        method, msid = parse_did(did)
    except MalformedError as exc:
        raise _invalid(str(did), "not a DID") from exc
    if method != "web":
        raise _invalid(did, "not a did:web")
    authority, *segments = msid.split(":")
    match = _HOST_AND_PORT.fullmatch(authority)
    if match is None:
        raise _invalid(did, "the only percent-encoding allowed in the host is the port colon %3A")
    host, port_text = match["host"], match["port"]
    why = _check_host(host, allow_idn=allow_idn)
    if why is not None:
        raise _invalid(did, why)
    port: int | None = None
    if port_text is not None:
        if port_text.startswith("0") or len(port_text) > 5 or not 0 < int(port_text) <= 65535:
            raise _invalid(did, "port must be 1-65535 without leading zeros")
        port = int(port_text)
    path = tuple(segments)
    why = _check_segments(path)
    if why is not None:
        raise _invalid(did, why)
    return WebDID(host, port, path)


def document_url(did: str, *, allow_idn: bool = False) -> str:
    """The HTTPS URL of the DID document of ``did`` (did:web §Read (Resolve) steps 1-5)."""
    return parse(did, allow_idn=allow_idn).document_url


def did_for_url(url: str, *, allow_idn: bool = False) -> str:
    """The did:web for an HTTPS URL: the inverse of :func:`document_url`.

    Accepts the document URL (``…/.well-known/did.json``, ``…/path/did.json``) or
    the base it lives under (``https://example.com``, ``https://example.com/user/alice/``).
    Raises ``MalformedError(reason="invalid_did")`` when no canonical did:web exists.
    """

    def refuse(why: str) -> MalformedError:
        return MalformedError(f"no did:web for {url[:100]!r}: {why}", reason="invalid_did")

    if not isinstance(url, str):
        raise refuse("not a string")
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise refuse("not a valid URL") from exc
    if parts.scheme != "https":
        raise refuse("did:web documents are served over https")
    if "@" in parts.netloc or parts.query or parts.fragment or "?" in url or "#" in url:
        raise refuse("user information, query and fragment are not allowed")
    host = parts.hostname or ""  # lower-cased by urlsplit: host names are case-insensitive
    why = _check_host(host, allow_idn=allow_idn)
    if why is not None or "[" in parts.netloc:
        raise refuse(why or "IP addresses are not allowed")
    if port is not None and not 0 < port <= 65535:
        raise refuse("bad port")
    path = parts.path
    if path.endswith("/did.json"):
        path = path[: -len("/did.json")]
        if path == "/.well-known":
            path = ""
    path = path.removesuffix("/")
    segments = tuple(path.split("/")[1:]) if path else ()
    why = _check_segments(segments)
    if why is not None:
        raise refuse(why)
    web = WebDID(host, port, segments)
    parse(web.did, allow_idn=allow_idn)  # the same rules both ways
    return web.did


def _check_absolute_references(did: str, data: dict[str, Any]) -> None:
    # did:web §Security and privacy considerations (Key Material and Document Handling):
    # DID URLs in the document must be absolute, to prevent key confusion. We also require
    # every verification method defined here to live under this DID (SECURITY SEC-50).
    prefix = did + "#"

    def check_method(entry: Any) -> None:
        vm_id = entry.get("id") if isinstance(entry, dict) else None
        if not isinstance(vm_id, str) or not vm_id.startswith(prefix):
            raise ResolutionError(
                f"verification method id {str(vm_id)[:100]!r} is not an absolute DID URL of {did}",
                reason="invalid_did_document",
            )

    methods = data.get("verificationMethod", [])
    for entry in methods if isinstance(methods, list) else [methods]:
        check_method(entry)
    for relationship in _RELATIONSHIPS:
        entries = data.get(relationship, [])
        for entry in entries if isinstance(entries, list) else [entries]:
            if isinstance(entry, dict):
                check_method(entry)
            elif not isinstance(entry, str) or not entry.startswith("did:"):
                raise ResolutionError(
                    f"{relationship} entry {str(entry)[:100]!r} is not an absolute DID URL",
                    reason="invalid_did_document",
                )


class WebResolver:
    """Resolve did:web DIDs over HTTPS through a :class:`GuardedFetcher`.

    Plug into :class:`did_agents.did.resolver.DIDResolver` with
    ``methods={"web": WebResolver(fetcher)}``; that resolver adds the TTL cache.
    Fetch failures surface as ``ResolutionError`` with the fetcher's reason slug
    (``blocked_address``, ``redirect``, ``timeout``, …).
    """

    def __init__(self, fetcher: GuardedFetcher, *, allow_idn: bool = False) -> None:
        self._fetcher = fetcher
        self._allow_idn = allow_idn

    async def resolve(self, did: str) -> DIDDocument:
        url = document_url(did, allow_idn=self._allow_idn)
        try:
            data = await self._fetcher.fetch_json(url, accept=DID_DOCUMENT_MEDIA_TYPES)
        except FetchError as exc:
            raise ResolutionError(
                f"cannot fetch the DID document of {did}: {exc.description}", reason=exc.reason
            ) from exc
        if not isinstance(data, dict):
            raise ResolutionError(
                f"the DID document of {did} is not a JSON object", reason="invalid_did_document"
            )
        # did:web §Read (Resolve) step 7: the document's id must be the DID being resolved.
        if data.get("id") != did:
            raise ResolutionError(
                f"the document at {url} has id {str(data.get('id'))[:100]!r}, not {did}", reason="id_mismatch"
            )
        _check_absolute_references(did, data)
        try:
            return DIDDocument(data)
        except MalformedError as exc:
            raise ResolutionError(
                f"invalid DID document for {did}: {exc.description}", reason="invalid_did_document"
            ) from exc
