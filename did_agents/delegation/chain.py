"""Delegation chain verification (DESIGN §5) and the RFC 8693 ``act`` claim.

:func:`verify_chain` takes the credentials of an already verified presentation
(its holder proof checked with the verifier's challenge and domain) and
applies every rule of DESIGN §5 in order. Each refusal is a
``VerificationError`` whose ``reason`` names the rule:

* bounds, before any signature work (SECURITY SEC-42): ``too_large`` — more
  than ``max_credentials`` credentials or ``max_chain_length`` links;
* rule 1: ``chain_signature`` — a credential's proof, issuer binding or data
  model does not verify (the credential verifier's problem code is in the
  message), or its format is not allowed; ``malformed_credential`` — a
  verified credential's claims are malformed;
* rule 2: ``chain_root`` — no root DelegationCredential, or a root not issued
  by the user (SEC-40); ``chain_link`` — a link not issued by its parent's
  subject, a ``parentCredential`` whose id or digest does not match, two
  roots, branches, duplicates, or a credential that is not part of the chain
  (SEC-33, SEC-39);
* rule 3: ``chain_escalation`` — a link's capabilities are not ⊆ its parent's
  (SEC-37); ``chain_depth`` — more links below a credential than its
  ``maxDepth``; ``chain_cycle`` — a DID twice, or parent references that loop
  (SEC-41);
* rule 4: ``chain_validity`` — a child outlives (or starts before) its parent,
  or a credential is expired / not yet valid (SEC-43);
* rule 5: ``revoked``, ``suspended``; ``status_unavailable`` when a status
  list cannot be obtained or trusted (fail closed, SEC-45/46);
* rule 6: ``agent_credential`` — the leaf agent has no AgentCapabilityCredential
  from a trusted issuer, or the holder / actor is not the leaf (SEC-17, SEC-33);
* rule 7: ``delegator_not_allowed`` — the user is not in the ``delegators`` of
  an agent of the chain (or that agent's credential is missing).

Decisions (also in ``docs/policy.md``):

* ``parentCredential.digestSRI`` is ``"sha256-" + base64(SHA-256(JCS(parent)))``
  (W3C SRI §3.5 syntax, VCDM 2.0 §5.3) over the parent credential as the
  credential verifier returns it: for Data Integrity the credential JSON with
  its ``proof``; for VC-JOSE the JWT payload (the JWS signs exactly it).
* The chain digest is the same construction over the JSON array of the links'
  digests, root first.
* A missing ``maxDepth`` means 0 (no redelegation). A delegation must have
  ``validUntil``. A child without ``validFrom`` under a parent with one does not
  nest. Validity: ``validFrom - skew <= now < validUntil``.
* Role names in ``delegators`` match roles from RoleCredentials issued by the
  same organization as that agent's AgentCapabilityCredential: role names are
  an organization's own vocabulary.
* The agent authority used for the effective scope is the intersection of the
  (issuer-vouched) capabilities of *every* agent in the chain: an agent cannot
  pass on what it may not do itself.
* Every credential in the presentation must be used: links, one capability
  credential per agent of the chain, role credentials about the user.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import itertools
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Protocol

from did_agents import jcs, multibase, strict_json
from did_agents.clock import Clock, parse_datetime
from did_agents.credentials.model import Credential
from did_agents.credentials.verify import verify_credential as _verify_credential
from did_agents.credentials.vocabulary import (
    AGENT_CAPABILITY_CREDENTIAL,
    DELEGATION_CREDENTIAL,
    ROLE_CREDENTIAL,
    AgentCapability,
    Delegation,
    RoleGrant,
    credential_digest_sri,
    parse_capability_credential,
    parse_delegation_credential,
    parse_role_credential,
)
from did_agents.delegation.capabilities import (
    Capability,
    CapabilitySet,
    covers,
    intersect,
    normalize,
    parse_capabilities,
    parse_resource,
    scopes_on,
)
from did_agents.did.resolver import Resolver
from did_agents.errors import DIDAgentsError, MalformedError, VerificationError
from did_agents.status.bitstring import check_status

__all__ = [
    "DEFAULT_CLOCK_SKEW",
    "DEFAULT_MAX_CHAIN_LENGTH",
    "DEFAULT_MAX_CREDENTIALS",
    "ChainLink",
    "ChainResult",
    "CredentialVerification",
    "CredentialVerifier",
    "IssuerTrust",
    "ParsedClaims",
    "StatusListFetcher",
    "VerificationProblem",
    "build_act",
    "chain_digest",
    "verify_chain",
]

DEFAULT_MAX_CHAIN_LENGTH: Final = 8
DEFAULT_MAX_CREDENTIALS: Final = 32
DEFAULT_CLOCK_SKEW: Final = timedelta(seconds=60)

#: Problem codes of the credential verifier that are about the validity period:
#: rule 4 decides those (with the chain's clock skew), not rule 1.
_VALIDITY_PROBLEMS: Final = frozenset({"expired", "not_yet_valid"})
_ENVELOPED: Final = "EnvelopedVerifiableCredential"
_ENVELOPED_PREFIX: Final = "data:application/vc+jwt,"


# -- extension points ------------------------------------------------------------------------


class VerificationProblem(Protocol):
    @property
    def code(self) -> str: ...

    @property
    def message(self) -> str: ...


class CredentialVerification(Protocol):
    """What :func:`verify_chain` reads from a credential verification result."""

    @property
    def verified(self) -> bool: ...

    @property
    def document(self) -> Mapping[str, Any] | None: ...

    @property
    def format(self) -> str | None: ...

    @property
    def problems(self) -> Sequence[VerificationProblem]: ...


class CredentialVerifier(Protocol):
    """``did_agents.credentials.verify_credential`` (or a stand-in in tests)."""

    def __call__(
        self, credential: Any, /, *, resolver: Resolver, clock: Clock
    ) -> Awaitable[CredentialVerification]: ...


StatusListFetcher = Callable[[str], Awaitable[Mapping[str, Any] | str]]
"""Fetch the status list credential published at a URL (a JSON credential or a ``vc+jwt``);
the same shape as ``did_agents.credentials.verify.StatusResolver``. Any exception fails closed."""


class IssuerTrust(Protocol):
    """Which organizations' credentials count, and for what (``did_agents.policy.Policy``)."""

    def is_trusted_issuer(self, did: str) -> bool: ...

    def vouch(self, issuer: str, capabilities: Sequence[Capability]) -> CapabilitySet: ...


