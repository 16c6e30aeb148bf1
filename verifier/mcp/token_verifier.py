"""Access-token validation for MCP servers (DESIGN §7; RFC 9068 §4; MCP authorization spec §Token Handling).

:class:`AccessTokenVerifier` implements the official ``mcp`` SDK's
``TokenVerifier`` protocol. A token is accepted only when, in this order:

1. it is a strict compact JWS (``did_agents.jws.parse_compact``: ``alg`` in the
   EdDSA/ES256 allowlist, no ``none``/HMAC, no ``crit``, no key-carrying headers);
2. its header ``typ`` is ``at+jwt`` (RFC 9068 §4: "at+jwt" or "application/at+jwt"),
   so an actor token, a VC-JWT or an ID token is never an access token (SEC-09);
3. its ``kid`` names a key of the verifier's JWKS (:class:`JWKSCache`) and the
   header ``alg`` is that key's algorithm (RFC 8725 §3.1; SEC-02/03);
4. the signature verifies;
5. ``iss`` is the configured verifier exactly, ``aud`` is exactly this MCP server's
   resource URL as a single string (RFC 9068 §4 step 4; SEC-55: the SDK's bearer
   backend does not check the audience, so we must), ``exp`` / ``nbf`` / ``iat``
   hold with a small leeway, and the RFC 9068 §2.2 claims ``iss exp aud sub
   client_id iat jti`` are present;
6. ``scope`` is a space-separated string of scope tokens (RFC 6749 §3.3) and
   ``act``, when present, is a bounded nest of ``{"sub": <string>}`` objects
   (RFC 8693 §4.1).

Every refusal is an ``InvalidTokenError`` with a reason slug; the SDK protocol
method :meth:`AccessTokenVerifier.verify_token` turns it into ``None`` (the SDK
answers 401 ``invalid_token``) and leaves the reason in :data:`last_refusal` for
the audit hook, so a ``None`` never goes unexplained.

JWKS caching (SECURITY FLT-08): the key set is fetched on first use, refreshed
when older than ``max_age``, and refetched for an unknown ``kid`` at most once
per ``refetch_interval`` — a stream of tokens with random ``kid`` values causes
at most one fetch per interval. Keys stay usable while they are published; a
key dropped from the JWKS stops verifying at the next refresh.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final

import anyio
from mcp.server.auth.provider import AccessToken

from did_agents import jws
from did_agents.clock import Clock, SystemClock
from did_agents.errors import DIDAgentsError, InvalidTokenError, MalformedError
from did_agents.fetch import FetchSettings, GuardedFetcher
from did_agents.keys import PublicKey

__all__ = [
    "ACCESS_TOKEN_TYPES",
    "MAX_ACT_DEPTH",
    "AccessTokenVerifier",
    "JWKSCache",
    "JWKSFetcher",
    "actors_of",
    "last_refusal",
    "parse_jwks",
    "wall_clock_expiry",
]

logger = logging.getLogger(__name__)

#: RFC 9068 §4: "Resource servers MUST verify that the typ header value is "at+jwt" or "application/at+jwt"".
ACCESS_TOKEN_TYPES: Final = ("at+jwt",)
_TYPES_WITH_PREFIX: Final = frozenset(
    ACCESS_TOKEN_TYPES + tuple("application/" + t for t in ACCESS_TOKEN_TYPES)
)
#: RFC 9068 §2.2 required claims.
REQUIRED_CLAIMS: Final = ("iss", "exp", "aud", "sub", "client_id", "iat", "jti")
#: The verifier mints chains of at most 8 links (``did_agents.delegation.chain``).
MAX_ACT_DEPTH: Final = 8
MAX_JWKS_KEYS: Final = 32
MAX_JWKS_BYTES: Final = 64 * 1024
# RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE_TOKEN: Final = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
_JWKS_MEDIA_TYPES: Final = ("application/json", "application/jwk-set+json")

#: The reason slug of the last refusal in this context (the request's task), for the audit hook.
last_refusal: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "did_agents_token_refusal", default=None
)

JWKSFetcher = Callable[[str], Awaitable[Any]]
"""Fetch the JWKS document at a URL and return the parsed JSON."""


def parse_jwks(document: Any) -> dict[str, PublicKey]:
    """The signing keys of a JWK Set (RFC 7517 §5), by ``kid``.

    Keys without ``kid``, with ``use`` other than ``sig``, or of a type we do not
    verify with are skipped; a key whose ``alg`` disagrees with its type is
    skipped (RFC 8725 §3.1: the algorithm belongs to the key). Two keys with one
    ``kid`` refuse the whole set (SECURITY SEC-06: never "the first match").
    """
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise MalformedError("JWKS is not an object with a keys array", reason="malformed_jwks")
    entries = document["keys"]
    if len(entries) > MAX_JWKS_KEYS:
        raise MalformedError(f"JWKS has more than {MAX_JWKS_KEYS} keys", reason="malformed_jwks")
    keys: dict[str, PublicKey] = {}
    seen: set[str] = set()
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        kid = entry.get("kid")
        if not isinstance(kid, str) or not kid:
            continue
        if kid in seen:
            raise MalformedError("JWKS has two keys with one kid", reason="duplicate_kid")
        seen.add(kid)
        if entry.get("use", "sig") != "sig":
            continue
        try:
            key = PublicKey.from_jwk(dict(entry))
        except DIDAgentsError:
            continue
        if "alg" in entry and entry["alg"] != key.alg:
            continue
        keys[kid] = key
    return keys


def _default_fetcher(settings: FetchSettings | None) -> JWKSFetcher:
    fetcher = GuardedFetcher(settings)

    async def fetch(url: str) -> Any:
        return await fetcher.fetch_json(url, accept=_JWKS_MEDIA_TYPES, max_bytes=MAX_JWKS_BYTES)

    return fetch


@dataclass
class JWKSCache:
    """The verifier's signing keys, fetched from ``url`` and cached.

    ``fetch`` defaults to the guarded fetcher (HTTPS, public addresses, size and
    time limits); pass ``fetch_settings`` to allow a loopback verifier in
    development. ``fetches`` counts network fetches (tests and the benchmark read it).
    """

    url: str
    clock: Clock = field(default_factory=SystemClock)
    max_age: timedelta = timedelta(minutes=5)
    refetch_interval: timedelta = timedelta(seconds=30)
    fetch: JWKSFetcher | None = None
    fetch_settings: FetchSettings | None = None
    fetches: int = 0
    _keys: dict[str, PublicKey] = field(default_factory=dict, repr=False)
    _fetched_at: float | None = field(default=None, repr=False)
    _lock: anyio.Lock = field(default_factory=anyio.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.fetch is None:
            self.fetch = _default_fetcher(self.fetch_settings)

    def _now(self) -> float:
        return self.clock.now().timestamp()

    async def _refresh(self, *, since: float | None) -> None:
        async with self._lock:
            # Another task refreshed while we waited: use its result (no fetch storm).
            if self._fetched_at != since:
                return
            assert self.fetch is not None
            self.fetches += 1
            try:
                document = await self.fetch(self.url)
                keys = parse_jwks(document)
            except DIDAgentsError as exc:
                # Keep the keys we had; try again after refetch_interval.
                logger.warning("JWKS refresh from %s failed: %s", self.url, exc.description)
                self._fetched_at = self._now()
                if since is None:
                    raise InvalidTokenError(
                        "the verifier's JWKS is unavailable", reason="jwks_unavailable"
                    ) from exc
                return
            self._keys = keys
            self._fetched_at = self._now()

    async def key(self, kid: str) -> PublicKey | None:
        """The published key ``kid``, or ``None`` (after at most one refetch per interval)."""
        since = self._fetched_at
        if since is None or self._now() - since >= self.max_age.total_seconds():
            await self._refresh(since=since)
        found = self._keys.get(kid)
        if found is not None:
            return found
        since = self._fetched_at
        if since is not None and self._now() - since >= self.refetch_interval.total_seconds():
            await self._refresh(since=since)
            return self._keys.get(kid)
        return None

    def kids(self) -> frozenset[str]:
        return frozenset(self._keys)


def wall_clock_expiry(exp: int, now: int) -> int:
    """``exp`` moved onto the wall clock: the SDK's bearer backend re-checks ``expires_at``
    against ``time.time()``, not our injected clock. With a system clock this is ``exp``."""
    return int(time.time()) + (exp - now)


def _check_act(act: Any, depth: int = 1) -> None:
    # RFC 8693 §4.1: act is a JSON object with the actor's sub, possibly nesting the prior actor.
    if depth > MAX_ACT_DEPTH:
        raise InvalidTokenError("act nests too deeply", reason="malformed_act")
    if not isinstance(act, Mapping) or not isinstance(act.get("sub"), str) or not act["sub"]:
        raise InvalidTokenError("act must be an object with a sub", reason="malformed_act")
    if "act" in act:
        _check_act(act["act"], depth + 1)


def actors_of(claims: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The actor chain of a token's claims, current actor first (RFC 8693 §4.1 nesting order)."""
    actors: list[str] = []
    act = (claims or {}).get("act")
    while isinstance(act, Mapping) and isinstance(act.get("sub"), str) and len(actors) < MAX_ACT_DEPTH:
        actors.append(act["sub"])
        act = act.get("act")
    return tuple(actors)


