"""Agent onboarding and lifecycle (issue 3; DESIGN §3, §4, §6 issuer endpoints).

Three ways to get an identity (:func:`onboard_agent`):

``generate``
    the issuer makes the key pair and the ``did:key`` and returns the private
    JWK exactly once; it is never stored or logged;
``did_key``
    the agent brings its own ``did:key`` and proves possession by signing the
    issuer's challenge with that key (:mod:`did_agents.issuance.possession`);
``did_web``
    the agent submits a public key (and a proof of possession with it) and gets
    ``did:web:<host>:agents:<id>``, whose DID document the issuer serves at
    ``/agents/<id>/did.json`` (did:web §3.2: ``:`` in the path becomes ``/``).
    The id is random, never taken from the request (SECURITY SEC-51). Its key
    is rotated with a request signed by the current key.

Lifecycle: every change of metadata or capabilities issues a new
AgentCapabilityCredential and revokes the previous one; suspend/resume flip the
suspension bit of the current credential; offboarding revokes every credential
of the agent and marks its hosted DID document deactivated. Repeating a
suspend, resume or offboard is a no-op that answers the current state.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final, Literal

from sqlalchemy import Connection

from did_agents.credentials.capability import Capability, parse_capabilities
from did_agents.credentials.model import is_url
from did_agents.did import key as did_key
from did_agents.did.document import parse_did
from did_agents.errors import ConflictError, MalformedError, NotFoundError
from did_agents.issuance.context import Actor, Audited, Issuer
from did_agents.issuance.credentials import (
    AGENT_CAPABILITY_CREDENTIAL,
    agent_capability_credential,
    new_credential_id,
)
from did_agents.issuance.possession import issue_challenge, verify_possession
from did_agents.issuance.securing import (
    SecuredCredential,
    choose_format,
    secure_credential,
    stored_document,
)
from did_agents.issuance.status import allocate_status, revoke_credential, set_credential_status
from did_agents.keys import KeyType, PublicKey, generate
from did_agents.storage.agents import Agent, AgentRepository, AgentStatus
from did_agents.storage.challenges import Challenge
from did_agents.storage.credentials import CredentialRepository, IssuedCredential, latest_unrevoked
from did_agents.storage.status_lists import StatusListRepository

__all__ = [
    "AgentChanges",
    "AgentView",
    "OnboardingRequest",
    "OnboardingResult",
    "agent_challenge",
    "get_agent",
    "hosted_did_document",
    "issue_capability_credential",
    "list_agents",
    "offboard_agent",
    "onboard_agent",
    "onboard_agent_async",
    "resume_agent",
    "rotate_hosted_key",
    "suspend_agent",
    "update_agent",
]

OnboardingMode = Literal["generate", "did_key", "did_web"]
AgentKind = Literal["delegated", "autonomous"]

MAX_NAME: Final = 200
MAX_DESCRIPTION: Final = 2000
MAX_LABELS: Final = 32
MAX_LABEL_LENGTH: Final = 200
MAX_DELEGATORS: Final = 64
MAX_PAGE: Final = 500
_AGENT_ID_CHARS: Final = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class OnboardingRequest:
    """What an operator submits to register an agent (validated by :func:`onboard_agent`)."""

    mode: OnboardingMode
    name: str
    owner: str
    kind: AgentKind
    capabilities: Sequence[Mapping[str, Any]]
    description: str = ""
    model: str | None = None
    version: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    delegators: Sequence[str] = ()
    format: str | None = None
    key_type: str = "Ed25519"
    did: str | None = None
    public_key_jwk: Mapping[str, Any] | None = None
    public_key_multibase: str | None = None
    proof: str | None = None


@dataclass(frozen=True)
class AgentView:
    agent: Agent
    credential: IssuedCredential | None

    @property
    def credential_document(self) -> Any:
        if self.credential is None:
            return None
        return stored_document(self.credential.format, self.credential.body)


@dataclass(frozen=True)
class OnboardingResult:
    agent: Agent
    credential: SecuredCredential
    credential_id: str
    #: Only for ``generate``: returned once, never stored.
    private_key_jwk: dict[str, Any] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class AgentChanges:
    """A PATCH: ``None`` leaves a field unchanged."""

    name: str | None = None
    description: str | None = None
    owner: str | None = None
    kind: AgentKind | None = None
    model: str | None = None
    version: str | None = None
    labels: Mapping[str, str] | None = None
    capabilities: Sequence[Mapping[str, Any]] | None = None
    delegators: Sequence[str] | None = None
    format: str | None = None


# -- validation ----------------------------------------------------------------------------------


def _bad(message: str, reason: str = "invalid_request") -> MalformedError:
    return MalformedError(message, reason=reason)


def _text(value: object, what: str, limit: int, *, required: bool = False) -> str | None:
    if value is None or value == "":
        if required:
            raise _bad(f"{what} is required", "missing_property")
        return None if value is None else ""
    if not isinstance(value, str) or len(value) > limit or not value.isprintable():
        raise _bad(f"{what} must be printable text of at most {limit} characters")
    return value


def _owner(value: object) -> str:
    # DESIGN §4: a DID or an account (a URL such as mailto:team@example.com); JSON-LD @id.
    if not isinstance(value, str) or len(value) > 2048 or not is_url(value):
        raise _bad("owner must be a DID or a URL (e.g. mailto:team@example.com)", "invalid_owner")
    if value.startswith("did:"):
        parse_did(value)
    return value


def _kind(value: object) -> AgentKind:
    if value == "delegated":
        return "delegated"
    if value == "autonomous":
        return "autonomous"
    raise _bad("kind must be 'delegated' or 'autonomous'", "invalid_kind")


def _labels(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping) or len(value) > MAX_LABELS:
        raise _bad(f"labels must be an object of at most {MAX_LABELS} string values")
    out = {}
    for k, v in value.items():
        _text(k, "label name", 64, required=True)
        _text(v, "label value", MAX_LABEL_LENGTH)
        out[str(k)] = str(v)
    return out


def _delegators(value: Sequence[str]) -> list[str]:
    if isinstance(value, str) or len(value) > MAX_DELEGATORS:
        raise _bad(f"delegators must be a list of at most {MAX_DELEGATORS} entries")
    out: list[str] = []
    for entry in value:
        if not isinstance(entry, str) or not entry:
            raise _bad("each delegator is a user DID, a role name or '*'", "invalid_delegator")
        if entry.startswith("did:"):
            parse_did(entry)
        elif entry != "*" and (len(entry) > 64 or not entry.replace("-", "").replace("_", "").isalnum()):
            raise _bad(f"delegator {entry[:64]!r} is not a DID, a role name or '*'", "invalid_delegator")
        if entry not in out:
            out.append(entry)
    return out


def _capabilities(value: object) -> tuple[Capability, ...]:
    return parse_capabilities(
        list(value) if isinstance(value, Sequence) and not isinstance(value, str) else value
    )


# Parsed stored capabilities, keyed by their exact content (see _stored_capabilities).
_PARSED_CAPABILITIES: dict[tuple[tuple[str, tuple[str, ...]], ...], tuple[Capability, ...]] = {}
_MAX_PARSED_CAPABILITIES: Final = 1024
_CAPABILITY_MEMBERS: Final = frozenset(("resource", "scopes"))


def _stored_capabilities(value: Sequence[Mapping[str, Any]]) -> tuple[Capability, ...]:
    """An agent record's capabilities, parsed once per distinct content.

    Only the plain form the store yields is cached: each item exactly a ``dict``
    with exactly ``resource`` (a ``str``) and ``scopes`` (a ``list`` of ``str``),
    so the key determines the parse result; anything else is parsed every time.
    """
    key = []
    for item in value:
        if type(item) is not dict or item.keys() != _CAPABILITY_MEMBERS:
            return _capabilities(value)
        resource, scopes = item["resource"], item["scopes"]
        if type(resource) is not str or type(scopes) is not list:
            return _capabilities(value)
        if not all(type(scope) is str for scope in scopes):
            return _capabilities(value)
        key.append((resource, tuple(scopes)))
    frozen = tuple(key)
    parsed = _PARSED_CAPABILITIES.get(frozen)
    if parsed is None:
        parsed = _capabilities(value)  # raises for an invalid set; nothing is cached then
        if len(_PARSED_CAPABILITIES) >= _MAX_PARSED_CAPABILITIES:
            _PARSED_CAPABILITIES.clear()
        _PARSED_CAPABILITIES[frozen] = parsed
    return parsed


def _agent_id(value: str) -> str:
    if len(value) != 32 or not set(value) <= _AGENT_ID_CHARS:
        raise NotFoundError("no such agent", reason="agent_not_found")
    return value


def _public_key(request: OnboardingRequest) -> PublicKey:
    if (request.public_key_jwk is None) == (request.public_key_multibase is None):
        raise _bad("give exactly one of publicKeyJwk and publicKeyMultibase", "invalid_public_key")
    if request.public_key_jwk is not None:
        if "d" in request.public_key_jwk:
            raise _bad("send the public key only, never the private key", "invalid_public_key")
        return PublicKey.from_jwk(dict(request.public_key_jwk))
    return PublicKey.from_multikey(str(request.public_key_multibase))


def _hosted_did(issuer: Issuer, agent_id: str) -> str:
    # did:web §3.1: path segments after the host are ':'-separated.
    return f"{issuer.organization.did}:agents:{agent_id}"


# -- the current credential -------------------------------------------------------------------------


def _current_credential(conn: Connection, agent_id: str) -> IssuedCredential | None:
    return latest_unrevoked(
        CredentialRepository(conn).by_agent(agent_id, limit=1000), AGENT_CAPABILITY_CREDENTIAL
    )


def issue_capability_credential(
    conn: Connection,
    issuer: Issuer,
    agent: Agent,
    securing: str,
    *,
    capabilities: Sequence[Capability] | None = None,
) -> tuple[str, SecuredCredential]:
    """Issue ``agent`` a new AgentCapabilityCredential in ``conn``'s transaction.

    The core of issuance: allocate its status entries, build the credential
    from the agent record, sign it in the ``securing`` format and store it.
    ``capabilities`` are the agent's requested capabilities when the caller
    has already parsed them. Returns the credential id and the secured
    credential. The caller commits (and writes the audit event in the same
    transaction).
    """
    credential_id = new_credential_id()
    status = allocate_status(conn, issuer, credential_id)
    now = issuer.clock.now()
    valid_until = now + issuer.config.credential_validity
    unsigned = agent_capability_credential(
        credential_id=credential_id,
        issuer=issuer.organization.did,
        agent_did=agent.did,
        name=agent.name,
        owner=agent.owner,
        kind=agent.kind,
        capabilities=(
            capabilities if capabilities is not None else _stored_capabilities(agent.requested_capabilities)
        ),
        delegators=agent.delegators,
        valid_from=now,
        valid_until=valid_until,
        status=status,
        description=agent.description or None,
        model=agent.model,
        version=agent.version,
    )
    secured = secure_credential(unsigned, issuer.organization, securing, clock=issuer.clock)
    CredentialRepository(conn).add(
        IssuedCredential(
            id=credential_id,
            type=AGENT_CAPABILITY_CREDENTIAL,
            issuer_did=issuer.organization.did,
            subject_did=agent.did,
            format=secured.format,
            body=secured.body,
            issued_at=now,
            agent_id=agent.id,
            valid_from=now,
            valid_until=valid_until,
        )
    )
    return credential_id, secured


# -- onboarding -------------------------------------------------------------------------------------


def agent_challenge(issuer: Issuer, actor: Actor, *, did: str | None = None) -> Challenge:
    """A single-use challenge the agent signs to prove possession of its key."""
    if did is not None:
        parse_did(did)
    return issuer.database.run(
        lambda conn: issue_challenge(
            conn,
            domain=issuer.organization.did,
            ttl_seconds=issuer.config.challenge_ttl.total_seconds(),
            now=issuer.clock.now(),
            did=did,
        )
    )


def onboard_agent(issuer: Issuer, request: OnboardingRequest, actor: Actor) -> OnboardingResult:
    """Register an agent and issue its first AgentCapabilityCredential (see module doc)."""
    return issuer.run_audited(_onboarding(issuer, request), actor)


async def onboard_agent_async(issuer: Issuer, request: OnboardingRequest, actor: Actor) -> OnboardingResult:
    """:func:`onboard_agent` for async callers (the HTTP route): the event loop goes on while the
    onboarding waits for the issuer's writer thread and runs there."""
    return await issuer.run_audited_async(_onboarding(issuer, request), actor)