# -- results ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChainLink:
    """One verified DelegationCredential of the chain."""

    credential_id: str
    issuer: str
    subject: str
    capabilities: CapabilitySet
    max_depth: int
    valid_from: datetime | None
    valid_until: datetime
    digest: str
    format: str | None


@dataclass(frozen=True)
class ChainResult:
    """A verified chain. ``subject`` is the token's ``sub``; ``agents`` run root → leaf.

    (No ``__slots__``: the derived values below are computed once, on first use.)
    """

    subject: str
    user: str | None
    agents: tuple[str, ...]
    links: tuple[ChainLink, ...]
    agent_kind: str
    agent_credential_ids: tuple[str, ...]
    #: ∩ of the issuer-vouched capabilities of every agent in the chain
    agent_capabilities: CapabilitySet
    #: ∪ of the vouched capabilities of the user's trusted RoleCredentials; None without one
    user_authority: CapabilitySet | None
    user_roles: frozenset[str]
    #: scopes the delegation allows on ``resource`` (∩ of every link; the agent's own
    #: capabilities for an autonomous agent); empty when no resource was given
    resource: str | None
    effective_scopes: frozenset[str]
    #: the earliest ``validUntil`` of every credential used (the token's ``exp`` bound)
    valid_until: datetime | None

    @property
    def leaf(self) -> str:
        """The acting agent (the token's ``client_id``)."""
        return self.agents[-1]

    @functools.cached_property
    def credential_ids(self) -> tuple[str, ...]:
        """The delegation credential ids, root first (empty for an autonomous agent)."""
        return tuple(link.credential_id for link in self.links)

    @functools.cached_property
    def digest(self) -> str | None:
        """The chain digest (see module docstring); ``None`` without links."""
        return chain_digest([link.digest for link in self.links]) if self.links else None

    @property
    def link_capabilities(self) -> tuple[CapabilitySet, ...]:
        return tuple(link.capabilities for link in self.links)

    @property
    def act(self) -> dict[str, Any] | None:
        """The token's ``act`` claim; ``None`` for an autonomous agent (``sub`` is the agent)."""
        return build_act(self.agents) if self.user is not None else None


def build_act(agents_root_to_leaf: Sequence[str]) -> dict[str, Any]:
    """The RFC 8693 §4.1 ``act`` claim for a chain of agents, most recent actor outermost.

    ``["A", "B"]`` (user → A → B) gives ``{"sub": "B", "act": {"sub": "A"}}``.
    Only ``sub`` members: RFC 8693 §4.1 says other claims inside ``act`` are
    meaningless for access control (SECURITY SEC-21).
    """
    if not agents_root_to_leaf:
        raise ValueError("build_act needs at least one agent")
    act: dict[str, Any] | None = None
    for agent in agents_root_to_leaf:
        if not isinstance(agent, str) or not agent:
            raise ValueError("agents must be DID strings")
        act = {"sub": agent} if act is None else {"sub": agent, "act": act}
    assert act is not None
    return act


