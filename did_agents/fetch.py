"""The guarded HTTP fetcher: the only way did-agents reaches the network.

did:web documents and (later) status lists are fetched through
:class:`GuardedFetcher`, which enforces (DESIGN §3, §10; SECURITY SEC-05,
SEC-45..49, FLT-11):

- ``https`` only; ``http`` only for hosts named in ``FetchSettings.http_hosts``
  (tests). No userinfo in URLs.
- The host name is resolved *by us* and every address it resolves to must be
  public: loopback, private, link-local, multicast, reserved, unspecified,
  shared (100.64/10), cloud metadata addresses and IPv6 forms that embed such an
  IPv4 address (IPv4-mapped, 6to4, NAT64) are refused before any connection.
  ``FetchSettings.allow`` names hosts, addresses or networks exempt from this
  rule (tests, internal deployments).
- DNS rebinding: the connection goes to the address that was checked. The URL
  sent to httpx carries the IP literal; the ``Host`` header carries the
  original authority and TLS uses the original host name for SNI and for
  certificate verification (httpx ``sni_hostname`` request extension). httpx
  itself never resolves the name, so a second DNS answer cannot be used.
  Environment proxies are ignored (``trust_env=False``), since a proxy would
  resolve the name itself.
- No redirects: any 3xx is an error (``redirect``).
- Only 200 with an accepted media type; no content coding (``identity`` only,
  so a compressed body cannot inflate past the size limit).
- A byte limit on the body (streamed, aborted as soon as it is exceeded) and
  one total deadline for resolution, connection, TLS and body together, so a
  server trickling one byte at a time cannot hold a worker (FLT-11).

Every refusal is a :class:`did_agents.errors.FetchError` with a ``reason``
slug from :data:`FetchReason`.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import ssl
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol

import anyio
import certifi
import httpx

from did_agents import strict_json
from did_agents.errors import FetchError, MalformedError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_TIMEOUT",
    "DID_DOCUMENT_MEDIA_TYPES",
    "FetchReason",
    "FetchSettings",
    "FetchedResponse",
    "GuardedFetcher",
    "HostResolver",
    "IPAddress",
    "SystemResolver",
    "default_ssl_context",
    "is_public_address",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

FetchReason = Literal[
    "invalid_url",  # not a URL, userinfo, no host, too long
    "https_required",  # http:// for a host not in ``http_hosts``
    "unresolvable_host",  # DNS gave no usable answer
    "blocked_address",  # a non-public address, not allow-listed
    "connect_failed",  # TCP connection refused / unreachable
    "tls_failed",  # TLS handshake or certificate verification failed
    "protocol_error",  # connection lost or malformed HTTP
    "timeout",  # the total deadline passed
    "redirect",  # a 3xx answer
    "http_status",  # any other non-200 answer
    "bad_content_type",  # media type not accepted
    "bad_content_encoding",  # a Content-Encoding other than identity
    "too_large",  # body over the byte limit
    "invalid_json",  # fetch_json: the body is not strict JSON
]

DEFAULT_MAX_BYTES: Final = 100 * 1024
DEFAULT_TIMEOUT: Final = 5.0
MAX_URL_LENGTH: Final = 2048
MAX_ADDRESSES_TRIED: Final = 3

# did:web §Create step 6 (content negotiation); DID Core §6.2 / §6.3 representations.
DID_DOCUMENT_MEDIA_TYPES: Final = (
    "application/did+json",
    "application/did+ld+json",
    "application/json",
    "application/ld+json",
)

# Cloud instance metadata endpoints. The IPv4 ones are link-local or shared
# address space anyway; listed so an allow-listed network never exposes them.
_METADATA_ADDRESSES: Final = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack
        ipaddress.ip_address("169.254.170.2"),  # AWS ECS task metadata
        ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
        ipaddress.ip_address("fd00:ec2::254"),  # AWS IPv6 IMDS
    }
)
_NAT64_PREFIX: Final = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052 §2.1


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for, if it embeds one."""
    if address.ipv4_mapped is not None:  # ::ffff:a.b.c.d (RFC 4291 §2.5.5.2)
        return address.ipv4_mapped
    if address.sixtofour is not None:  # 2002:aabb:ccdd:: (RFC 3056)
        return address.sixtofour
    if address.teredo is not None:  # 2001:0::/32 (RFC 4380): (server, client)
        return address.teredo[1]
    if address in _NAT64_PREFIX:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if int(address) >> 32 == 0 and int(address) > 1:  # deprecated IPv4-compatible ::a.b.c.d
        return ipaddress.IPv4Address(int(address))
    return None


