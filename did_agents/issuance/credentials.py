"""The issuer's credentials (DESIGN §4): AgentCapabilityCredential and RoleCredential.

Both use ``@context: [credentials/v2, did-agents/v1]`` (VCDM 2.0 §4.3), a
``urn:uuid`` id (VCDM 2.0 §4.4), ``validFrom``/``validUntil`` (§4.9) and a
``credentialStatus`` with one ``BitstringStatusListEntry`` per purpose (§4.10;
BSL §2.1). Every term is defined by one of the two contexts, so the documents
canonicalize in JSON-LD safe mode.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from did_agents.clock import format_datetime
from did_agents.credentials.capability import Capability

__all__ = [
    "AGENT_CAPABILITY_CREDENTIAL",
    "CONTEXTS",
    "ROLE_CREDENTIAL",
    "agent_capability_credential",
    "new_credential_id",
    "role_credential",
]

CONTEXTS: Final = ("https://www.w3.org/ns/credentials/v2", "https://w3id.org/did-agents/v1")
AGENT_CAPABILITY_CREDENTIAL: Final = "AgentCapabilityCredential"
ROLE_CREDENTIAL: Final = "RoleCredential"


def new_credential_id() -> str:
    """A fresh ``urn:uuid:`` credential id (RFC 9562 version 4)."""
    return f"urn:uuid:{uuid.uuid4()}"


def _envelope(
    credential_id: str,
    type_: str,
    issuer: str,
    subject: Mapping[str, Any],
    valid_from: datetime,
    valid_until: datetime,
    status: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    credential: dict[str, Any] = {
        "@context": list(CONTEXTS),
        "id": credential_id,
        "type": ["VerifiableCredential", type_],
        "issuer": issuer,
        "validFrom": format_datetime(valid_from),
        "validUntil": format_datetime(valid_until),
        "credentialSubject": dict(subject),
    }
    if status:
        credential["credentialStatus"] = [dict(entry) for entry in status]
    return credential


def agent_capability_credential(
    *,
    credential_id: str,
    issuer: str,
    agent_did: str,
    name: str,
    owner: str,
    kind: str,
    capabilities: Sequence[Capability],
    delegators: Sequence[str],
    valid_from: datetime,
    valid_until: datetime,
    status: Sequence[Mapping[str, Any]] = (),
    description: str | None = None,
    model: str | None = None,
    version: str | None = None,
) -> dict[str, Any]:
    """An unsecured AgentCapabilityCredential (DESIGN §4): issuer = organization, subject = agent."""
    subject: dict[str, Any] = {"id": agent_did, "name": name}
    if description:
        subject["description"] = description
    subject["owner"] = owner
    subject["agentKind"] = kind
    if model:
        subject["model"] = model
    if version:
        subject["version"] = version
    subject["capabilities"] = [c.to_json() for c in capabilities]
    subject["delegators"] = list(delegators)
    return _envelope(
        credential_id, AGENT_CAPABILITY_CREDENTIAL, issuer, subject, valid_from, valid_until, status
    )


def role_credential(
    *,
    credential_id: str,
    issuer: str,
    user_did: str,
    roles: Sequence[str],
    capabilities: Sequence[Capability],
    valid_from: datetime,
    valid_until: datetime,
    status: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """An unsecured RoleCredential (DESIGN §4): issuer = organization, subject = user."""
    subject: dict[str, Any] = {"id": user_did, "roles": list(roles)}
    if capabilities:
        subject["capabilities"] = [c.to_json() for c in capabilities]
    return _envelope(credential_id, ROLE_CREDENTIAL, issuer, subject, valid_from, valid_until, status)