def chain_digest(link_digests: Sequence[str]) -> str:
    """``sha256-<base64>`` of the JCS JSON array of the links' digestSRI values, root first."""
    digest = hashlib.sha256(jcs.canonicalize(list(link_digests))).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


# -- helpers ---------------------------------------------------------------------------------


def _fail(reason: str, description: str) -> VerificationError:
    return VerificationError(description, reason=reason)


def _short(value: object, limit: int = 120) -> str:
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "…"


def _types_of(document: Mapping[str, Any]) -> tuple[str, ...]:
    value = document.get("type")
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(v for v in value if isinstance(v, str))
    return ()


def _peek_types(entry: Any) -> tuple[str, ...]:
    """The declared types of an entry, unverified: only used to bound work before any crypto."""
    if isinstance(entry, str):
        parts = entry.split(".")
    elif isinstance(entry, Mapping):
        types = _types_of(entry)
        url = entry.get("id")
        if _ENVELOPED not in types or not isinstance(url, str) or not url.startswith(_ENVELOPED_PREFIX):
            return types
        parts = url[len(_ENVELOPED_PREFIX) :].split(".")
    else:
        return ()
    if len(parts) != 3:
        return ()
    try:
        payload = strict_json.loads(multibase.b64url_decode(parts[1]))
    except DIDAgentsError:
        return ()
    return _types_of(payload) if isinstance(payload, Mapping) else ()


def _format_label(fmt: str | None, document: Mapping[str, Any]) -> str | None:
    """The policy's name for how a credential was secured: its cryptosuite, or ``jose``."""
    if fmt == "data-integrity":
        proof = document.get("proof")
        suite = proof.get("cryptosuite") if isinstance(proof, Mapping) else None
        return suite if isinstance(suite, str) else None
    if fmt == "vc+jwt":
        return "jose"
    return fmt


def _window_explains(code: str, document: Mapping[str, Any], now: datetime) -> bool:
    """True when an ``expired`` / ``not_yet_valid`` problem is about the credential's own
    validity period (rule 4), not about its proof's ``created`` / ``expires`` (rule 1)."""
    member = "validUntil" if code == "expired" else "validFrom"
    try:
        bound = parse_datetime(document.get(member))
    except ValueError:
        return False
    return now >= bound if code == "expired" else now < bound


@dataclass(slots=True)
class _Verified:
    index: int
    document: Mapping[str, Any]
    format: str | None
    types: tuple[str, ...]
    window_problems: tuple[str, ...]  # the verifier's validity-period problems, judged by rule 4


@dataclass(frozen=True, slots=True)
class _Used:
    """A credential the chain relies on, for rules 4 and 5."""

    item: _Verified
    issuer: str
    valid_from: datetime | None
    valid_until: datetime | None

    @classmethod
    def of(cls, item: _Verified, credential: Credential) -> _Used:
        return cls(item, credential.issuer, credential.valid_from, credential.valid_until)


@dataclass(frozen=True, slots=True)
class _Link:
    item: _Verified
    parsed: Delegation
    capabilities: CapabilitySet
    digest: str

    @property
    def id(self) -> str:
        assert self.parsed.credential.id is not None
        return self.parsed.credential.id

    @property
    def valid_until(self) -> datetime:
        # parse_delegation_credential refuses a delegation without validUntil.
        assert self.parsed.credential.valid_until is not None
        return self.parsed.credential.valid_until

    def used(self) -> _Used:
        return _Used.of(self.item, self.parsed.credential)


@dataclass(frozen=True, slots=True)
class _Agent:
    item: _Verified
    parsed: AgentCapability
    capabilities: CapabilitySet

    def used(self) -> _Used:
        return _Used.of(self.item, self.parsed.credential)


@dataclass(frozen=True, slots=True)
class _Role:
    item: _Verified
    parsed: RoleGrant
    capabilities: CapabilitySet

    def used(self) -> _Used:
        return _Used.of(self.item, self.parsed.credential)


@dataclass(frozen=True, slots=True)
class _Context:
    trust: IssuerTrust
    resolver: Resolver
    clock: Clock
    verify: CredentialVerifier
    fetch: StatusListFetcher | None
    skew: timedelta


def _claimed_capabilities(
    document: Mapping[str, Any], index: int, *, optional: bool = False
) -> CapabilitySet:
    # The credential layer checked the claim's shape; the algebra's own parser adds
    # what covering needs (no dot segments, canonical form).
    subject = document.get("credentialSubject")
    raw = subject.get("capabilities") if isinstance(subject, Mapping) else None
    if raw is None and optional:
        return ()
    try:
        return parse_capabilities(raw)
    except MalformedError as exc:
        raise _fail("malformed_credential", f"credential #{index}: {exc.description}") from exc