def _onboarding(issuer: Issuer, request: OnboardingRequest) -> Audited[OnboardingResult]:
    subject = request.did if request.mode == "did_key" and isinstance(request.did, str) else None
    return Audited(
        "agent.onboarded",
        lambda conn: _onboard(conn, issuer, request),
        lambda r: {
            "subject": r.agent.did,
            "agent_id": r.agent.id,
            "credential_id": r.credential_id,
            "format": r.credential.format,
        },
        subject=subject[:2048] if subject else None,
        action=f"onboard:{request.mode}" if request.mode in ("generate", "did_key", "did_web") else "onboard",
    )


def _onboard(conn: Connection, issuer: Issuer, request: OnboardingRequest) -> OnboardingResult:
    name = _text(request.name, "name", MAX_NAME, required=True)
    description = _text(request.description, "description", MAX_DESCRIPTION) or ""
    model = _text(request.model, "model", MAX_NAME)
    version = _text(request.version, "version", 64)
    capabilities = _capabilities(request.capabilities)
    securing = choose_format(request.format, issuer.default_format)
    agent_id = uuid.uuid4().hex
    now = issuer.clock.now()
    private_jwk: dict[str, Any] | None = None
    public_jwk: dict[str, Any] | None = None
    if request.mode == "generate":
        try:
            key_type = KeyType.parse(request.key_type)
        except ValueError as exc:
            raise _bad(str(exc), "unsupported_key_type") from exc
        private = generate(key_type)
        did = did_key.create(private.public_key)
        method = "key"
        private_jwk = private.to_jwk()
    elif request.mode == "did_key":
        if not isinstance(request.did, str):
            raise _bad("did is required for mode did_key", "missing_property")
        parse_did(request.did)
        if not request.did.startswith("did:key:"):
            raise _bad("mode did_key registers a did:key DID", "invalid_did")
        public = did_key.resolve(request.did).verification_methods[0].public_key
        verify_possession(
            conn, request.proof, public, audience=issuer.organization.did, now=now, did=request.did
        )
        did = request.did
        method = "key"
    elif request.mode == "did_web":
        public = _public_key(request)
        verify_possession(conn, request.proof, public, audience=issuer.organization.did, now=now, did=None)
        did = _hosted_did(issuer, agent_id)
        method = "web"
        public_jwk = public.to_jwk()
    else:
        raise _bad("mode must be generate, did_key or did_web", "invalid_mode")
    # A DID from a key generated just now cannot be registered already (and agents.did is
    # unique in the schema); a brought did:key may be.
    if request.mode != "generate" and AgentRepository(conn).by_did(did) is not None:
        raise ConflictError("this DID is already registered", reason="agent_exists")
    agent = Agent(
        id=agent_id,
        did=did,
        did_method=method,
        kind=_kind(request.kind),
        name=str(name),
        owner=_owner(request.owner),
        created_at=now,
        updated_at=now,
        description=description,
        model=model,
        version=version,
        labels=_labels(request.labels),
        requested_capabilities=tuple(c.to_json() for c in capabilities),
        delegators=tuple(_delegators(request.delegators)),
        status="active",
        public_jwk=public_jwk,
    )
    AgentRepository(conn).add(agent)
    credential_id, secured = issue_capability_credential(
        conn, issuer, agent, securing, capabilities=capabilities
    )
    return OnboardingResult(
        agent=agent, credential=secured, credential_id=credential_id, private_key_jwk=private_jwk
    )