def is_public_address(address: IPAddress) -> bool:
    """True if ``address`` is a globally routable unicast address we may connect to."""
    if address in _METADATA_ADDRESSES:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return False
        embedded = _embedded_ipv4(address)
        if embedded is not None and not is_public_address(embedded):
            return False
        if address.is_site_local:
            return False
    return address.is_global and not (
        address.is_multicast
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_unspecified
    )


def _parse_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


class HostResolver(Protocol):
    """Resolves a host name to the addresses the fetcher may connect to."""

    async def resolve(self, host: str, port: int) -> Sequence[IPAddress]: ...


class SystemResolver:
    """The operating system's resolver (``getaddrinfo``), run off the event loop."""

    async def resolve(self, host: str, port: int) -> Sequence[IPAddress]:
        try:
            infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise FetchError(f"cannot resolve host {host!r}", reason="unresolvable_host") from exc
        addresses: list[IPAddress] = []
        for _family, _type, _proto, _canon, sockaddr in infos:
            address = _parse_ip(str(sockaddr[0]))
            if address is not None and address not in addresses:
                addresses.append(address)
        return addresses


def default_ssl_context() -> ssl.SSLContext:
    """Certificate-verifying TLS (Mozilla roots via certifi), TLS 1.2 or newer.

    did:web §In-transit Security: "At least TLS 1.2 should be configured".
    """
    context = ssl.create_default_context(cafile=certifi.where())
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


@functools.cache
def _shared_default_context() -> ssl.SSLContext:
    # Loading the CA bundle takes tens of milliseconds; one context serves every fetcher.
    return default_ssl_context()


@dataclass(frozen=True, slots=True)
class FetchSettings:
    """Limits and exemptions of a :class:`GuardedFetcher`.

    ``allow`` entries are host names (matched exactly, case-insensitively), IP
    addresses or CIDR networks whose addresses may be non-public. ``http_hosts``
    are hosts that may be fetched over plain ``http`` (tests only).
    """

    max_bytes: int = DEFAULT_MAX_BYTES
    timeout: float = DEFAULT_TIMEOUT
    allow: frozenset[str] = frozenset()
    http_hosts: frozenset[str] = frozenset()
    user_agent: str = "did-agents"

    def __post_init__(self) -> None:
        if self.max_bytes <= 0 or self.timeout <= 0:
            raise ValueError("max_bytes and timeout must be positive")
        object.__setattr__(self, "allow", frozenset(_normalize_allow_entry(e) for e in self.allow))
        object.__setattr__(self, "http_hosts", frozenset(_normalize_host(h) for h in self.http_hosts))


def _normalize_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def _normalize_allow_entry(entry: str) -> str:
    text = _normalize_host(entry)
    try:
        return str(ipaddress.ip_network(text, strict=False))
    except ValueError:
        return text


@dataclass(frozen=True, slots=True)
class FetchedResponse:
    """A successful fetch: the body, its media type, and where it came from."""

    url: str
    media_type: str
    content: bytes
    address: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class _Target:
    url: httpx.URL
    host: str  # IDNA-encoded, lower case; IPv6 without brackets
    port: int
    literal: IPAddress | None  # the host is an IP literal