def _intersection(sets: Sequence[CapabilitySet]) -> CapabilitySet:
    result = sets[0]
    for other in sets[1:]:
        result = intersect(result, other)
    return result


def _earliest(values: Sequence[datetime | None]) -> datetime | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None


# -- verification ----------------------------------------------------------------------------


async def verify_chain(
    credentials: Sequence[Any],
    *,
    holder: str,
    trust: IssuerTrust,
    resolver: Resolver,
    clock: Clock,
    status_resolver: StatusListFetcher | None,
    verify_credential: CredentialVerifier = _verify_credential,
    resource: str | None = None,
    actor: str | None = None,
    expected_user: str | None = None,
    allowed_formats: Collection[str] | None = None,
    max_chain_length: int = DEFAULT_MAX_CHAIN_LENGTH,
    max_credentials: int = DEFAULT_MAX_CREDENTIALS,
    clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
    parsed_claims: ParsedClaims | None = None,
) -> ChainResult:
    """Verify a presentation's credentials as a delegation chain (DESIGN §5, rules 1-7 in order).

    ``credentials`` are the entries of the verified presentation's
    ``verifiableCredential`` (embedded credentials or enveloped ``vc+jwt``);
    ``holder`` is the DID whose proof on the presentation was verified (with the
    verifier's challenge and domain); ``actor`` is the ``sub`` of a verified
    actor token, if any. ``trust`` says which organizations' credentials count
    and for what (a ``did_agents.policy.Policy``). ``status_resolver`` fetches
    status list credentials by URL; without it any ``credentialStatus`` fails
    closed. ``expected_user``, when given, is the only acceptable root
    delegator. ``resource`` (an exact URL) fills ``ChainResult.effective_scopes``.
    ``allowed_formats`` are policy format names (cryptosuites, ``jose``).

    Every credential's proof is verified here with ``verify_credential``;
    ``parsed_claims`` (optional) remembers the claims parsed out of documents that
    ``verify_credential`` returns again (see :class:`ParsedClaims`).
    Returns a :class:`ChainResult` or raises ``VerificationError`` with the
    reason of the first failed rule (module docstring).
    """
    # -- bounds, before any signature work (DESIGN §10, SEC-42) ------------------------------
    if isinstance(credentials, (str, bytes)) or not isinstance(credentials, Sequence):
        raise _fail("malformed_credential", "credentials must be a list")
    if len(credentials) > max_credentials:
        raise _fail(
            "too_large", f"{len(credentials)} credentials in one presentation (at most {max_credentials})"
        )
    # Fewer credentials than the bound cannot declare too many links: peek only otherwise.
    if len(credentials) > max_chain_length:
        declared_links = sum(1 for entry in credentials if DELEGATION_CREDENTIAL in _peek_types(entry))
        if declared_links > max_chain_length:
            raise _fail("too_large", f"{declared_links} delegation links (at most {max_chain_length})")
    if not credentials:
        raise _fail("agent_credential", "the presentation holds no credentials")
    target = None
    if resource is not None:
        try:
            target = parse_resource(resource)
        except MalformedError as exc:
            raise _fail("malformed_credential", f"resource: {exc.description}") from exc
    ctx = _Context(trust, resolver, clock, verify_credential, status_resolver, clock_skew)

    # -- rule 1: every credential's proof verifies ------------------------------------------
    verified = [
        await _verify_one(index, entry, ctx, allowed_formats) for index, entry in enumerate(credentials)
    ]
    links, agents, roles = _classify(verified, parsed_claims)
    if len(links) > max_chain_length:
        raise _fail("too_large", f"{len(links)} delegation links (at most {max_chain_length})")
    if not links:
        return await _autonomous(agents, roles, holder=holder, actor=actor, target=target, ctx=ctx)

    # -- rule 2: root issued by the user; each link issued by its parent's subject ----------
    ordered = _order_links(links, agents, expected_user)
    user = ordered[0].parsed.delegator
    chain_agents = [link.parsed.delegatee for link in ordered]
    for agent in agents:
        if agent not in chain_agents:
            raise _fail(
                "chain_link", f"an AgentCapabilityCredential names {_short(agent)}, who is not in the chain"
            )
    for role in roles:
        if role.parsed.user != user:
            raise _fail(
                "chain_link",
                f"credential #{role.item.index}: a RoleCredential about someone other than the user",
            )

    # -- rule 3: capabilities narrow; depth within every maxDepth; no DID twice ---------------
    for parent, child in itertools.pairwise(ordered):
        # UCAN spec §Attenuation: each delegation restates or attenuates (SEC-37).
        if not covers(parent.capabilities, child.capabilities):
            raise _fail(
                "chain_escalation",
                f"delegation {_short(child.id)} grants more than its parent {_short(parent.id)}",
            )
    for position, link in enumerate(ordered):
        # RFC 5280 §4.2.1.9 pathLenConstraint, the analogous limit: links below ≤ maxDepth.
        below = len(ordered) - 1 - position
        if below > link.parsed.max_depth:
            raise _fail(
                "chain_depth",
                f"delegation {_short(link.id)} allows {link.parsed.max_depth} further hop(s); {below} follow",
            )
    seen: set[str] = set()
    for did in [user, *chain_agents]:
        if did in seen:
            raise _fail("chain_cycle", f"{_short(did)} appears twice in the chain")
        seen.add(did)

    # -- rule 4: validity windows nest; everything is current --------------------------------
    for parent, child in itertools.pairwise(ordered):
        if child.valid_until > parent.valid_until:
            raise _fail(
                "chain_validity", f"delegation {_short(child.id)} outlives its parent {_short(parent.id)}"
            )
        p_from, c_from = parent.parsed.credential.valid_from, child.parsed.credential.valid_from
        if p_from is not None and (c_from is None or c_from < p_from):
            raise _fail(
                "chain_validity",
                f"delegation {_short(child.id)} starts before its parent {_short(parent.id)}",
            )
    used = [link.used() for link in ordered]
    used += [agents[a].used() for a in chain_agents if a in agents]
    used += [role.used() for role in roles]
    _check_current(used, ctx)

    # -- rule 5: nothing revoked or suspended --------------------------------------------------
    await _check_status(used, ctx)

    # -- rule 6: the leaf agent holds a trusted capability credential and is the holder -------
    leaf = chain_agents[-1]
    leaf_credential = agents.get(leaf)
    if leaf_credential is None or not trust.is_trusted_issuer(leaf_credential.parsed.issuer):
        raise _fail(
            "agent_credential",
            f"the acting agent {_short(leaf)} has no AgentCapabilityCredential from a trusted issuer",
        )
    _check_binding(leaf, holder, actor)

    # -- rule 7: the user is allowed by every agent's delegators -----------------------------
    trusted_roles = [role for role in roles if trust.is_trusted_issuer(role.parsed.issuer)]
    for agent in chain_agents:
        credential = agents.get(agent)
        if credential is None or not trust.is_trusted_issuer(credential.parsed.issuer):
            raise _fail(
                "delegator_not_allowed",
                f"agent {_short(agent)} has no AgentCapabilityCredential from a trusted issuer, so no delegators",
            )
        org_roles = {
            r
            for role in trusted_roles
            if role.parsed.issuer == credential.parsed.issuer
            for r in role.parsed.roles
        }
        if not _delegator_allowed(credential.parsed.delegators, user, org_roles):
            raise _fail("delegator_not_allowed", f"{_short(user)} may not delegate to agent {_short(agent)}")

    agent_caps = _intersection(
        [trust.vouch(agents[a].parsed.issuer, agents[a].capabilities) for a in chain_agents]
    )
    user_authority = (
        normalize(cap for role in trusted_roles for cap in trust.vouch(role.parsed.issuer, role.capabilities))
        if trusted_roles
        else None
    )
    effective = frozenset[str]()
    if target is not None:
        effective = scopes_on(target, _intersection([link.capabilities for link in ordered]))
    return ChainResult(
        subject=user,
        user=user,
        agents=tuple(chain_agents),
        links=tuple(
            ChainLink(
                credential_id=link.id,
                issuer=link.parsed.delegator,
                subject=link.parsed.delegatee,
                capabilities=link.capabilities,
                max_depth=link.parsed.max_depth,
                valid_from=link.parsed.credential.valid_from,
                valid_until=link.valid_until,
                digest=link.digest,
                format=link.item.format,
            )
            for link in ordered
        ),
        agent_kind=leaf_credential.parsed.agent_kind,
        agent_credential_ids=tuple(agents[a].parsed.credential.id or "" for a in chain_agents),
        agent_capabilities=agent_caps,
        user_authority=user_authority,
        user_roles=frozenset(r for role in trusted_roles for r in role.parsed.roles),
        resource=target,
        effective_scopes=effective,
        valid_until=_earliest([u.valid_until for u in used]),
    )