# -- reading --------------------------------------------------------------------------------------


def get_agent(issuer: Issuer, agent_id: str) -> AgentView:
    agent_id = _agent_id(agent_id)
    with issuer.database.read() as conn:
        agent = AgentRepository(conn).get(agent_id)
        return AgentView(agent, _current_credential(conn, agent_id))


def list_agents(
    issuer: Issuer,
    *,
    owner: str | None = None,
    status: AgentStatus | None = None,
    capability: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Agent]:
    """Agents, oldest first; ``capability`` matches a resource URL or a scope.

    ``status`` and ``owner`` filter in SQL; ``capability`` (inside the stored JSON) is
    matched in Python over the rows read in batches of 500, until ``offset + limit``
    matches are found: a rare capability costs a scan of the (owner's) agents.
    ``offset`` counts matching agents, not rows. ``limit`` may be one more than
    the largest page (500), so a caller can tell whether another page follows.
    """
    if not 1 <= limit <= MAX_PAGE + 1 or offset < 0:
        raise _bad(f"limit must be 1..{MAX_PAGE} and offset ≥ 0")
    with issuer.database.read() as conn:
        repo = AgentRepository(conn)
        found: list[Agent] = []
        skipped = 0
        page = 0
        while len(found) < limit:
            batch = repo.list_agents(status=status, owner=owner, limit=500, offset=page * 500)
            if not batch:
                break
            page += 1
            for agent in batch:
                if capability is not None and not _has_capability(agent, capability):
                    continue
                if skipped < offset:
                    skipped += 1
                    continue
                found.append(agent)
                if len(found) == limit:
                    break
        return found


