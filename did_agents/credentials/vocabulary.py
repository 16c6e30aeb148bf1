"""The did-agents credential types (DESIGN §4), context ``https://w3id.org/did-agents/v1``.

* ``AgentCapabilityCredential`` — organization → agent: who the agent is
  (``name``, ``description``, ``owner``, ``agentKind``, ``model``, ``version``),
  what it may do (``capabilities``) and who may delegate to it (``delegators``).
* ``RoleCredential`` — organization → user: ``roles`` and/or ``capabilities``.
* ``DelegationCredential`` — user (or agent) → agent: ``capabilities``,
  ``maxDepth`` and, for sub-delegations, ``parentCredential`` ``{id, digestSRI}``.

``build_*`` return *unsigned* VCDM 2.0 credentials (``urn:uuid`` ids, both
contexts, ``validFrom``/``validUntil``) for ``issue_credential``. ``parse_*``
validate the data model and the claim shapes and return frozen views; they do
not verify proofs (``did_agents.credentials.verify`` does) and do not decide
policy (capability narrowing and chain rules live in the delegation module).
Every refusal is a ``MalformedError``; claim-shape reasons are
``invalid_capability`` and ``invalid_claim``.
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal

from did_agents import jcs
from did_agents.clock import format_datetime
from did_agents.credentials.capability import Capability, capabilities_to_json, parse_capabilities
from did_agents.credentials.model import (
    CREDENTIALS_V2_CONTEXT,
    DID_AGENTS_CONTEXT,
    Credential,
    as_list,
    is_url,
    validate_credential,
)
from did_agents.did.document import DID_PATTERN
from did_agents.errors import MalformedError

__all__ = [
    "AGENT_CAPABILITY_CREDENTIAL",
    "DELEGATION_CREDENTIAL",
    "ROLE_CREDENTIAL",
    "AgentCapability",
    "AgentKind",
    "Delegation",
    "ParentCredential",
    "RoleGrant",
    "build_capability_credential",
    "build_delegation_credential",
    "build_role_credential",
    "credential_digest_sri",
    "parse_capability_credential",
    "parse_delegation_credential",
    "parse_role_credential",
]

AGENT_CAPABILITY_CREDENTIAL: Final = "AgentCapabilityCredential"
ROLE_CREDENTIAL: Final = "RoleCredential"
DELEGATION_CREDENTIAL: Final = "DelegationCredential"
AgentKind = Literal["delegated", "autonomous"]
_AGENT_KINDS: Final = ("delegated", "autonomous")

MAX_DEPTH_LIMIT: Final = 64
MAX_ROLES: Final = 64
MAX_DELEGATORS: Final = 256
_ROLE: Final = re.compile(r"^[A-Za-z0-9_.\-]{1,64}(?::[A-Za-z0-9_.\-]{1,64})*$")
# W3C SRI §3.5: "sha256-" + base64 (standard alphabet, padded) of the digest.
_DIGEST_SRI: Final = re.compile(r"^sha256-[A-Za-z0-9+/]{43}=$")
_SHORT_TEXT: Final = 512


def _claim(message: str) -> MalformedError:
    return MalformedError(message, reason="invalid_claim")


def credential_digest_sri(credential: Mapping[str, Any]) -> str:
    """``sha256-<base64>`` of the RFC 8785 canonical JSON of ``credential`` (proof included).

    The value a sub-delegation puts in ``parentCredential.digestSRI`` (W3C
    Subresource Integrity §3.5 syntax, as VCDM §5.3 "Integrity of Related
    Resources" uses it).
    """
    digest = hashlib.sha256(jcs.canonicalize(dict(credential))).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


# --------------------------------------------------------------------------------------
# Parsed views


@dataclass(frozen=True, slots=True)
class ParentCredential:
    """A sub-delegation's link to its parent: the parent's ``id`` and ``digestSRI``."""

    id: str
    digest_sri: str

    def __post_init__(self) -> None:
        if not is_url(self.id):
            raise _claim("parentCredential id must be a URL")
        if not isinstance(self.digest_sri, str) or not _DIGEST_SRI.match(self.digest_sri):
            raise _claim("parentCredential digestSRI must be 'sha256-<base64 of 32 bytes>'")

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "digestSRI": self.digest_sri}

    @classmethod
    def of(cls, parent: Mapping[str, Any]) -> ParentCredential:
        """The link to ``parent`` (a signed credential with an ``id``)."""
        parent_id = parent.get("id")
        if not isinstance(parent_id, str):
            raise ValueError("the parent credential has no id")
        return cls(parent_id, credential_digest_sri(parent))


@dataclass(frozen=True, slots=True)
class AgentCapability:
    """A parsed ``AgentCapabilityCredential``."""

    credential: Credential = field(repr=False)
    agent: str
    name: str
    owner: str
    agent_kind: AgentKind
    capabilities: tuple[Capability, ...]
    delegators: tuple[str, ...]
    description: str | None = None
    model: str | None = None
    version: str | None = None

    @property
    def issuer(self) -> str:
        return self.credential.issuer


@dataclass(frozen=True, slots=True)
class RoleGrant:
    """A parsed ``RoleCredential``."""

    credential: Credential = field(repr=False)
    user: str
    roles: tuple[str, ...]
    capabilities: tuple[Capability, ...]

    @property
    def issuer(self) -> str:
        return self.credential.issuer


@dataclass(frozen=True, slots=True)
class Delegation:
    """A parsed ``DelegationCredential``: ``delegator`` (issuer) → ``delegatee`` (subject)."""

    credential: Credential = field(repr=False)
    delegatee: str
    capabilities: tuple[Capability, ...]
    max_depth: int
    parent: ParentCredential | None

    @property
    def delegator(self) -> str:
        return self.credential.issuer


# --------------------------------------------------------------------------------------
# Builders


def _is_did(value: object) -> bool:
    return isinstance(value, str) and DID_PATTERN.match(value) is not None


def _require_did(value: object, what: str) -> str:
    if not _is_did(value):
        raise ValueError(f"{what} must be a DID")
    assert isinstance(value, str)
    return value


def _envelope(
    *,
    kind: str,
    issuer: str,
    subject: dict[str, Any],
    valid_from: datetime,
    valid_until: datetime,
    credential_id: str | None,
    credential_status: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None,
) -> dict[str, Any]:
    if valid_from.tzinfo is None or valid_until.tzinfo is None:
        raise ValueError("valid_from and valid_until must be timezone-aware")
    if valid_until < valid_from:
        raise ValueError("valid_until is before valid_from")
    credential: dict[str, Any] = {
        "@context": [CREDENTIALS_V2_CONTEXT, DID_AGENTS_CONTEXT],
        "id": credential_id or f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiableCredential", kind],
        "issuer": _require_did(issuer, "issuer"),
        "validFrom": format_datetime(valid_from),
        "validUntil": format_datetime(valid_until),
        "credentialSubject": subject,
    }
    if credential_status is not None:
        statuses = (
            [dict(credential_status)]
            if isinstance(credential_status, Mapping)
            else [dict(s) for s in credential_status]
        )
        credential["credentialStatus"] = statuses[0] if len(statuses) == 1 else statuses
    return credential


def build_capability_credential(
    *,
    issuer: str,
    agent: str,
    name: str,
    owner: str,
    capabilities: Sequence[Capability | Mapping[str, Any]],
    valid_from: datetime,
    valid_until: datetime,
    agent_kind: AgentKind = "delegated",
    delegators: Sequence[str] = (),
    description: str | None = None,
    model: str | None = None,
    version: str | None = None,
    credential_id: str | None = None,
    credential_status: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """An unsigned ``AgentCapabilityCredential`` from the organization ``issuer`` to ``agent``."""
    subject: dict[str, Any] = {
        "id": _require_did(agent, "agent"),
        "name": name,
        "owner": owner,
        "agentKind": agent_kind,
        "capabilities": capabilities_to_json(capabilities),
        "delegators": list(delegators),
    }
    if description is not None:
        subject["description"] = description
    if model is not None:
        subject["model"] = model
    if version is not None:
        subject["version"] = version
    credential = _envelope(
        kind=AGENT_CAPABILITY_CREDENTIAL,
        issuer=issuer,
        subject=subject,
        valid_from=valid_from,
        valid_until=valid_until,
        credential_id=credential_id,
        credential_status=credential_status,
    )
    parse_capability_credential(credential)  # the builder never emits what the parser refuses
    return credential


def build_role_credential(
    *,
    issuer: str,
    user: str,
    valid_from: datetime,
    valid_until: datetime,
    roles: Sequence[str] = (),
    capabilities: Sequence[Capability | Mapping[str, Any]] = (),
    credential_id: str | None = None,
    credential_status: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """An unsigned ``RoleCredential`` from the organization ``issuer`` to ``user``."""
    subject: dict[str, Any] = {"id": _require_did(user, "user")}
    if roles:
        subject["roles"] = list(roles)
    if capabilities:
        subject["capabilities"] = capabilities_to_json(capabilities)
    credential = _envelope(
        kind=ROLE_CREDENTIAL,
        issuer=issuer,
        subject=subject,
        valid_from=valid_from,
        valid_until=valid_until,
        credential_id=credential_id,
        credential_status=credential_status,
    )
    parse_role_credential(credential)
    return credential


def build_delegation_credential(
    *,
    issuer: str,
    agent: str,
    capabilities: Sequence[Capability | Mapping[str, Any]],
    valid_from: datetime,
    valid_until: datetime,
    max_depth: int = 0,
    parent: ParentCredential | None = None,
    credential_id: str | None = None,
    credential_status: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """An unsigned ``DelegationCredential`` from ``issuer`` (user or agent) to ``agent``.

    ``max_depth`` is how many further hops are allowed (0: no redelegation);
    ``parent`` links a sub-delegation to the credential it narrows.
    """
    subject: dict[str, Any] = {
        "id": _require_did(agent, "agent"),
        "capabilities": capabilities_to_json(capabilities),
        "maxDepth": max_depth,
    }
    if parent is not None:
        subject["parentCredential"] = parent.to_json()
    credential = _envelope(
        kind=DELEGATION_CREDENTIAL,
        issuer=issuer,
        subject=subject,
        valid_from=valid_from,
        valid_until=valid_until,
        credential_id=credential_id,
        credential_status=credential_status,
    )
    parse_delegation_credential(credential)
    return credential


# --------------------------------------------------------------------------------------
# Parsers


def _typed(document: object, kind: str) -> tuple[Credential, Mapping[str, Any]]:
    credential = validate_credential(document)
    if kind not in credential.types:
        raise MalformedError(f"credential type must include {kind}", reason="invalid_type")
    if DID_AGENTS_CONTEXT not in as_list(credential.data.get("@context")):
        raise MalformedError(f"a {kind} must use the {DID_AGENTS_CONTEXT} context", reason="invalid_context")
    if len(credential.subjects) != 1:
        raise _claim(f"a {kind} has exactly one credentialSubject")
    subject = credential.subjects[0]
    if not _is_did(subject.get("id")):
        raise _claim(f"the {kind} subject id must be a DID")
    if not _is_did(credential.issuer):
        raise _claim(f"the {kind} issuer must be a DID")
    return credential, subject


def _text(subject: Mapping[str, Any], member: str, *, required: bool) -> str | None:
    value = subject.get(member)
    if value is None:
        if required:
            raise MalformedError(f"credentialSubject.{member} is required", reason="missing_property")
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > _SHORT_TEXT:
        raise _claim(f"credentialSubject.{member} must be a non-empty string of at most {_SHORT_TEXT}")
    return value


def _delegator(value: object) -> str:
    # DESIGN §4: user DIDs, role names (matched against a RoleCredential), or "*".
    if value == "*" or _is_did(value) or (isinstance(value, str) and _ROLE.match(value)):
        assert isinstance(value, str)
        return value
    raise _claim(f"delegator {str(value)[:80]!r} must be a DID, a role name or '*'")


def parse_capability_credential(document: object) -> AgentCapability:
    """Validate an ``AgentCapabilityCredential`` and its claims."""
    credential, subject = _typed(document, AGENT_CAPABILITY_CREDENTIAL)
    name = _text(subject, "name", required=True)
    owner = _text(subject, "owner", required=True)
    assert name is not None and owner is not None
    if not is_url(owner):
        # The context types owner as @id: a DID, or an account URL such as mailto:.
        raise _claim("owner must be a DID or URL (e.g. mailto:team@example.com)")
    agent_kind = subject.get("agentKind")
    if agent_kind not in _AGENT_KINDS:
        raise _claim("agentKind must be 'delegated' or 'autonomous'")
    delegators = subject.get("delegators", [])
    if not isinstance(delegators, list) or len(delegators) > MAX_DELEGATORS:
        raise _claim(f"delegators must be an array of at most {MAX_DELEGATORS}")
    return AgentCapability(
        credential=credential,
        agent=subject["id"],
        name=name,
        owner=owner,
        agent_kind=agent_kind,
        capabilities=parse_capabilities(subject.get("capabilities"), allow_empty=False),
        delegators=tuple(_delegator(d) for d in delegators),
        description=_text(subject, "description", required=False),
        model=_text(subject, "model", required=False),
        version=_text(subject, "version", required=False),
    )


def parse_role_credential(document: object) -> RoleGrant:
    """Validate a ``RoleCredential``: ``roles`` and/or ``capabilities``."""
    credential, subject = _typed(document, ROLE_CREDENTIAL)
    roles = subject.get("roles", [])
    if not isinstance(roles, list) or len(roles) > MAX_ROLES:
        raise _claim(f"roles must be an array of at most {MAX_ROLES} names")
    for role in roles:
        if not isinstance(role, str) or not _ROLE.match(role):
            raise _claim(f"role {str(role)[:80]!r} is not a valid role name")
    capabilities = (
        parse_capabilities(subject["capabilities"], allow_empty=True) if "capabilities" in subject else ()
    )
    if not roles and not capabilities:
        raise MalformedError("a RoleCredential grants roles and/or capabilities", reason="missing_property")
    return RoleGrant(credential=credential, user=subject["id"], roles=tuple(roles), capabilities=capabilities)


def parse_delegation_credential(document: object) -> Delegation:
    """Validate a ``DelegationCredential``: capabilities, ``maxDepth``, optional parent link."""
    credential, subject = _typed(document, DELEGATION_CREDENTIAL)
    if credential.valid_until is None:
        # DESIGN §4: a delegation always ends.
        raise MalformedError("a DelegationCredential needs validUntil", reason="missing_property")
    max_depth = subject.get("maxDepth", 0)
    if isinstance(max_depth, bool) or not isinstance(max_depth, int) or not 0 <= max_depth <= MAX_DEPTH_LIMIT:
        raise _claim(f"maxDepth must be an integer from 0 to {MAX_DEPTH_LIMIT}")
    parent: ParentCredential | None = None
    if "parentCredential" in subject:
        raw = subject["parentCredential"]
        if not isinstance(raw, dict) or set(raw) != {"id", "digestSRI"}:
            raise _claim("parentCredential must be {id, digestSRI}")
        parent = ParentCredential(raw["id"], raw["digestSRI"])
    return Delegation(
        credential=credential,
        delegatee=subject["id"],
        capabilities=parse_capabilities(subject.get("capabilities")),
        max_depth=max_depth,
        parent=parent,
    )