async def _verify_one(
    index: int, entry: Any, ctx: _Context, allowed_formats: Collection[str] | None
) -> _Verified:
    """Rule 1 for one credential: proof, issuer binding and data model, by the credential verifier."""
    try:
        result = await ctx.verify(entry, resolver=ctx.resolver, clock=ctx.clock)
    except DIDAgentsError as exc:
        raise _fail("chain_signature", f"credential #{index}: {exc.reason}: {exc.description}") from exc
    document = result.document
    if document is None:
        detail = "; ".join(f"{p.code}: {p.message}" for p in result.problems) or "not verified"
        raise _fail("chain_signature", f"credential #{index} does not verify: {_short(detail, 300)}")
    now = ctx.clock.now()
    window: list[str] = []
    blocking: list[VerificationProblem] = []
    for problem in result.problems:
        if problem.code in _VALIDITY_PROBLEMS and _window_explains(problem.code, document, now):
            window.append(problem.code)
        else:
            blocking.append(problem)
    if blocking or (not result.verified and not window):
        detail = "; ".join(f"{p.code}: {p.message}" for p in blocking) or "not verified"
        raise _fail("chain_signature", f"credential #{index} does not verify: {_short(detail, 300)}")
    label = _format_label(result.format, document)
    if allowed_formats is not None and label not in allowed_formats:
        raise _fail("chain_signature", f"credential #{index}: format {label!r} is not allowed here")
    return _Verified(index, document, label, _types_of(document), tuple(window))