def _has_capability(agent: Agent, wanted: str) -> bool:
    for cap in agent.requested_capabilities:
        if cap.get("resource") == wanted or wanted in cap.get("scopes", ()):
            return True
    return False


# -- lifecycle ----------------------------------------------------------------------------------


def _live(conn: Connection, agent_id: str) -> Agent:
    agent = AgentRepository(conn).get(_agent_id(agent_id), for_update=True)
    if agent.status == "offboarded":
        raise ConflictError("the agent is offboarded", reason="agent_offboarded")
    return agent


def update_agent(issuer: Issuer, agent_id: str, changes: AgentChanges, actor: Actor) -> AgentView:
    """Change metadata/capabilities; if anything changed, issue a new credential and revoke the old."""
    return issuer.audited(
        type="agent.updated",
        actor=actor,
        action="update",
        resource=f"agent:{agent_id[:64]}",
        work=lambda conn: _update(conn, issuer, agent_id, changes),
        describe=lambda v: {
            "subject": v.agent.did,
            "agent_id": v.agent.id,
            "credential_id": v.credential.id if v.credential else None,
        },
    )


def _update(conn: Connection, issuer: Issuer, agent_id: str, changes: AgentChanges) -> AgentView:
    agent = _live(conn, agent_id)
    if agent.status == "suspended":
        raise ConflictError("resume the agent before changing it", reason="agent_suspended")
    updated = agent
    if changes.name is not None:
        updated = replace(updated, name=str(_text(changes.name, "name", MAX_NAME, required=True)))
    if changes.description is not None:
        updated = replace(
            updated, description=_text(changes.description, "description", MAX_DESCRIPTION) or ""
        )
    if changes.owner is not None:
        updated = replace(updated, owner=_owner(changes.owner))
    if changes.kind is not None:
        updated = replace(updated, kind=_kind(changes.kind))
    if changes.model is not None:
        updated = replace(updated, model=_text(changes.model, "model", MAX_NAME) or None)
    if changes.version is not None:
        updated = replace(updated, version=_text(changes.version, "version", 64) or None)
    if changes.labels is not None:
        updated = replace(updated, labels=_labels(changes.labels))
    if changes.capabilities is not None:
        caps = _capabilities(changes.capabilities)
        updated = replace(updated, requested_capabilities=tuple(c.to_json() for c in caps))
    if changes.delegators is not None:
        updated = replace(updated, delegators=tuple(_delegators(changes.delegators)))
    securing = choose_format(changes.format, issuer.default_format)
    current = _current_credential(conn, agent.id)
    credential_changed = _credential_fields(updated) != _credential_fields(agent)
    if updated == agent and current is not None and changes.format is None:
        return AgentView(agent, current)  # nothing to do: idempotent
    saved = AgentRepository(conn).save(updated, now=issuer.clock.now())
    if credential_changed or current is None or changes.format is not None:
        if current is not None:
            revoke_credential(conn, issuer, current.id)
        issue_capability_credential(conn, issuer, saved, securing)
    return AgentView(saved, _current_credential(conn, saved.id))