@functools.lru_cache(maxsize=256)  # tokens are ≤ max_token_length: ≤ 2 MiB held
def _parse_scope_string(scope: str) -> tuple[str, ...]:
    # Tokens from one verifier repeat a handful of scope strings: parsed once each (pure function).
    tokens = scope.split(" ") if scope else []
    if any(not _SCOPE_TOKEN.fullmatch(token) for token in tokens):
        raise InvalidTokenError("scope is not a list of scope tokens", reason="malformed_scope")
    return tuple(dict.fromkeys(tokens))


def _scopes(claims: Mapping[str, Any]) -> list[str]:
    scope = claims.get("scope", "")
    # RFC 9068 §2.2.3 / RFC 8693 §4.2: a space-delimited string.
    if not isinstance(scope, str):
        raise InvalidTokenError("scope must be a string", reason="malformed_scope")
    return list(_parse_scope_string(scope))


@dataclass
class AccessTokenVerifier:
    """Validate did-agents access tokens for one MCP server (the ``mcp`` SDK ``TokenVerifier``).

    ``issuer`` is the verifier's issuer identifier (``iss``), ``resource`` this MCP
    server's resource URL (the only acceptable ``aud``), ``jwks`` the key cache.
    """

    issuer: str
    resource: str
    jwks: JWKSCache
    clock: Clock = field(default_factory=SystemClock)
    leeway: timedelta = timedelta(seconds=5)
    max_token_length: int = 8192
    cache_size: int = 4096
    _verified: OrderedDict[str, tuple[AccessToken, str, int]] = field(default_factory=OrderedDict, repr=False)

    async def verify(self, token: str) -> AccessToken:
        """Validate ``token`` (module docstring) or raise ``InvalidTokenError`` with a reason.

        A token that verified before is answered from a bounded cache (an MCP
        session sends the same bearer on every request) after re-checking what
        can change: ``exp`` against the clock and that its ``kid`` is still published.
        """
        now = int(self.clock.now().timestamp())
        hit = self._verified.get(token)
        if hit is not None:
            access, kid, exp = hit
            if now < exp + int(self.leeway.total_seconds()) and await self.jwks.key(kid) is not None:
                self._verified.move_to_end(token)
                return access
            del self._verified[token]
        access, kid, exp = await self._verify(token, now)
        self._verified[token] = (access, kid, exp)
        if len(self._verified) > self.cache_size:
            self._verified.popitem(last=False)
        return access

    async def _verify(self, token: str, now: int) -> tuple[AccessToken, str, int]:
        try:
            parsed = jws.parse_compact(token, max_length=self.max_token_length)
            kid = parsed.header.get("kid")
            if not isinstance(kid, str):
                raise InvalidTokenError("access token has no kid", reason="missing_kid")
            # Typ before any key lookup: a foreign JWT never costs a JWKS fetch.
            if parsed.header.get("typ") not in _TYPES_WITH_PREFIX:
                raise InvalidTokenError("not an at+jwt access token", reason="wrong_typ")
            key = await self.jwks.key(kid)
            if key is None:
                raise InvalidTokenError("access token signed by an unknown key", reason="unknown_kid")
            verified = jws.verify_parsed(
                parsed,
                key,
                typ=ACCESS_TOKEN_TYPES,
                allow_application_prefix=True,
                max_length=self.max_token_length,
            )
            claims = verified.claims
            if claims is None:
                raise InvalidTokenError("access token payload is not a claims set", reason="malformed")
            jws.validate_claims(
                claims,
                now=now,
                expected_iss=self.issuer,
                expected_aud=self.resource,
                allow_aud_list=False,
                require=REQUIRED_CLAIMS,
                leeway=int(self.leeway.total_seconds()),
            )
        except InvalidTokenError:
            raise
        except DIDAgentsError as exc:
            raise InvalidTokenError(exc.description, reason=exc.reason) from exc
        for name in ("sub", "client_id", "jti"):
            if not isinstance(claims[name], str) or not claims[name]:
                raise InvalidTokenError(f"claim {name} must be a string", reason="bad_claim_type")
        if "act" in claims:
            _check_act(claims["act"])
        # Every field was checked above; the SDK model still validates its own types
        # (pydantic-core does that faster than model_construct's Python loop).
        access = AccessToken(
            token=token,
            client_id=claims["client_id"],
            scopes=_scopes(claims),
            expires_at=wall_clock_expiry(claims["exp"], now),
            resource=claims["aud"],
            subject=claims["sub"],
            claims=claims,
        )
        return access, kid, claims["exp"]

    async def verify_token(self, token: str) -> AccessToken | None:
        """The SDK protocol: ``None`` on refusal, the reason left in :data:`last_refusal`."""
        try:
            access = await self.verify(token)
        except InvalidTokenError as exc:
            last_refusal.set(exc.reason)
            logger.info("access token refused: %s (%s)", exc.reason, exc.description)
            return None
        last_refusal.set(None)
        return access