_Parsed = tuple[str, Any, CapabilitySet, str]  # (kind, parsed claims, capabilities, digestSRI or "")


def _parse(item: _Verified) -> _Parsed:
    """The credential vocabulary's parsing of one verified credential, by type (a function of
    the document)."""
    if DELEGATION_CREDENTIAL in item.types:
        delegation = parse_delegation_credential(item.document)
        caps = _claimed_capabilities(item.document, item.index)
        return "link", delegation, caps, credential_digest_sri(item.document)
    if AGENT_CAPABILITY_CREDENTIAL in item.types:
        return (
            "agent",
            parse_capability_credential(item.document),
            _claimed_capabilities(item.document, item.index),
            "",
        )
    if ROLE_CREDENTIAL in item.types:
        caps = _claimed_capabilities(item.document, item.index, optional=True)
        return "role", parse_role_credential(item.document), caps, ""
    raise _fail(
        "chain_link",
        f"credential #{item.index} (type {_short(item.types)}) is not part of a delegation chain",
    )


class ParsedClaims:
    """A bounded memo of what :func:`verify_chain` parses out of verified credentials.

    Keyed by the identity of the verified document, for callers whose credential
    verifier returns the *same* result object for a repeated credential (the
    verifier's ``VerifiedCredentialCache``): parsing is a function of the
    document, so it is done once. The memo holds each document it keys on, so an
    id is never reused while its entry lives; documents must not be mutated.
    Only successful parses are kept. Every rule is still applied per call.
    """

    def __init__(self, max_entries: int = 1024) -> None:
        self._max = max_entries
        self._entries: OrderedDict[int, tuple[Mapping[str, Any], _Parsed]] = OrderedDict()
        self._lock = threading.Lock()

    def parse(self, item: _Verified) -> _Parsed:
        key = id(item.document)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] is item.document:
                self._entries.move_to_end(key)
                return entry[1]
        parsed = _parse(item)
        with self._lock:
            self._entries[key] = (item.document, parsed)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
        return parsed


def _classify(
    verified: Sequence[_Verified], memo: ParsedClaims | None = None
) -> tuple[list[_Link], dict[str, _Agent], list[_Role]]:
    """Parse each verified credential's claims by type (the credential vocabulary's parsers)."""
    links: list[_Link] = []
    agents: dict[str, _Agent] = {}
    roles: list[_Role] = []
    for item in verified:
        try:
            kind, parsed, caps, digest = memo.parse(item) if memo is not None else _parse(item)
            if kind == "link":
                links.append(_Link(item, parsed, caps, digest))
            elif kind == "agent":
                if parsed.agent in agents:
                    raise _fail("chain_link", f"two AgentCapabilityCredentials for {_short(parsed.agent)}")
                agents[parsed.agent] = _Agent(item, parsed, caps)
            else:
                roles.append(_Role(item, parsed, caps))
        except MalformedError as exc:
            raise _fail("malformed_credential", f"credential #{item.index}: {exc.description}") from exc
    return links, agents, roles


