"""Decentralized mode: an MCP server that verifies the agent's presentation itself (DESIGN §7).

No central verifier and no access token: the agent sends a ``vp+jwt``
(VC-JOSE-COSE §3.1.2) as its bearer token, holding its delegation chain and
capability credential, with ``aud`` = this MCP server's resource URL, a
``nonce`` it chose, and ``iat``/``exp`` (at most ``max_lifetime`` apart).
:class:`PresentationTokenVerifier` (an ``mcp`` SDK ``TokenVerifier``):

1. reads the unverified ``nonce`` and verifies the presentation with
   ``did_agents.credentials.verify_presentation`` against it and ``domain`` =
   the resource (so ``aud`` must be exactly this server), then every credential;
2. requires ``exp`` and ``iat`` with ``exp - iat <= max_lifetime`` (default 5 min):
   the presentation is a short-lived bearer credential bound to this server,
   like an access token (there is no server-issued challenge, so a stolen
   presentation can be replayed to this server until it expires — the same
   exposure as a bearer access token; use the central verifier for single-use
   challenges and audit of every exchange);
3. verifies the chain with ``did_agents.delegation.verify_chain`` and the
   server's own ``Policy`` (trusted issuers, status lists fail closed);
4. returns an ``AccessToken`` whose ``subject`` is the user (or the autonomous
   agent), ``client_id`` the acting agent, ``scopes`` the effective scopes on
   this resource, and ``claims`` with the ``act`` chain — so the tool guard and
   the audit hook work unchanged.

Results are cached by the token's SHA-256 until the presentation expires
(bounded LRU): an MCP session sends the same bearer on every request.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from mcp.server.auth.provider import AccessToken

from did_agents import jws, strict_json
from did_agents.clock import Clock, SystemClock
from did_agents.credentials.verify import verify_presentation
from did_agents.delegation.chain import IssuerTrust, StatusListFetcher, verify_chain
from did_agents.did.resolver import Resolver
from did_agents.errors import DIDAgentsError, InvalidTokenError
from verifier.mcp.token_verifier import last_refusal, wall_clock_expiry

__all__ = ["MAX_LIFETIME_SECONDS", "PresentationTokenVerifier"]

logger = logging.getLogger(__name__)

MAX_LIFETIME_SECONDS: Final = 300
_VP_JWT_TYPES: Final = ("vp+jwt", "application/vp+jwt")
#: VCDM 2.0 only (Data Integrity or VC-JOSE), as at the token endpoint.
_FORMATS: Final = frozenset({"data-integrity", "vc+jwt", "vp+jwt"})


@dataclass
class PresentationTokenVerifier:
    """Verify ``vp+jwt`` bearer presentations for one MCP server (module docstring)."""

    resource: str
    policy: IssuerTrust
    resolver: Resolver
    status_resolver: StatusListFetcher | None
    clock: Clock = field(default_factory=SystemClock)
    max_lifetime: int = MAX_LIFETIME_SECONDS
    cache_size: int = 1024
    max_token_length: int = 64 * 1024
    _cache: OrderedDict[bytes, AccessToken] = field(default_factory=OrderedDict, repr=False)

    async def verify(self, token: str) -> AccessToken:
        digest = hashlib.sha256(token.encode("utf-8", "replace")).digest()
        now = int(self.clock.now().timestamp())
        cached = self._cache.get(digest)
        if cached is not None and cached.claims is not None and now < cached.claims["exp"]:
            self._cache.move_to_end(digest)
            return cached
        try:
            access = await self._verify(token, now)
        except InvalidTokenError:
            raise
        except DIDAgentsError as exc:
            raise InvalidTokenError(exc.description, reason=exc.reason) from exc
        self._cache[digest] = access
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return access

    async def _verify(self, token: str, now: int) -> AccessToken:
        parsed = jws.parse_compact(token, max_length=self.max_token_length)
        if parsed.header.get("typ") not in _VP_JWT_TYPES:
            raise InvalidTokenError("not a vp+jwt presentation", reason="wrong_typ")
        claims = strict_json.loads(parsed.payload, max_bytes=self.max_token_length)
        if not isinstance(claims, Mapping) or not isinstance(claims.get("nonce"), str) or not claims["nonce"]:
            raise InvalidTokenError("the presentation has no nonce", reason="missing_claim")
        iat, exp = jws.check_numeric_date(claims, "iat"), jws.check_numeric_date(claims, "exp")
        if iat is None or exp is None:
            raise InvalidTokenError("the presentation must carry iat and exp", reason="missing_claim")
        if exp - iat > self.max_lifetime:
            raise InvalidTokenError("the presentation lives too long", reason="lifetime_too_long")
        # VC-JOSE-COSE: aud is the verifier's domain (here: this resource), nonce its challenge.
        result = await verify_presentation(
            token,
            resolver=self.resolver,
            clock=self.clock,
            challenge=claims["nonce"],
            domain=self.resource,
            status_resolver=None,  # status is rule 5 of the chain (list issuer: the credential's or trusted)
            allowed_formats=_FORMATS,
        )
        if not result.verified or result.document is None or result.holder is None:
            problem = result.problems[0] if result.problems else None
            reason = problem.code if problem is not None else "presentation_invalid"
            detail = problem.message if problem is not None else "not verified"
            raise InvalidTokenError(f"presentation does not verify: {detail}", reason=reason)
        jws.validate_claims(result.document, now=now, require=("exp", "iat"), expected_aud=self.resource)
        entries = result.document.get("verifiableCredential", [])
        chain = await verify_chain(
            entries if isinstance(entries, list) else [entries],
            holder=result.holder,
            trust=self.policy,
            resolver=self.resolver,
            clock=self.clock,
            status_resolver=self.status_resolver,
            resource=self.resource,
        )
        if not chain.effective_scopes:
            raise InvalidTokenError("the chain grants nothing on this resource", reason="no_scope")
        expires = exp
        if chain.valid_until is not None:
            expires = min(expires, int(chain.valid_until.timestamp()))
        token_claims: dict[str, Any] = {
            "iss": result.holder,
            "sub": chain.subject,
            "aud": self.resource,
            "client_id": chain.leaf,
            "scope": " ".join(sorted(chain.effective_scopes)),
            "iat": iat,
            "exp": expires,
            "jti": "vp:" + hashlib.sha256(token.encode()).hexdigest()[:32],
        }
        if chain.act is not None:
            token_claims["act"] = chain.act
        if chain.digest is not None:
            token_claims["delegation"] = {"chain": list(chain.credential_ids), "digest": chain.digest}
        return AccessToken(
            token=token,
            client_id=chain.leaf,
            scopes=sorted(chain.effective_scopes),
            expires_at=wall_clock_expiry(expires, now),
            resource=self.resource,
            subject=chain.subject,
            claims=token_claims,
        )

    async def verify_token(self, token: str) -> AccessToken | None:
        """The SDK protocol: ``None`` on refusal, the reason in ``last_refusal``."""
        try:
            access = await self.verify(token)
        except InvalidTokenError as exc:
            last_refusal.set(exc.reason)
            logger.info("presentation refused: %s (%s)", exc.reason, exc.description)
            return None
        last_refusal.set(None)
        return access
