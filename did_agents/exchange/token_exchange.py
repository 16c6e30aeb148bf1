"""The RFC 8693 token exchange of DESIGN §6: presentation + chain + policy → an RFC 9068 access token.

:meth:`TokenExchange.exchange` runs, in this order (cheapest and most
decisive first, DESIGN §10):

1. the form and its parameters (:mod:`did_agents.exchange.request`);
2. the target: ``resource`` / ``audience`` must name a resource of the policy
   (RFC 8707 §2, RFC 8693 §2.2.2 ``invalid_target``);
3. the requested ``scope`` syntax (RFC 6749 §3.3, ``invalid_scope``);
4. the actor token, when sent (:mod:`did_agents.exchange.actor_token`);
5. the presentation's challenge, read without spending: unknown, expired,
   spent or issued for another domain is refused before any signature work;
6. the presentation proof (``authentication``, our challenge and domain) and
   every embedded credential, once
   (:func:`~did_agents.exchange.presentation.verify_subject_presentation`);
   credentials that verified before are answered by the
   :class:`~did_agents.exchange.credential_cache.VerifiedCredentialCache`
   (same bytes, same key material, same time verdict);
7. the delegation chain, DESIGN §5 rules 1-7 (``verify_chain``; the
   credential results of step 6 are reused, status lists come from the
   :class:`~did_agents.exchange.status_lists.StatusListSource` and are checked
   on every exchange);
8. the effective scope (``compute_effective_scope``);
9. minting, then ONE transaction: spend the challenge, read the status bits
   of lists kept in this database again (``status_recheck``, SECURITY
   FLT-04), remember the actor token's ``jti``, store the token, append the
   ``token_exchange.granted`` audit event. Of concurrent identical requests exactly one commits
   (SECURITY FLT-05); the others are refused with ``challenge_spent``.

Every refusal is a ``DIDAgentsError`` (its ``error`` is the RFC 6749 §5.2 /
RFC 8693 §2.2.2 code: any bad or unacceptable subject/actor token is
``invalid_request``) and writes exactly one ``token_exchange.denied`` audit
event with the machine reason; if the presentation proof had verified, the
challenge is spent in that same transaction (nothing else is written,
SECURITY NEG-INV 2-3). Audit events carry digests of the presented tokens,
never the tokens.

Time: one clock reading per request (SECURITY FLT-12).
"""

from __future__ import annotations

import logging
import secrets
from collections import OrderedDict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Final

from did_agents import jws, strict_json
from did_agents.audit import AuditEvent, AuditLog, digest
from did_agents.clock import Clock, FixedClock
from did_agents.credentials.verify import Problem, StatusResolver, VerificationResult, verify_presentation
from did_agents.delegation.capabilities import parse_scope_parameter
from did_agents.delegation.chain import (
    ChainResult,
    CredentialVerification,
    CredentialVerifier,
    ParsedClaims,
    verify_chain,
)
from did_agents.did.resolver import Resolver
from did_agents.errors import (
    DIDAgentsError,
    InputTooLargeError,
    InvalidTargetError,
    MalformedError,
    VerificationError,
)
from did_agents.exchange.access_token import AccessTokenSigner
from did_agents.exchange.actor_token import MAX_ACTOR_TOKEN_LIFETIME, ActorToken, verify_actor_token
from did_agents.exchange.credential_cache import VerifiedCredentialCache
from did_agents.exchange.presentation import PresentationTerms, verify_subject_presentation
from did_agents.exchange.request import (
    ACCESS_TOKEN_TYPE,
    JWT_TOKEN_TYPE,
    VP_TOKEN_TYPE,
    TokenExchangeRequest,
    parse_form,
    parse_token_exchange,
)
from did_agents.exchange.status_lists import (
    StatusListSource,
    StatusRecheck,
    StatusReference,
    status_references,
)
from did_agents.policy import Policy, ResourcePolicy, compute_effective_scope
from did_agents.storage.challenges import Challenge, ChallengeRepository
from did_agents.storage.database import Database
from did_agents.storage.replay import ReplayCache
from did_agents.storage.tokens import MintedToken, TokenRepository

__all__ = [
    "CHALLENGE_PURPOSE",
    "FORM_MEDIA_TYPE",
    "ExchangeConfig",
    "TokenExchange",
    "TokenResponse",
]

_log = logging.getLogger(__name__)