def _order_links(
    links: Sequence[_Link], agents: Mapping[str, _Agent], expected_user: str | None
) -> list[_Link]:
    """Rule 2: one root issued by a user, then each link issued by its parent's subject, naming
    its parent by id and digest. Parent references that loop are rule 3's cycles (SEC-41),
    detected here because the walk needs them gone."""
    by_id: dict[str, _Link] = {}
    for link in links:
        if link.parsed.credential.id is None:
            raise _fail("chain_link", f"credential #{link.item.index}: a delegation link needs an id")
        if link.id in by_id:
            raise _fail("chain_link", f"credential id {_short(link.id)} appears twice")
        by_id[link.id] = link
    for link in links:
        visited = {link.id}
        current = link
        while current.parsed.parent is not None and current.parsed.parent.id in by_id:
            current = by_id[current.parsed.parent.id]
            if current.id in visited:
                raise _fail("chain_cycle", f"parentCredential references loop through {_short(current.id)}")
            visited.add(current.id)

    roots = [link for link in links if link.parsed.parent is None]
    if not roots:
        raise _fail("chain_root", "no root delegation: every link names a parent")
    if len(roots) > 1:
        raise _fail("chain_link", f"{len(roots)} root delegations in one presentation")
    root = roots[0]
    user = root.parsed.delegator
    if user in agents:
        # SEC-40: a self-rooted chain (an agent posing as the user).
        raise _fail("chain_root", f"the root delegation is issued by an agent ({_short(user)}), not a user")
    if expected_user is not None and user != expected_user:
        raise _fail("chain_root", "the root delegation is not issued by the user bound to this request")

    children: dict[str, list[_Link]] = {}
    for link in links:
        if link.parsed.parent is not None:
            children.setdefault(link.parsed.parent.id, []).append(link)
    ordered = [root]
    while kids := children.get(ordered[-1].id):
        current = ordered[-1]
        if len(kids) > 1:
            raise _fail("chain_link", f"{len(kids)} delegations name {_short(current.id)} as parent")
        child = kids[0]
        # UCAN delegation §Principal Alignment: the issuer of a link is the subject of its parent.
        if child.parsed.delegator != current.parsed.delegatee:
            raise _fail(
                "chain_link",
                f"delegation {_short(child.id)} is issued by {_short(child.parsed.delegator)},"
                f" but its parent delegates to {_short(current.parsed.delegatee)}",
            )
        assert child.parsed.parent is not None
        # VCDM 2.0 §5.3 Integrity of Related Resources: the digest pins the exact parent.
        if child.parsed.parent.digest_sri != current.digest:
            raise _fail(
                "chain_link",
                f"delegation {_short(child.id)}: parentCredential digestSRI does not match its parent",
            )
        ordered.append(child)
    if len(ordered) != len(links):
        placed = {link.id for link in ordered}
        orphan = next(link for link in links if link.id not in placed)
        parent_id = orphan.parsed.parent.id if orphan.parsed.parent is not None else "?"
        raise _fail(
            "chain_link",
            f"delegation {_short(orphan.id)} names parent {_short(parent_id)}, which is not in the chain",
        )
    return ordered


def _check_current(used: Sequence[_Used], ctx: _Context) -> None:
    """Rule 4, "all are current": ``validFrom - skew <= now < validUntil`` (VCDM 2.0 §4.9)."""
    now = ctx.clock.now()
    for credential in used:
        index = credential.item.index
        if credential.valid_from is not None and now < credential.valid_from - ctx.skew:
            raise _fail("chain_validity", f"credential #{index} is not valid yet")
        if credential.valid_until is not None and now >= credential.valid_until:
            raise _fail("chain_validity", f"credential #{index} has expired")
        if credential.item.window_problems:
            # The credential verifier judged the window with its own skew: fail closed.
            raise _fail(
                "chain_validity", f"credential #{index}: {', '.join(credential.item.window_problems)}"
            )


def _status_entries(credential: _Used) -> list[tuple[Mapping[str, Any], str]]:
    value = credential.item.document.get("credentialStatus")
    if value is None:
        return []
    entries = value if isinstance(value, list) else [value]
    result: list[tuple[Mapping[str, Any], str]] = []
    for entry in entries:
        # BSL §2.1: a BitstringStatusListEntry names its list by URL. Anything else cannot be
        # checked, and a status we cannot check is not one we may ignore.
        url = entry.get("statusListCredential") if isinstance(entry, Mapping) else None
        if (
            not isinstance(entry, Mapping)
            or "BitstringStatusListEntry" not in _types_of(entry)
            or not isinstance(url, str)
        ):
            raise _fail(
                "status_unavailable", f"credential #{credential.item.index}: unsupported credentialStatus"
            )
        result.append((entry, url))
    return result


async def _load_status_list(url: str, ctx: _Context) -> tuple[Mapping[str, Any], str]:
    assert ctx.fetch is not None
    fetched = await ctx.fetch(url)
    result = await ctx.verify(fetched, resolver=ctx.resolver, clock=ctx.clock)
    document = result.document
    if not result.verified or document is None:
        codes = ", ".join(p.code for p in result.problems) or "not verified"
        raise _fail("status_unavailable", f"status list {_short(url)} does not verify ({codes})")
    issuer = document.get("issuer")
    issuer = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    if not isinstance(issuer, str):
        raise _fail("status_unavailable", f"status list {_short(url)} has no issuer")
    return document, issuer