def _credential_fields(agent: Agent) -> tuple[Any, ...]:
    return (
        agent.name,
        agent.description,
        agent.owner,
        agent.kind,
        agent.model,
        agent.version,
        tuple(json.dumps(c, sort_keys=True) for c in agent.requested_capabilities),
        tuple(agent.delegators),
    )


def _set_suspended(conn: Connection, issuer: Issuer, agent_id: str, suspended: bool) -> AgentView:
    agent = _live(conn, agent_id)
    target: AgentStatus = "suspended" if suspended else "active"
    current = _current_credential(conn, agent.id)
    if agent.status == target:
        return AgentView(agent, current)  # idempotent
    if current is not None:
        set_credential_status(conn, issuer, current.id, "suspension", suspended)
    saved = AgentRepository(conn).set_status(agent.id, target, now=issuer.clock.now())
    return AgentView(saved, current)


def align_suspensions(conn: Connection, *, now: datetime) -> list[str]:
    """Mark suspended every active agent whose current credential's suspension bit is set, and
    return their DIDs: after status bits were written back into a restored database
    (``did-agents status reconcile``, SECURITY FLT-14) so the records agree with the bits and a
    later resume clears them."""
    agents = AgentRepository(conn)
    lists = StatusListRepository(conn)
    suspended: list[Agent] = []
    offset = 0
    while page := agents.list_agents(status="active", limit=500, offset=offset):
        offset += len(page)
        for agent in page:
            current = _current_credential(conn, agent.id)
            if current is None:
                continue
            entries = CredentialRepository(conn).status_entries(current.id)
            if any(e.purpose == "suspension" and lists.get_bit(e.list_id, e.index) for e in entries):
                suspended.append(agent)
    for agent in suspended:  # after the scan: the pages above are of active agents
        agents.set_status(agent.id, "suspended", now=now)
    return [agent.did for agent in suspended]