CHALLENGE_PURPOSE: Final = "presentation"
FORM_MEDIA_TYPE: Final = "application/x-www-form-urlencoded"
MAX_SUBJECT_TOKEN_BYTES: Final = 512 * 1024
_PURGE_EVERY: Final = 256
_MAX_UNSPENT: Final = 65_536
_EXCHANGE_FORMATS: Final = frozenset({"data-integrity", "vc+jwt", "vp+jwt"})


@dataclass(frozen=True, slots=True)
class ExchangeConfig:
    """``issuer`` is the verifier's RFC 8414 issuer identifier (``iss`` of its tokens, ``aud``
    of actor tokens); ``domain`` is what presentation proofs must be bound to."""

    issuer: str
    domain: str
    max_token_lifetime: timedelta = timedelta(minutes=5)
    challenge_ttl: timedelta = timedelta(minutes=5)
    actor_token_max_lifetime: timedelta = MAX_ACTOR_TOKEN_LIFETIME
    require_actor_token: bool = False


@dataclass(frozen=True, slots=True)
class TokenResponse:
    """RFC 8693 §2.2.1 successful response."""

    access_token: str
    expires_in: int
    scope: str
    claims: Mapping[str, Any] = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "issued_token_type": ACCESS_TOKEN_TYPE,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": self.scope,
        }


@dataclass(slots=True)
class _Facts:
    """What is known about a request so far (for its audit event); only verified values
    become subject / actors / client_id."""

    subject: str | None = None
    actors: tuple[str, ...] = ()
    client_id: str | None = None
    resource: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    spend_on_refusal: str | None = None


def _slug(reason: str) -> str:
    text = "".join(ch if ch.isalnum() or ch in "_.:-" else "_" for ch in reason.lower())[:64]
    return text if text and text[0].isalnum() else "refused"


def _subject_json(text: str | bytes) -> Any:
    """Strict JSON of the subject token. Too large or too deeply nested is ``invalid_request``
    with status 400 like any unacceptable subject token (RFC 8693 §2.2.2, RFC 6749 §5.2); 413
    is for an HTTP body over the limit, and this body was within it."""
    try:
        return strict_json.loads(text, max_bytes=MAX_SUBJECT_TOKEN_BYTES)
    except InputTooLargeError as exc:
        raise MalformedError(f"subject_token: {exc.description}", reason="too_large") from exc


def _challenge_of(presentation: Mapping[str, Any] | str) -> str:
    """The (unverified) challenge a presentation claims to answer: ``proof.challenge`` of a
    Data Integrity VP, the ``nonce`` claim of a ``vp+jwt``."""
    if isinstance(presentation, str):
        parsed = jws.parse_compact(presentation, max_length=MAX_SUBJECT_TOKEN_BYTES)
        claims = _subject_json(parsed.payload)
        value = claims.get("nonce") if isinstance(claims, dict) else None
    else:
        proof = presentation.get("proof")
        if isinstance(proof, list):
            # One holder proof; a proof set could carry several challenges.
            if len(proof) != 1:
                raise VerificationError(
                    "the presentation must carry exactly one proof", reason="presentation_proof"
                )
            proof = proof[0]
        value = proof.get("challenge") if isinstance(proof, Mapping) else None
    if not isinstance(value, str) or not value:
        raise VerificationError("the presentation is not bound to a challenge", reason="challenge_missing")
    return value


def _decode_subject_token(request: TokenExchangeRequest) -> Mapping[str, Any] | str:
    token = request.subject_token
    if len(token) > MAX_SUBJECT_TOKEN_BYTES:
        raise MalformedError("subject_token too large", reason="too_large")
    if request.subject_token_type == VP_TOKEN_TYPE:
        document = _subject_json(token)
        if not isinstance(document, dict):
            raise MalformedError("subject_token must be a JSON presentation", reason="malformed")
        return document
    assert request.subject_token_type == JWT_TOKEN_TYPE
    if token.count(".") != 2:
        raise MalformedError("subject_token must be a compact vp+jwt", reason="malformed")
    return token


def _reused(results: Iterable[tuple[Any, VerificationResult]], other: CredentialVerifier) -> Any:
    """A ``CredentialVerifier`` answering from the presentation's results for the very
    credential objects it verified, and with ``other`` for anything else (status lists)."""
    by_id = {id(entry): (entry, result) for entry, result in results}

    async def verify(credential: Any, /, *, resolver: Resolver, clock: Clock) -> CredentialVerification:
        hit = by_id.get(id(credential))
        if hit is not None and hit[0] is credential:
            return hit[1]
        return await other(credential, resolver=resolver, clock=clock)

    return verify


