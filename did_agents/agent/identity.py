"""The agent side of did-agents: an agent's key, DID and credentials, and what it does with them.

:class:`AgentIdentity` holds the agent's key (``did:key``), its
AgentCapabilityCredential (from onboarding, with proof of possession,
DESIGN §3), and the delegation chains users and other agents handed it
(:class:`Grant`). It builds presentations for a verifier's challenge,
exchanges them for access tokens per MCP server (cached, ``TokenCache``),
and sub-delegates to other agents (DESIGN §4: ``parentCredential`` = id and
digest of the delegation it narrows).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final

import httpx

from did_agents import jws, multibase, strict_json
from did_agents.agent.tokens import (
    JWT_TOKEN_TYPE,
    VP_TOKEN_TYPE,
    AccessGrant,
    TokenCache,
    TokenEndpointClient,
    refusal_from_body,
)
from did_agents.clock import Clock, SystemClock
from did_agents.credentials.verify import IssueSuite, build_presentation, issue_credential, sign_presentation
from did_agents.credentials.vocabulary import build_delegation_credential
from did_agents.delegation.capabilities import capabilities_to_json, parse_capabilities
from did_agents.delegation.narrowing import check_narrowing
from did_agents.did import key as did_key
from did_agents.errors import ConfigurationError, KeyStoreError, MalformedError, VerificationError
from did_agents.exchange.actor_token import sign_actor_token
from did_agents.keys import PrivateKey, generate
from did_agents.keystore import KeyStore

__all__ = ["KEY_PURPOSE", "POP_TYP", "AgentIdentity", "Credential", "Grant", "credential_document"]

#: Key store purpose of agent keys.
KEY_PURPOSE: Final = "agent"
#: did_agents.issuance.possession.POP_TYP (the issuer's proof-of-possession JWS type).
POP_TYP: Final = "did-agents-pop+jwt"
_DELEGATION: Final = "DelegationCredential"

Credential = Mapping[str, Any] | str
"""A secured credential: a JSON-LD document with its proof (or an enveloped one), or a ``vc+jwt``."""


def credential_document(credential: Credential) -> dict[str, Any]:
    """The claims of a secured credential: the document itself, or the payload of a ``vc+jwt``
    (also inside an ``EnvelopedVerifiableCredential``). Not a verification."""
    if isinstance(credential, Mapping):
        if credential.get("type") == "EnvelopedVerifiableCredential" and isinstance(
            credential.get("id"), str
        ):
            return credential_document(credential["id"].split(",", 1)[-1])
        return dict(credential)
    payload = strict_json.loads(multibase.b64url_decode(credential.split(".")[1]))
    if not isinstance(payload, dict):
        raise MalformedError("a vc+jwt payload must be an object")
    return payload


def _types(document: Mapping[str, Any]) -> tuple[str, ...]:
    kinds = document.get("type")
    return tuple(kinds) if isinstance(kinds, list) else (kinds,) if isinstance(kinds, str) else ()


def _subject_id(document: Mapping[str, Any]) -> str | None:
    subject = document.get("credentialSubject")
    return subject.get("id") if isinstance(subject, Mapping) else None


@dataclass(frozen=True)
class Grant:
    """Authority handed to this agent: its delegation (``leaf``) and the credentials that back it
    (earlier links, the delegating agents' capability credentials, the user's role credential)."""

    user: str
    leaf: Credential
    credentials: tuple[Credential, ...]

    @property
    def leaf_document(self) -> dict[str, Any]:
        return credential_document(self.leaf)

    def capabilities(self) -> list[dict[str, Any]]:
        caps = self.leaf_document.get("credentialSubject", {}).get("capabilities", [])
        return [dict(c) for c in caps] if isinstance(caps, list) else []

    def covers(self, resource: str) -> bool:
        for cap in self.capabilities():
            target = cap.get("resource")
            if isinstance(target, str) and (
                target == resource or (target.endswith("/") and resource.startswith(target))
            ):
                return True
        return False


@dataclass
class AgentIdentity:
    """An agent: key, DID, credentials, tokens (module docstring).

    ``suite`` secures presentations and sub-delegations (default: the key's RDFC
    suite); ``http`` is the client used for the issuer and verifier.
    """

    key: PrivateKey = field(repr=False)
    clock: Clock = field(default_factory=SystemClock)
    suite: IssueSuite | None = None
    http: httpx.AsyncClient | None = field(default=None, repr=False)
    capability_credential: Credential | None = None
    grants: list[Grant] = field(default_factory=list)
    tokens: TokenCache | None = None

    def __post_init__(self) -> None:
        if self.tokens is None:
            self.tokens = TokenCache(clock=self.clock)

    # -- identity -----------------------------------------------------------------------------

    @classmethod
    def generate(cls, **options: Any) -> AgentIdentity:
        return cls(generate(), **options)

    @classmethod
    def from_keystore(
        cls, store: KeyStore, name: str, *, create: bool = True, **options: Any
    ) -> AgentIdentity:
        """Load the key stored as ``agent:<name>``, or (``create``) generate and store it."""
        kid = f"{KEY_PURPOSE}:{name}"
        if kid in store:
            return cls(PrivateKey.from_jwk(store.get(kid)), **options)
        if not create:
            raise KeyStoreError(f"no agent key {kid!r} in the key store", reason="unknown_kid")
        key = generate()
        store.put(kid, key.to_jwk(), purpose=KEY_PURPOSE, metadata={"did": did_key.create(key.public_key)})
        return cls(key, **options)

    @property
    def did(self) -> str:
        return did_key.create(self.key.public_key)

    @property
    def verification_method(self) -> str:
        return did_key.verification_method_id(self.did)

    def _client(self) -> httpx.AsyncClient:
        if self.http is None:
            self.http = httpx.AsyncClient(timeout=10.0)
        return self.http

    async def aclose(self) -> None:
        if self.http is not None:
            await self.http.aclose()
            self.http = None

    # -- onboarding (DESIGN §3: proof of possession) --------------------------------------------

    def proof_of_possession(
        self, challenge: str, audience: str, lifetime: timedelta = timedelta(minutes=5)
    ) -> str:
        """The onboarding proof: a JWS by this agent's key over the issuer's challenge."""
        now = int(self.clock.now().timestamp())
        claims = {
            "iss": self.did,
            "aud": audience,
            "nonce": challenge,
            "iat": now,
            "exp": now + int(lifetime.total_seconds()),
        }
        return jws.sign_compact(claims, self.key, typ=POP_TYP, kid=self.verification_method)

    async def onboard(
        self,
        issuer_url: str,
        operator_token: str,
        *,
        name: str,
        owner: str,
        kind: str = "delegated",
        capabilities: Sequence[Mapping[str, Any]],
        delegators: Sequence[str] = (),
        description: str = "",
        format: str | None = None,
    ) -> dict[str, Any]:
        """Register this agent's ``did:key`` with the organization's issuer (``POST /agents``,
        mode ``did_key``) and keep the AgentCapabilityCredential it issues. Returns the agent record."""
        http = self._client()
        auth = {"Authorization": f"Bearer {operator_token}"}
        answer = await http.post(f"{issuer_url}/agents/challenges", json={"did": self.did}, headers=auth)
        if answer.status_code != 201:
            raise refusal_from_body(answer.status_code, answer.content)
        challenge = answer.json()
        body: dict[str, Any] = {
            "mode": "did_key",
            "did": self.did,
            "proof": self.proof_of_possession(challenge["challenge"], challenge["audience"]),
            "name": name,
            "owner": owner,
            "kind": kind,
            "description": description,
            "capabilities": [dict(c) for c in capabilities],
            "delegators": list(delegators),
        }
        if format is not None:
            body["format"] = format
        registered = await http.post(f"{issuer_url}/agents", json=body, headers=auth)
        if registered.status_code != 201:
            raise refusal_from_body(registered.status_code, registered.content)
        record: dict[str, Any] = registered.json()
        self.capability_credential = record["credential"]
        return record

    # -- credentials ---------------------------------------------------------------------------

    def accept(self, credentials: Sequence[Credential]) -> Grant:
        """Hold a delegation chain handed to this agent (by a user, or by an agent sub-delegating).

        The delegation whose subject is this agent is the leaf; the root
        (the delegation without ``parentCredential``) names the user.
        Verification happens at the verifier, not here.
        """
        documents = [(c, credential_document(c)) for c in credentials]
        delegations = [(c, d) for c, d in documents if _DELEGATION in _types(d)]
        leaves = [(c, d) for c, d in delegations if _subject_id(d) == self.did]
        roots = [d for _, d in delegations if "parentCredential" not in (d.get("credentialSubject") or {})]
        if len(leaves) != 1 or len(roots) != 1:
            raise MalformedError("a grant needs exactly one delegation to this agent and one root delegation")
        issuer = roots[0].get("issuer")
        user = issuer.get("id") if isinstance(issuer, Mapping) else issuer
        if not isinstance(user, str):
            raise MalformedError("the root delegation has no issuer")
        grant = Grant(user=user, leaf=leaves[0][0], credentials=tuple(credentials))
        self.grants.append(grant)
        return grant

    def grant_for(self, resource: str, user: str | None = None) -> Grant | None:
        """The newest grant covering ``resource`` (for ``user`` if given)."""
        for grant in reversed(self.grants):
            if (user is None or grant.user == user) and grant.covers(resource):
                return grant
        return None

    def presentation_credentials(self, grant: Grant | None) -> list[Credential]:
        if self.capability_credential is None:
            raise ConfigurationError("this agent has no AgentCapabilityCredential: onboard it first")
        own = [self.capability_credential]
        return own + list(grant.credentials) if grant is not None else own

    def present(self, credentials: Sequence[Credential], challenge: str, domain: str) -> tuple[str, str]:
        """A presentation of ``credentials`` by this agent bound to ``challenge``/``domain``, as an
        RFC 8693 ``(subject_token, subject_token_type)``."""
        presentation = build_presentation(self.did, list(credentials))
        secured = sign_presentation(
            presentation,
            key=self.key,
            verification_method=self.verification_method,
            challenge=challenge,
            domain=domain,
            suite=self.suite,
            clock=self.clock,
        )
        if isinstance(secured, str):
            return secured, JWT_TOKEN_TYPE
        return json.dumps(secured, separators=(",", ":"), ensure_ascii=False), VP_TOKEN_TYPE

    def presentation_bearer(self, resource: str, *, user: str | None = None, autonomous: bool = False) -> str:
        """A ``vp+jwt`` bound to ``resource`` (``aud``), for MCP servers in decentralized mode
        (``verifier.mcp.decentralized``): no verifier, no token exchange. It lives 5 minutes."""
        grant = None if autonomous else self.grant_for(resource, user)
        if grant is None and not autonomous:
            raise VerificationError(f"no delegation covers {resource}", reason="no_grant")
        presentation = build_presentation(self.did, list(self.presentation_credentials(grant)))
        secured = sign_presentation(
            presentation,
            key=self.key,
            verification_method=self.verification_method,
            challenge=secrets.token_urlsafe(16),
            domain=resource,
            suite="jose",
            clock=self.clock,
        )
        assert isinstance(secured, str)
        return secured

    # -- tokens --------------------------------------------------------------------------------

    async def access_token(
        self,
        verifier_url: str,
        resource: str,
        scope: str,
        *,
        user: str | None = None,
        autonomous: bool = False,
        refused: str | None = None,
    ) -> AccessGrant:
        """An access token for ``resource`` with ``scope``: cached, or exchanged now.

        Acting for a user, the agent presents its grant for ``resource`` (for
        ``user`` if given); ``autonomous=True`` presents only its own capability
        credential (the token's ``sub`` is the agent). ``refused`` is a token the
        resource server answered 401 to: it is replaced.
        """
        grant = None if autonomous else self.grant_for(resource, user)
        if grant is None and not autonomous:
            raise VerificationError(f"no delegation covers {resource}", reason="no_grant")
        endpoint = TokenEndpointClient(verifier_url, self._client())

        async def present(challenge: str, domain: str) -> tuple[str, str]:
            return self.present(self.presentation_credentials(grant), challenge, domain)

        def actor(audience: str) -> str:
            return sign_actor_token(
                self.key,
                agent=self.did,
                verification_method=self.verification_method,
                audience=audience,
                clock=self.clock,
            )

        async def fetch() -> AccessGrant:
            return await endpoint.exchange(
                present=present, actor_token=actor, resource=resource, scope=scope, clock=self.clock
            )

        assert self.tokens is not None
        key_scope = f"{scope}|{grant.user if grant else self.did}|{verifier_url}"
        return await self.tokens.get(resource, key_scope, fetch, refused=refused)

    # -- sub-delegation (multi-agent systems) ------------------------------------------------

    def delegate(
        self,
        agent: str,
        scopes: Sequence[str],
        *,
        resource: str,
        user: str | None = None,
        max_depth: int = 0,
        valid_for: timedelta = timedelta(hours=1),
    ) -> list[Credential]:
        """Sub-delegate ``scopes`` on ``resource`` to ``agent`` (narrowing this agent's grant).

        Returns what to hand to the other agent (``AgentIdentity.accept``): this
        agent's chain, its capability credential and the new link. The new link
        names its parent by id and digest and never outlives it (DESIGN §5 rules 2-4).

        Checked before signing (``did_agents.delegation.narrowing.check_narrowing``):
        a link ``verify_chain`` would refuse (escalation, depth, a parent not to this
        agent, an expired parent, a cycle) raises ``VerificationError`` with that
        rule's reason, and nothing is signed.
        """
        grant = self.grant_for(resource, user)
        if grant is None:
            raise VerificationError(f"no delegation covers {resource}", reason="no_grant")
        if self.capability_credential is None:
            raise ConfigurationError("this agent has no AgentCapabilityCredential: onboard it first")
        capabilities = parse_capabilities([{"resource": resource, "scopes": list(scopes)}])
        now = self.clock.now().replace(microsecond=0)
        checked = check_narrowing(
            grant.leaf_document,
            issuer=self.did,
            agent=agent,
            capabilities=capabilities,
            max_depth=max_depth,
            now=now,
            valid_until=now + valid_for,
        )
        unsigned = build_delegation_credential(
            issuer=self.did,
            agent=agent,
            capabilities=capabilities_to_json(capabilities),
            valid_from=now,
            valid_until=checked.valid_until,
            max_depth=max_depth,
            parent=checked.parent,
        )
        secured = issue_credential(
            unsigned,
            key=self.key,
            verification_method=self.verification_method,
            suite=self.suite or ("eddsa-rdfc-2022" if self.key.alg == "EdDSA" else "ecdsa-rdfc-2019"),
            clock=self.clock,
        )
        return [*grant.credentials, self.capability_credential, secured]