class GuardedFetcher:
    """Fetch small documents over HTTPS with SSRF protection and hard limits.

    ``ssl_context`` defaults to :func:`default_ssl_context`; tests pass one that
    trusts their throw-away CA. ``resolver`` defaults to :class:`SystemResolver`.
    """

    def __init__(
        self,
        settings: FetchSettings | None = None,
        *,
        ssl_context: ssl.SSLContext | None = None,
        resolver: HostResolver | None = None,
    ) -> None:
        self.settings = settings or FetchSettings()
        self._ssl_context = ssl_context or _shared_default_context()
        self._resolver: HostResolver = resolver or SystemResolver()
        self._allowed_names = frozenset(e for e in self.settings.allow if "/" not in e)
        self._allowed_networks = tuple(ipaddress.ip_network(e) for e in self.settings.allow if "/" in e)

    # -- public API ---------------------------------------------------------------------------

    async def fetch(
        self,
        url: str,
        *,
        accept: Collection[str],
        max_bytes: int | None = None,
        timeout: float | None = None,
    ) -> FetchedResponse:
        """GET ``url``; return the body if the answer is 200 with one of the ``accept`` media types."""
        limit = self.settings.max_bytes if max_bytes is None else max_bytes
        deadline = self.settings.timeout if timeout is None else timeout
        media_types = tuple(m.strip().lower() for m in accept)
        if not media_types:
            raise ValueError("accept must name at least one media type")
        target = self._target(url)  # no I/O before the URL is acceptable
        try:
            with anyio.fail_after(deadline):
                addresses = await self._addresses(target)
                return await self._get(target, addresses, media_types, limit, deadline)
        except TimeoutError as exc:
            raise FetchError(
                f"{_describe(target)} did not answer within {deadline:g} s", reason="timeout"
            ) from exc

    async def fetch_json(
        self,
        url: str,
        *,
        accept: Collection[str] = DID_DOCUMENT_MEDIA_TYPES,
        max_bytes: int | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Fetch ``url`` and parse the body with :func:`did_agents.strict_json.loads`."""
        response = await self.fetch(url, accept=accept, max_bytes=max_bytes, timeout=timeout)
        try:
            return strict_json.loads(response.content, max_bytes=len(response.content) + 1)
        except MalformedError as exc:
            raise FetchError(
                f"{response.url} is not valid JSON: {exc.description}", reason="invalid_json"
            ) from exc

    # -- checks before any I/O ----------------------------------------------------------------

    def _target(self, url: str) -> _Target:
        if not isinstance(url, str) or len(url) > MAX_URL_LENGTH:
            raise FetchError("URL missing or too long", reason="invalid_url")
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise FetchError(f"not a valid URL: {url[:80]!r}", reason="invalid_url") from exc
        if parsed.scheme not in ("https", "http") or not parsed.host:
            raise FetchError(f"not an absolute http(s) URL: {url[:80]!r}", reason="invalid_url")
        if parsed.userinfo:
            raise FetchError("URLs with user information are refused", reason="invalid_url")
        host = _normalize_host(parsed.host)
        if parsed.scheme == "http" and host not in self.settings.http_hosts:
            raise FetchError(f"{host} must be fetched over https", reason="https_required")
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        return _Target(parsed.copy_with(fragment=None), host, port, _parse_ip(host))

    def _allowed(self, target: _Target, address: IPAddress) -> bool:
        if target.host in self._allowed_names:
            return True
        return any(address in network for network in self._allowed_networks)

    async def _addresses(self, target: _Target) -> list[IPAddress]:
        if target.literal is not None:
            candidates: Sequence[IPAddress] = [target.literal]
        else:
            candidates = await self._resolver.resolve(target.host, target.port)
        if not candidates:
            raise FetchError(f"{target.host} has no address", reason="unresolvable_host")
        # Every answer must be acceptable, not just the one we would pick: a
        # resolver may order answers differently next time.
        for address in candidates:
            if not is_public_address(address) and not self._allowed(target, address):
                raise FetchError(f"{target.host} resolves to a non-public address", reason="blocked_address")
        return list(candidates)

    # -- the request --------------------------------------------------------------------------

    async def _get(
        self,
        target: _Target,
        addresses: Sequence[IPAddress],
        accept: tuple[str, ...],
        limit: int,
        deadline: float,
    ) -> FetchedResponse:
        headers = {
            "Host": target.url.netloc.decode("ascii"),
            "Accept": ", ".join(accept),
            "Accept-Encoding": "identity",
            "User-Agent": self.settings.user_agent,
        }
        # SNI and certificate verification use the original name (RFC 6066 §3 forbids
        # IP literals in SNI; ssl then checks the certificate's IP SANs instead).
        extensions = {} if target.literal is not None else {"sni_hostname": target.host}
        tried = list(addresses[:MAX_ADDRESSES_TRIED])
        for index, address in enumerate(tried):
            pinned = target.url.copy_with(host=str(address))
            try:
                return await self._get_pinned(
                    target, pinned, address, headers, extensions, accept, limit, deadline
                )
            except _ConnectFailedError as exc:
                if index == len(tried) - 1:
                    raise exc.error from exc.__cause__
        raise FetchError(f"{target.host} has no address", reason="unresolvable_host")  # not reached

    async def _get_pinned(
        self,
        target: _Target,
        pinned: httpx.URL,
        address: IPAddress,
        headers: dict[str, str],
        extensions: dict[str, Any],
        accept: tuple[str, ...],
        limit: int,
        deadline: float,
    ) -> FetchedResponse:
        where = _describe(target)
        client = httpx.AsyncClient(
            verify=self._ssl_context,
            trust_env=False,
            follow_redirects=False,
            timeout=httpx.Timeout(deadline),
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=0),
        )
        try:
            async with (
                client,
                client.stream("GET", pinned, headers=headers, extensions=extensions) as response,
            ):
                _check_response(response, where, accept, limit)
                body = bytearray()
                async for chunk in response.aiter_raw():
                    body += chunk
                    if len(body) > limit:
                        raise FetchError(f"{where} sent more than {limit} bytes", reason="too_large")
                media_type = _media_type(response)
        except httpx.TimeoutException as exc:
            raise FetchError(f"{where} timed out", reason="timeout") from exc
        except httpx.ConnectError as exc:
            reason: FetchReason = "tls_failed" if _caused_by_tls(exc) else "connect_failed"
            message = "TLS handshake failed" if reason == "tls_failed" else "cannot connect"
            raise _ConnectFailedError(FetchError(f"{where}: {message}", reason=reason)) from exc
        except httpx.HTTPError as exc:
            raise FetchError(f"{where}: connection failed mid-response", reason="protocol_error") from exc
        return FetchedResponse(str(target.url), media_type, bytes(body), str(address))


class _ConnectFailedError(Exception):
    """Internal: this address could not be reached; the next one may be tried."""

    def __init__(self, error: FetchError) -> None:
        super().__init__(error.description)
        self.error = error


def _describe(target: _Target) -> str:
    return f"{target.url.scheme}://{target.url.netloc.decode('ascii')}"


def _media_type(response: httpx.Response) -> str:
    value: str = response.headers.get("content-type", "")
    return value.split(";", 1)[0].strip().lower()


def _check_response(response: httpx.Response, where: str, accept: tuple[str, ...], limit: int) -> None:
    status = response.status_code
    if 300 <= status < 400:
        # SECURITY SEC-48: redirects are never followed (open-redirect SSRF, https→http).
        raise FetchError(f"{where} answered with a redirect ({status})", reason="redirect")
    if status != 200:
        raise FetchError(f"{where} answered HTTP {status}", reason="http_status")
    media_type = _media_type(response)
    if media_type not in accept:
        raise FetchError(
            f"{where} sent Content-Type {media_type or 'none'!r}, expected one of {', '.join(accept)}",
            reason="bad_content_type",
        )
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise FetchError(f"{where} sent Content-Encoding {encoding!r}", reason="bad_content_encoding")
    declared = response.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        raise FetchError(f"{where} announced {declared} bytes (limit {limit})", reason="too_large")


def _caused_by_tls(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False