def _challenge_refusal(challenge: Challenge, now: datetime, domain: str) -> VerificationError | None:
    """Why an issued challenge cannot be spent now for a presentation bound to ``domain``."""
    if challenge.spent_at is not None:
        return VerificationError("challenge already used", reason="challenge_spent")
    if challenge.expires_at <= now:
        return VerificationError("challenge expired", reason="challenge_expired")
    if challenge.purpose != CHALLENGE_PURPOSE or challenge.domain != domain:
        return VerificationError("challenge issued for another use", reason="challenge_mismatch")
    return None


class TokenExchange:
    """The verifier's token endpoint logic (module docstring); routes call :meth:`exchange`."""

    def __init__(
        self,
        *,
        database: Database,
        policy: Policy,
        signer: AccessTokenSigner,
        resolver: Resolver,
        status_source: StatusListSource | None,
        clock: Clock,
        config: ExchangeConfig,
        status_recheck: StatusRecheck | None = None,
    ) -> None:
        self.database = database
        self.status_recheck = status_recheck
        self.policy = policy
        self.signer = signer
        self.resolver = resolver
        self.status_source = status_source
        self.clock = clock
        self.config = config
        self._issued = 0
        # Verified credentials by the options they were verified with (the policy's clock skew
        # for presented credentials; verify_credential's defaults for status lists).
        self._credentials: dict[timedelta, VerifiedCredentialCache] = {}
        self._status_lists = VerifiedCredentialCache()
        self._terms = PresentationTerms()
        self._claims = ParsedClaims()
        # Challenges this instance issued and has not spent (nonce → expiry), so the precheck of
        # step 5 needs no database read for them; the database stays the authority (step 9).
        self._unspent: OrderedDict[str, datetime] = OrderedDict()

    def clear_caches(self) -> None:
        """Forget verified credentials, parsed claims and presentation term verdicts (the next
        exchanges verify everything afresh). Challenges and status are not cached here."""
        self._credentials.clear()
        self._status_lists.clear()
        self._terms = PresentationTerms()
        self._claims = ParsedClaims()

    def _credential_cache(self, skew: timedelta) -> VerifiedCredentialCache:
        cache = self._credentials.get(skew)
        if cache is None:
            cache = VerifiedCredentialCache(allowed_formats=_EXCHANGE_FORMATS, clock_skew=skew)
            self._credentials[skew] = cache
        return cache

    # -- challenges ------------------------------------------------------------------------

    async def issue_challenge(self) -> Challenge:
        """A single-use challenge bound to this verifier's domain (SECURITY SEC-23/24)."""
        now = self.clock.now()
        self._issued += 1
        purge = self._issued % _PURGE_EVERY == 0

        def work(conn: Any) -> Challenge:
            repo = ChallengeRepository(conn)
            if purge:
                repo.purge(now, keep=timedelta(hours=1))
            return repo.issue(
                purpose=CHALLENGE_PURPOSE, domain=self.config.domain, ttl=self.config.challenge_ttl, now=now
            )

        challenge = await self.database.run_async(work)
        self._remember_challenge(challenge)
        return challenge

    def _remember_challenge(self, challenge: Challenge) -> None:
        unspent = self._unspent
        unspent[challenge.nonce] = challenge.expires_at
        # Oldest first: drop what has expired anyway, and keep the map bounded.
        while unspent:
            nonce, expires_at = next(iter(unspent.items()))
            if len(unspent) <= _MAX_UNSPENT and expires_at > challenge.created_at:
                break
            del unspent[nonce]

    async def verify_presentation_once(
        self,
        presentation: Mapping[str, Any] | str,
        *,
        challenge: str,
        domain: str,
        status_resolver: StatusResolver | None,
    ) -> VerificationResult:
        """W3C VC API "verify presentation" against ``challenge``: single use when it is ours.

        A challenge this verifier issued (``POST /challenges``) must be unspent,
        unexpired and issued for ``domain``, else the answer is a refusal
        (``challenge_spent`` / ``challenge_expired`` / ``challenge_mismatch``)
        before any signature work; once the holder proof verifies, it is spent
        (VC DM 2.0 "Replay Attack"), and a concurrent spend makes this answer a
        refusal. A challenge we never issued is the caller's own: the
        presentation is verified against it and nothing is written.
        """
        now = self.clock.now()
        clock = FixedClock(now)
        issued = await self.database.read_async(lambda conn: ChallengeRepository(conn).find(challenge))
        if issued is not None:
            refusal = _challenge_refusal(issued, now, domain)
            if refusal is not None:
                return VerificationResult(
                    verified=False, document=None, format=None, problems=(Problem.of(refusal),)
                )
        result = await verify_presentation(
            presentation,
            resolver=self.resolver,
            clock=clock,
            challenge=challenge,
            domain=domain,
            status_resolver=status_resolver,
        )
        proven = result.document is not None and all(p.code == "invalid_credential" for p in result.problems)
        if issued is None or not proven:
            return result

        def spend(conn: Any) -> None:
            ChallengeRepository(conn).spend(challenge, now, purpose=CHALLENGE_PURPOSE, domain=domain)

        try:
            await self.database.run_async(spend)
        except VerificationError as exc:  # spent concurrently
            return replace(result, verified=False, problems=(*result.problems, Problem.of(exc)))
        finally:
            self._unspent.pop(challenge, None)
        return result

    # -- the exchange ----------------------------------------------------------------------

    async def exchange(self, body: bytes, *, content_type: str | None = FORM_MEDIA_TYPE) -> TokenResponse:
        """Run one token-exchange request (the raw body and its media type).
        Raises ``DIDAgentsError`` on refusal, after auditing it."""
        clock = FixedClock(self.clock.now())
        facts = _Facts()
        try:
            try:
                media_type = (content_type or "").split(";", 1)[0].strip().lower()
                if media_type != FORM_MEDIA_TYPE:
                    # RFC 6749 §3.2 / RFC 8693 §2.1: the body is application/x-www-form-urlencoded.
                    raise MalformedError(
                        "the body must be application/x-www-form-urlencoded", reason="unsupported_media_type"
                    )
                request = parse_token_exchange(parse_form(body))
                return await self._exchange(request, clock, facts)
            except DIDAgentsError:
                raise
            except Exception as exc:
                # Fail closed: an unexpected failure while verifying is a refusal, never a 5xx.
                _log.exception("unexpected error during token exchange")
                raise VerificationError("the request could not be verified", reason="unverifiable") from exc
        except DIDAgentsError as exc:
            await self._deny(exc, facts, clock)
            raise

    async def _exchange(
        self, request: TokenExchangeRequest, clock: FixedClock, facts: _Facts
    ) -> TokenResponse:
        facts.details["subject_token_digest"] = digest(request.subject_token)
        if request.actor_token is not None:
            facts.details["actor_token_digest"] = digest(request.actor_token)
        facts.details["subject_token_type"] = request.subject_token_type

        # 2. target (RFC 8707 §2; RFC 8693 §2.2.2 invalid_target).
        entry = self._target(request)
        facts.resource = entry.url
        # 3. scope syntax (RFC 6749 §3.3).
        requested = parse_scope_parameter(request.scope)
        facts.details["requested_scope"] = " ".join(sorted(requested))
        limits = self.policy.limits
        skew = timedelta(seconds=limits.clock_skew)

        # 4. actor token.
        actor = await self._actor(request, clock, skew)
        if actor is not None:
            facts.client_id = actor.agent
            facts.details["actor_jti_digest"] = digest(actor.jti)

        # 5. challenge, read only.
        presentation = _decode_subject_token(request)
        nonce = _challenge_of(presentation)
        await self._precheck_challenge(nonce, clock.now())

        # 6. the presentation proof, then every embedded credential once (cached across exchanges).
        verified_credential = self._credential_cache(skew)
        presented = await verify_subject_presentation(
            presentation,
            resolver=self.resolver,
            clock=clock,
            challenge=nonce,
            domain=self.config.domain,
            verify_credential=verified_credential,
            terms=self._terms,
            max_credentials=limits.max_credentials,
            clock_skew=skew,
        )
        # VC DM 2.0 "Replay Attack": the holder proved possession for this challenge; it is
        # spent now whatever happens next.
        facts.spend_on_refusal = nonce
        facts.client_id = facts.client_id or presented.holder
        entries = list(presented.entries)

        # 7. the chain (DESIGN §5).
        chain = await verify_chain(
            entries,
            holder=presented.holder,
            trust=self.policy,
            resolver=self.resolver,
            clock=clock,
            status_resolver=self.status_source,
            verify_credential=_reused(zip(entries, presented.credentials, strict=True), self._status_lists),
            resource=entry.url,
            actor=actor.agent if actor is not None else None,
            allowed_formats=entry.allowed_formats,
            max_chain_length=limits.max_chain_length,
            max_credentials=limits.max_credentials,
            clock_skew=skew,
            parsed_claims=self._claims,
        )
        facts.subject = chain.subject
        facts.actors = tuple(reversed(chain.agents)) if chain.user is not None else ()
        facts.client_id = chain.leaf
        facts.details["chain"] = list(chain.credential_ids)
        if chain.digest is not None:
            facts.details["chain_digest"] = chain.digest

        # 8. effective scope (DESIGN §5, last paragraph).
        scopes = compute_effective_scope(
            self.policy,
            entry.url,
            chain.agent_capabilities,
            chain.user_authority,
            chain.link_capabilities,
            requested,
        )
        # 9. mint and commit (status bits read again inside the transaction, SECURITY FLT-04).
        statuses = status_references(result.document for result in presented.credentials)
        return await self._mint(chain, entry, scopes, nonce, actor, clock, facts, statuses)

    def _target(self, request: TokenExchangeRequest) -> ResourcePolicy:
        entry = self.policy.resource_policy(request.target)
        if request.resource is not None and request.audience is not None:
            other = self.policy.resource_policy(request.audience)
            if other.url != entry.url:
                raise InvalidTargetError(
                    "resource and audience name different targets", reason="multiple_targets"
                )
        return entry

    async def _actor(self, request: TokenExchangeRequest, clock: Clock, skew: timedelta) -> ActorToken | None:
        if request.actor_token is None:
            if self.config.require_actor_token:
                raise MalformedError("actor_token is required", reason="actor_token_required")
            return None
        try:
            return await verify_actor_token(
                request.actor_token,
                resolver=self.resolver,
                clock=clock,
                audience=self.config.issuer,
                max_lifetime=self.config.actor_token_max_lifetime,
                leeway=skew,
            )
        except DIDAgentsError as exc:
            # RFC 8693 §2.2.2: an actor token invalid for any reason is invalid_request.
            raise VerificationError(
                f"actor_token: {exc.description}"[:300], reason=f"actor_token_{exc.reason}"[:64]
            ) from exc

    async def _precheck_challenge(self, nonce: str, now: datetime) -> None:
        """Step 5: refuse a challenge that cannot be spent before any signature work.

        A challenge issued by this instance and not spent by it is judged from memory (its
        purpose and domain are ours; only expiry can change). Anything else is read from the
        database. Either way the spend in the commit transaction decides (a challenge spent
        meanwhile by another instance is refused there, with the same reason).
        """
        expires_at = self._unspent.get(nonce)
        if expires_at is not None:
            if expires_at <= now:
                raise VerificationError("challenge expired", reason="challenge_expired")
            return
        await self.database.read_async(lambda conn: self._check_challenge(conn, nonce, now))

    def _check_challenge(self, conn: Any, nonce: str, now: datetime) -> None:
        challenge = ChallengeRepository(conn).find(nonce)
        if challenge is None:
            raise VerificationError("unknown challenge", reason="challenge_unknown")
        refusal = _challenge_refusal(challenge, now, self.config.domain)
        if refusal is not None:
            raise refusal

    async def _mint(
        self,
        chain: ChainResult,
        entry: ResourcePolicy,
        scopes: Collection[str],
        nonce: str,
        actor: ActorToken | None,
        clock: FixedClock,
        facts: _Facts,
        statuses: Sequence[StatusReference] = (),
    ) -> TokenResponse:
        now = clock.now()
        iat = int(now.timestamp())
        # DESIGN §6: exp ≤ the earliest validUntil in the chain and ≤ both configured maxima.
        expiry = entry.token_expiry(now, chain.valid_until, max_lifetime=self.config.max_token_lifetime)
        exp = int(expiry.timestamp())
        if exp <= iat:
            raise VerificationError("the chain expires before a token could be used", reason="chain_validity")
        scope = " ".join(sorted(scopes))
        jti = secrets.token_urlsafe(24)
        # RFC 9068 §2.2 (iss, exp, aud, sub, client_id, iat, jti; scope §2.2.3) and
        # RFC 8693 §4.1 act, built from the verified chain only (SECURITY SEC-21).
        claims: dict[str, Any] = {
            "iss": self.config.issuer,
            "sub": chain.subject,
            "aud": entry.url,
            "exp": exp,
            "iat": iat,
            "jti": jti,
            "client_id": chain.leaf,
            "scope": scope,
        }
        act = chain.act
        if act is not None:
            claims["act"] = act
        if chain.links:
            claims["delegation"] = {"chain": list(chain.credential_ids), "digest": chain.digest}
        token, kid = self.signer.sign(claims)
        minted = MintedToken(
            jti=jti,
            sub=chain.subject,
            client_id=chain.leaf,
            aud=entry.url,
            scope=scope,
            iat=datetime.fromtimestamp(iat, tz=now.tzinfo),
            exp=datetime.fromtimestamp(exp, tz=now.tzinfo),
            act=act,
            chain=chain.credential_ids or None,
            chain_digest=chain.digest,
            kid=kid,
        )
        event = AuditEvent(
            type="token_exchange.granted",
            decision="allowed",
            reason="granted",
            subject=chain.subject,
            actors=facts.actors,
            client_id=chain.leaf,
            action="token_exchange",
            resource=entry.url,
            details={**facts.details, "scope": scope, "jti": jti, "kid": kid, "exp": exp},
        )
        replay_until = (actor.expires_at if actor is not None else now) + timedelta(
            seconds=self.policy.limits.clock_skew
        )

        def commit(conn: Any) -> None:
            # SEC-23: the challenge is spent atomically; of concurrent copies one wins.
            ChallengeRepository(conn).spend(nonce, now, purpose=CHALLENGE_PURPOSE, domain=self.config.domain)
            # SECURITY FLT-04: a revocation that committed after rule 5 read the list wins.
            if self.status_recheck is not None and statuses:
                self.status_recheck(conn, statuses)
            # RFC 7523 §3 item 7 / SEC-18: an actor token works once.
            if actor is not None and not ReplayCache(conn).remember(
                actor.agent, actor.jti, expires_at=replay_until, now=now
            ):
                raise VerificationError("actor token already used", reason="actor_token_replayed")
            TokenRepository(conn).record(minted)
            AuditLog(conn, clock).append(event)

        try:
            await self.database.run_async(commit)
        finally:
            self._unspent.pop(nonce, None)
        return TokenResponse(access_token=token, expires_in=exp - iat, scope=scope, claims=claims)

    async def record_refusal(self, exc: DIDAgentsError) -> None:
        """Audit a token request refused before :meth:`exchange` could read it (e.g. a body over
        the size limit): one ``token_exchange.denied`` event, as for any other refusal."""
        await self._deny(exc, _Facts(), FixedClock(self.clock.now()))

    async def _deny(self, exc: DIDAgentsError, facts: _Facts, clock: Clock) -> None:
        """Exactly one ``token_exchange.denied`` event (and the challenge spent, if it was proven)."""
        details = {**facts.details, "status": exc.status_code, "error": exc.error}
        try:
            event = AuditEvent(
                type="token_exchange.denied",
                decision="denied",
                reason=_slug(exc.reason),
                subject=facts.subject,
                actors=facts.actors,
                client_id=facts.client_id,
                action="token_exchange",
                resource=facts.resource,
                details=details,
            )
        except ValueError:
            event = AuditEvent(
                type="token_exchange.denied",
                decision="denied",
                reason=_slug(exc.reason),
                action="token_exchange",
                details={"status": exc.status_code, "error": exc.error},
            )
        nonce = facts.spend_on_refusal
        if nonce is not None:
            self._unspent.pop(nonce, None)
        now = clock.now()

        def work(conn: Any) -> None:
            if nonce is not None:
                try:
                    ChallengeRepository(conn).spend(
                        nonce, now, purpose=CHALLENGE_PURPOSE, domain=self.config.domain
                    )
                except VerificationError:
                    pass  # already spent (e.g. by the request that won)
            AuditLog(conn, clock).append(event)

        try:
            await self.database.run_async(work)
        except DIDAgentsError:
            _log.exception("could not record the audit event of a refused token exchange")