def _agent_event(
    issuer: Issuer,
    agent_id: str,
    actor: Actor,
    *,
    type: str,
    action: str,
    work: Callable[[Connection], AgentView],
) -> AgentView:
    """Run ``work`` audited as ``type`` on the resource ``agent:<id>``, naming the agent's DID."""
    return issuer.audited(
        type=type,
        actor=actor,
        action=action,
        resource=f"agent:{agent_id[:64]}",
        work=work,
        describe=lambda v: {"subject": v.agent.did, "agent_id": v.agent.id},
    )


def suspend_agent(issuer: Issuer, agent_id: str, actor: Actor) -> AgentView:
    """Set the suspension bit of the agent's current credential (idempotent)."""
    return _agent_event(
        issuer,
        agent_id,
        actor,
        type="agent.suspended",
        action="suspend",
        work=lambda conn: _set_suspended(conn, issuer, agent_id, True),
    )


def resume_agent(issuer: Issuer, agent_id: str, actor: Actor) -> AgentView:
    """Clear the suspension bit (idempotent)."""
    return _agent_event(
        issuer,
        agent_id,
        actor,
        type="agent.resumed",
        action="resume",
        work=lambda conn: _set_suspended(conn, issuer, agent_id, False),
    )


def _offboard(conn: Connection, issuer: Issuer, agent_id: str) -> AgentView:
    agent = AgentRepository(conn).get(_agent_id(agent_id), for_update=True)
    if agent.status == "offboarded":
        return AgentView(agent, None)  # idempotent
    for credential in CredentialRepository(conn).by_agent(agent.id, limit=10_000):
        if credential.revoked_at is None:
            revoke_credential(conn, issuer, credential.id)
    saved = AgentRepository(conn).set_status(agent.id, "offboarded", now=issuer.clock.now())
    return AgentView(saved, None)