async def _check_status(used: Sequence[_Used], ctx: _Context) -> None:
    """Rule 5 (BSL §3.2 validate algorithm) for every status entry of every credential.

    Lists are fetched once per URL, concurrently, and judged in chain order. The
    list must be issued by the credential's issuer or by a trusted issuer (a
    user's delegations are listed by the issuer service; BSL §3.2 leaves whose
    lists count to the use case). Any failure is ``status_unavailable`` (SEC-46).
    """
    jobs = [(credential, entry, url) for credential in used for entry, url in _status_entries(credential)]
    if not jobs:
        return
    if ctx.fetch is None:
        raise _fail(
            "status_unavailable", "credentials carry a credentialStatus but no status resolver is configured"
        )
    urls = list(dict.fromkeys(url for _, _, url in jobs))
    outcomes = await asyncio.gather(*(_load_status_list(url, ctx) for url in urls), return_exceptions=True)
    lists = dict(zip(urls, outcomes, strict=True))
    for credential, entry, url in jobs:
        outcome = lists[url]
        if isinstance(outcome, BaseException):
            if not isinstance(outcome, Exception):
                raise outcome
            if isinstance(outcome, VerificationError) and outcome.reason == "status_unavailable":
                raise outcome
            detail = outcome.description if isinstance(outcome, DIDAgentsError) else type(outcome).__name__
            raise _fail(
                "status_unavailable", f"status list {_short(url)} cannot be obtained: {_short(detail)}"
            ) from outcome
        list_document, list_issuer = outcome
        if list_issuer != credential.issuer and not ctx.trust.is_trusted_issuer(list_issuer):
            raise _fail(
                "status_unavailable",
                f"status list {_short(url)} is issued by {_short(list_issuer)}, neither the credential's issuer nor trusted",
            )
        try:
            status = check_status(
                entry, list_document, clock=ctx.clock, list_verified=True, expected_issuer=list_issuer
            )
        except DIDAgentsError as exc:
            raise _fail(
                "status_unavailable", f"credential #{credential.item.index}: {exc.description}"
            ) from exc
        ident = _short(credential.item.document.get("id", f"credential #{credential.item.index}"))
        if status.set and status.purpose == "revocation":
            raise _fail("revoked", f"{ident} is revoked")
        if status.set and status.purpose == "suspension":
            raise _fail("suspended", f"{ident} is suspended")


def _check_binding(leaf: str, holder: str, actor: str | None) -> None:
    # SEC-17 / SEC-33: the acting agent is the leaf subject, the presentation holder and the actor.
    if holder != leaf:
        raise _fail("agent_credential", "the presentation holder is not the acting agent (the chain's leaf)")
    if actor is not None and actor != leaf:
        raise _fail("agent_credential", "the actor token is not from the acting agent (the chain's leaf)")


def _delegator_allowed(delegators: Sequence[str], user: str, roles: Collection[str]) -> bool:
    # DESIGN §4: user DIDs, role names matched against the user's RoleCredential, or "*".
    for entry in delegators:
        if entry == "*" or entry == user:
            return True
        if not entry.startswith("did:") and entry in roles:
            return True
    return False


async def _autonomous(
    agents: Mapping[str, _Agent],
    roles: Sequence[_Role],
    *,
    holder: str,
    actor: str | None,
    target: str | None,
    ctx: _Context,
) -> ChainResult:
    """An agent acting for itself, with only its own AgentCapabilityCredential (DESIGN §6)."""
    # Rule 2: without a delegation, only an autonomous agent may act, and only for itself.
    if roles:
        raise _fail("chain_link", "a RoleCredential without a delegation chain")
    own = agents.get(holder)
    if own is None:
        raise _fail("agent_credential", "the presentation holds no AgentCapabilityCredential for its holder")
    if len(agents) > 1:
        raise _fail("chain_link", "AgentCapabilityCredentials for agents other than the holder")
    if own.parsed.agent_kind != "autonomous":
        raise _fail(
            "chain_root", "no DelegationCredential: a delegated agent acts only for a user who delegated"
        )
    # Rules 4-6.
    _check_current([own.used()], ctx)
    await _check_status([own.used()], ctx)
    if not ctx.trust.is_trusted_issuer(own.parsed.issuer):
        raise _fail("agent_credential", "the agent's AgentCapabilityCredential is not from a trusted issuer")
    _check_binding(own.parsed.agent, holder, actor)
    vouched = ctx.trust.vouch(own.parsed.issuer, own.capabilities)
    return ChainResult(
        subject=own.parsed.agent,
        user=None,
        agents=(own.parsed.agent,),
        links=(),
        agent_kind=own.parsed.agent_kind,
        agent_credential_ids=(own.parsed.credential.id or "",),
        agent_capabilities=vouched,
        user_authority=None,
        user_roles=frozenset(),
        resource=target,
        effective_scopes=scopes_on(target, vouched) if target is not None else frozenset(),
        valid_until=own.parsed.credential.valid_until,
    )