def offboard_agent(issuer: Issuer, agent_id: str, actor: Actor) -> AgentView:
    """Revoke every credential of the agent; a hosted DID document becomes deactivated."""
    return _agent_event(
        issuer,
        agent_id,
        actor,
        type="agent.offboarded",
        action="offboard",
        work=lambda conn: _offboard(conn, issuer, agent_id),
    )


# -- hosted did:web agents ----------------------------------------------------------------------------


def hosted_did_document(issuer: Issuer, agent_id: str) -> dict[str, Any]:
    """The DID document of a hosted ``did:web`` agent (did:web §3.2.2 Read).

    An offboarded agent's document keeps only its id and ``deactivated: true``
    (DID Core §7.1.2 ``deactivated``), so no key of it verifies anything.
    """
    view = get_agent(issuer, agent_id)
    agent = view.agent
    if agent.did_method != "web" or agent.public_jwk is None:
        raise NotFoundError("no hosted DID document for this agent", reason="agent_not_found")
    if agent.status == "offboarded":
        return {"@context": ["https://www.w3.org/ns/did/v1"], "id": agent.did, "deactivated": True}
    public = PublicKey.from_jwk(dict(agent.public_jwk))
    vm_id = f"{agent.did}#{public.thumbprint()}"
    return {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": agent.did,
        "verificationMethod": [
            {
                "id": vm_id,
                "type": "Multikey",
                "controller": agent.did,
                "publicKeyMultibase": public.to_multikey(),
            }
        ],
        "authentication": [vm_id],
        "assertionMethod": [vm_id],
        "capabilityInvocation": [vm_id],
        "capabilityDelegation": [vm_id],
    }


def rotate_hosted_key(
    issuer: Issuer,
    agent_id: str,
    *,
    new_public_key_jwk: Mapping[str, Any] | None,
    new_public_key_multibase: str | None,
    proof: str | None,
    new_key_proof: str | None,
    actor: Actor,
) -> AgentView:
    """Replace a hosted agent's key. ``proof`` is a PoP JWS by the *current* key
    (it authorizes the change), ``new_key_proof`` one by the *new* key (it proves
    possession); each spends its own challenge."""

    def work(conn: Connection) -> AgentView:
        agent = _live(conn, agent_id)
        if agent.did_method != "web" or agent.public_jwk is None:
            raise ConflictError("only hosted did:web agents have a key here", reason="not_hosted")
        current = PublicKey.from_jwk(dict(agent.public_jwk))
        now = issuer.clock.now()
        verify_possession(conn, proof, current, audience=issuer.organization.did, now=now, did=None)
        request = OnboardingRequest(
            mode="did_web",
            name=agent.name,
            owner=agent.owner,
            kind=agent.kind,
            capabilities=(),
            public_key_jwk=new_public_key_jwk,
            public_key_multibase=new_public_key_multibase,
        )
        new_key = _public_key(request)
        if new_key.to_jwk() == current.to_jwk():
            raise ConflictError("the new key is the current key", reason="same_key")
        verify_possession(conn, new_key_proof, new_key, audience=issuer.organization.did, now=now, did=None)
        saved = AgentRepository(conn).save(replace(agent, public_jwk=new_key.to_jwk()), now=now)
        return AgentView(saved, _current_credential(conn, saved.id))

    return _agent_event(issuer, agent_id, actor, type="agent.key_rotated", action="rotate_key", work=work)
