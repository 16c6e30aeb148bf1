"""Wire models of the issuer API (pydantic v2). Requests forbid unknown members;
credentials inside them stay open-world (``dict``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AgentChallengeRequest",
    "AgentOut",
    "AgentPatch",
    "AgentRegistration",
    "CapabilityIn",
    "ChallengeOut",
    "IssueRequest",
    "KeyRotation",
    "OnboardingOut",
    "StatusUpdate",
    "StatusUpdateOut",
    "UserOut",
    "UserPatch",
    "UserRegistration",
]

SecuringFormat = Literal["eddsa-rdfc-2022", "eddsa-jcs-2022", "ecdsa-rdfc-2019", "jose"]

_CAPS_EXAMPLE: list[Any] = [
    {"resource": "https://mcp.urbanbites.example/mcp", "scopes": ["orders:read", "orders:create"]}
]

# -- OpenAPI examples: the Urban Bites story (DESIGN §4) -----------------------------------------------
# Keys and DIDs are real (generated for these examples); proof values are shaped like real ones.
# No member is null: FastAPI drops null members from the OpenAPI document it serves, so an example
# with one would show a required member as missing.
# tests/issuer/test_openapi_examples.py validates every example against its model and sends the
# request examples to the live routes.

_ORG = "did:web:urbanbites.example"
_ORG_KEY = f"{_ORG}#gmx7xuo_ohRmdBvkPndyjxlwkTeyM7_HUMvFQPX_Fwo"
_SMITH = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
_ORDERING_AGENT = "did:key:z6MktN1XC5NxT5LV12wxrMmR2ZU5i989vSrBDKh1uNfvo8b5"
_PAYMENT_AGENT = "did:key:z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH"
_KITCHEN_AGENT = f"{_ORG}:agents:0e8c0f39b15b4c19b0628e58d73229d4"
_REVOCATION_LIST = "https://urbanbites.example/status/97ecf7d5a8fb909f"
_SUSPENSION_LIST = "https://urbanbites.example/status/502a406a2b3c80c3"
_ISSUED_AT = "2026-12-01T09:00:00Z"
_CREDENTIAL_CONTEXT = ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/did-agents/v1"]
_VC_API_CREDENTIAL_ID = "urn:uuid:7f3c9f4e-8c1e-4f5e-9d0a-1b2c3d4e5f60"


def _status_entry(list_url: str, purpose: str, index: int) -> dict[str, Any]:
    """A BitstringStatusListEntry (BSL §2.1)."""
    return {
        "id": f"{list_url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }


def _proof(value: str) -> dict[str, Any]:
    """A Data Integrity proof by the organization's key (VC DI §2.1)."""
    return {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": _ISSUED_AT,
        "verificationMethod": _ORG_KEY,
        "proofPurpose": "assertionMethod",
        "proofValue": value,
    }


_AGENT_CREDENTIAL_ID = "urn:uuid:16b5f040-1b6a-4592-aa57-344ba52719b2"
_AGENT_CREDENTIAL: dict[str, Any] = {
    "@context": _CREDENTIAL_CONTEXT,
    "id": _AGENT_CREDENTIAL_ID,
    "type": ["VerifiableCredential", "AgentCapabilityCredential"],
    "issuer": _ORG,
    "validFrom": _ISSUED_AT,
    "validUntil": "2027-12-01T09:00:00Z",
    "credentialSubject": {
        "id": _ORDERING_AGENT,
        "name": "Urban Bites ordering assistant",
        "owner": _SMITH,
        "agentKind": "delegated",
        "model": "claude-sonnet-4-5",
        "version": "1.4.0",
        "capabilities": _CAPS_EXAMPLE,
        "delegators": [],
    },
    "credentialStatus": [
        _status_entry(_REVOCATION_LIST, "revocation", 96947),
        _status_entry(_SUSPENSION_LIST, "suspension", 122532),
    ],
    "proof": _proof(
        "zJQocRjMyKhf2ApRy4XfekG248X4q55UFEucvSw1XCsUjhytZfk8rcwcUTeLaZGagA5Xm6Wg77cCGFicX2Ci8D3c"
    ),
}

_AGENT_EXAMPLE: dict[str, Any] = {
    "id": "434b7ee960044fdaa3680f3f8886e955",
    "did": _ORDERING_AGENT,
    "did_method": "key",
    "name": "Urban Bites ordering assistant",
    "description": "",
    "owner": _SMITH,
    "kind": "delegated",
    "model": "claude-sonnet-4-5",
    "version": "1.4.0",
    "labels": {},
    "capabilities": _CAPS_EXAMPLE,
    "delegators": [],
    "status": "active",
    "created_at": _ISSUED_AT,
    "updated_at": _ISSUED_AT,
    "credential_id": _AGENT_CREDENTIAL_ID,
    "credential": _AGENT_CREDENTIAL,
}

# A list does not carry credentials: no credential_id, no credential.
_LISTED_AGENT = {k: v for k, v in _AGENT_EXAMPLE.items() if k not in {"credential_id", "credential"}}

_ROLE_CREDENTIAL_ID = "urn:uuid:e49ede9a-26a1-4a11-b55c-88842d1ee6ba"
_USER_EXAMPLE: dict[str, Any] = {
    "did": _SMITH,
    "name": "smith",
    "roles": ["staff"],
    "status": "active",
    "created_at": _ISSUED_AT,
    "updated_at": _ISSUED_AT,
    "credential_id": _ROLE_CREDENTIAL_ID,
    "credential": {
        "@context": _CREDENTIAL_CONTEXT,
        "id": _ROLE_CREDENTIAL_ID,
        "type": ["VerifiableCredential", "RoleCredential"],
        "issuer": _ORG,
        "validFrom": _ISSUED_AT,
        "validUntil": "2027-12-01T09:00:00Z",
        "credentialSubject": {
            "id": _SMITH,
            "roles": ["staff"],
            "capabilities": [{"resource": "https://mcp.urbanbites.example/mcp", "scopes": ["orders:read"]}],
        },
        "credentialStatus": [_status_entry(_REVOCATION_LIST, "revocation", 17956)],
        "proof": _proof(
            "z4pvAc8H9GDB1kwsexY7kMZBLzp8UPTRE6dfk66KcwTpLfKjLDNyvHBUXtHDzJvQGxURzKKc2UmxztJWj5crzdH6N"
        ),
    },
}

# JWS compact serializations, shortened: the header of a did-agents-pop+jwt proof, then "...".
_POP_JWS = "eyJhbGciOiJFZERTQSIsInR5cCI6ImRpZC1hZ2VudHMtcG9wK2p3dCJ9..."

# The VC API example: a plain VCDM 2.0 credential for smith, issued with a revocation entry.
_VC_API_CREDENTIAL: dict[str, Any] = {
    "@context": ["https://www.w3.org/ns/credentials/v2"],
    "id": _VC_API_CREDENTIAL_ID,
    "type": ["VerifiableCredential"],
    "issuer": _ORG,
    "validFrom": _ISSUED_AT,
    "validUntil": "2027-12-01T09:00:00Z",
    "credentialSubject": {"id": _SMITH, "name": "smith"},
}


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CapabilityIn(_Request):
    resource: str = Field(max_length=2048, examples=["https://mcp.urbanbites.example/mcp"])
    scopes: list[str] = Field(min_length=1, max_length=64, examples=[["orders:read"]])


class AgentChallengeRequest(_Request):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"did": _PAYMENT_AGENT}, {}]})

    did: str | None = Field(default=None, max_length=2048, description="Bind the challenge to this DID.")


class ChallengeOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "challenge": "H6aKOyshBKvcvqnzvrCYdW8MNOgLZOOcANwCTjyhgks",
                    "audience": _ORG,
                    "expires_at": "2026-12-01T09:05:00Z",
                    "typ": "did-agents-pop+jwt",
                }
            ]
        }
    )

    challenge: str
    audience: str = Field(description="The `aud` the proof must carry: the organization DID.")
    expires_at: datetime
    typ: str = Field(description="The JWS `typ` of the proof.")


class AgentRegistration(_Request):
    """Register an agent. ``mode`` says where its identity comes from."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "mode": "generate",
                    "name": "Urban Bites ordering assistant",
                    "owner": _SMITH,
                    "kind": "delegated",
                    "model": "claude-sonnet-4-5",
                    "version": "1.4.0",
                    "capabilities": _CAPS_EXAMPLE,
                },
                {
                    "mode": "did_key",
                    "did": _PAYMENT_AGENT,
                    "proof": _POP_JWS,
                    "name": "Payment agent",
                    "owner": "mailto:payments@urbanbites.example",
                    "kind": "autonomous",
                    "capabilities": _CAPS_EXAMPLE,
                    "format": "eddsa-jcs-2022",
                },
            ]
        },
    )

    mode: Literal["generate", "did_key", "did_web"] = "generate"
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    owner: str = Field(
        max_length=2048, description="DID or URL (e.g. mailto:) of the accountable human/team."
    )
    kind: Literal["delegated", "autonomous"]
    model: str | None = Field(default=None, max_length=200)
    version: str | None = Field(default=None, max_length=64)
    labels: dict[str, str] = Field(default_factory=dict, max_length=32)
    capabilities: list[CapabilityIn] = Field(min_length=1, max_length=64)
    delegators: list[str] = Field(default_factory=list, max_length=64)
    format: SecuringFormat | None = None
    key_type: Literal["Ed25519", "P-256"] = Field(default="Ed25519", alias="keyType")
    did: str | None = Field(default=None, max_length=2048, description="mode did_key: the agent's did:key.")
    public_key_jwk: dict[str, Any] | None = Field(default=None, alias="publicKeyJwk")
    public_key_multibase: str | None = Field(default=None, alias="publicKeyMultibase", max_length=200)
    proof: str | None = Field(default=None, max_length=8192, description="Proof-of-possession JWS.")


class AgentOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [_AGENT_EXAMPLE, {**_AGENT_EXAMPLE, "status": "suspended"}]}
    )

    id: str
    did: str
    did_method: str
    name: str
    description: str
    owner: str
    kind: str
    model: str | None
    version: str | None
    labels: dict[str, str]
    capabilities: list[dict[str, Any]]
    delegators: list[str]
    status: Literal["active", "suspended", "offboarded"]
    created_at: datetime
    updated_at: datetime
    credential_id: str | None = None
    credential: dict[str, Any] | None = Field(
        default=None, description="The current AgentCapabilityCredential."
    )


class OnboardingOut(AgentOut):
    private_key_jwk: dict[str, Any] | None = Field(
        default=None,
        alias="privateKeyJwk",
        description="mode generate only: the agent's private key. Returned once, never stored.",
    )
    model_config = ConfigDict(
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    **_AGENT_EXAMPLE,
                    "privateKeyJwk": {
                        "kty": "OKP",
                        "crv": "Ed25519",
                        "x": "zqtKWizmHjgrdfjFMIUSeWqdmq4CE9HlwYCZ36RaXjQ",
                        "d": "6uu26bsW2k8q0z3oGXfJDv2blxYMxUIQgU3-wxKAlyA",
                    },
                }
            ]
        },
    )


class AgentList(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            **_LISTED_AGENT,
                            "id": "0e8c0f39b15b4c19b0628e58d73229d4",
                            "did": _KITCHEN_AGENT,
                            "did_method": "web",
                            "name": "Urban Bites kitchen agent",
                            "kind": "autonomous",
                            "owner": "mailto:kitchen@urbanbites.example",
                        },
                        _LISTED_AGENT,
                    ],
                    "limit": 2,
                    "offset": 0,
                    "next_offset": 2,
                }
            ]
        }
    )

    items: list[AgentOut]
    limit: int
    offset: int
    next_offset: int | None


class AgentPatch(_Request):
    """Only the members present change."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "version": "1.5.0",
                    "capabilities": [
                        {"resource": "https://mcp.urbanbites.example/mcp", "scopes": ["orders:read"]}
                    ],
                }
            ]
        },
    )

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    owner: str | None = Field(default=None, max_length=2048)
    kind: Literal["delegated", "autonomous"] | None = None
    model: str | None = Field(default=None, max_length=200)
    version: str | None = Field(default=None, max_length=64)
    labels: dict[str, str] | None = Field(default=None, max_length=32)
    capabilities: list[CapabilityIn] | None = Field(default=None, min_length=1, max_length=64)
    delegators: list[str] | None = Field(default=None, max_length=64)
    format: SecuringFormat | None = None


class KeyRotation(_Request):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "publicKeyMultibase": "z6Mkrs4fLDyniQ8yort686fKtR8fAz5uYmjPef34L7tJrYJN",
                    "proof": _POP_JWS,
                    "newKeyProof": _POP_JWS,
                }
            ]
        },
    )

    public_key_jwk: dict[str, Any] | None = Field(default=None, alias="publicKeyJwk")
    public_key_multibase: str | None = Field(default=None, alias="publicKeyMultibase", max_length=200)
    proof: str = Field(max_length=8192, description="PoP JWS by the current key (authorizes the rotation).")
    new_key_proof: str = Field(alias="newKeyProof", max_length=8192, description="PoP JWS by the new key.")


class UserRegistration(_Request):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"did": _SMITH, "roles": ["staff"], "name": "smith"}]},
    )
    did: str = Field(max_length=2048)
    roles: list[str] = Field(min_length=1, max_length=32)
    name: str | None = Field(default=None, max_length=200)
    format: SecuringFormat | None = None


class UserPatch(_Request):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"roles": ["staff", "manager"]}]},
    )

    roles: list[str] = Field(min_length=1, max_length=32)
    format: SecuringFormat | None = None


class UserOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_USER_EXAMPLE]})

    did: str
    name: str | None
    roles: list[str]
    status: str
    created_at: datetime
    updated_at: datetime
    credential_id: str | None = None
    credential: dict[str, Any] | None = None


class IssueRequest(_Request):
    """W3C VC API ``IssueCredentialRequest``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "credential": _VC_API_CREDENTIAL,
                    "options": {
                        "format": "eddsa-rdfc-2022",
                        "credentialStatus": {
                            "type": "BitstringStatusListEntry",
                            "statusPurpose": "revocation",
                        },
                    },
                }
            ]
        },
    )
    credential: dict[str, Any]
    options: dict[str, Any] | None = None


class IssueResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "verifiableCredential": {
                        **_VC_API_CREDENTIAL,
                        "credentialStatus": [_status_entry(_REVOCATION_LIST, "revocation", 25846)],
                        "proof": _proof(
                            "z2hnUc5yYCUMqe6eQJ7KNfBjD1aCtk5JxRU3cqegen4yGjTTY2WgQ8wW9rCZpjKzvnAj65unW9FGJFTBLVohAfFJx"
                        ),
                    }
                }
            ]
        }
    )

    verifiableCredential: dict[str, Any]


class StatusUpdate(_Request):
    """W3C VC API ``UpdateCredentialStatus``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "credentialId": _VC_API_CREDENTIAL_ID,
                    "credentialStatus": [{"type": "BitstringStatusListCredential", "status": "revoked"}],
                }
            ]
        },
    )
    credentialId: str = Field(max_length=512)
    credentialStatus: list[dict[str, Any]] = Field(min_length=1, max_length=2)


class StatusUpdateOut(BaseModel):
    """The credential and the statuses it has now."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"credentialId": _VC_API_CREDENTIAL_ID, "status": ["revoked"]}]}
    )

    credentialId: str
    status: list[str]


_AUDIT_EVENT_EXAMPLE: dict[str, Any] = {
    # A co-hosted verifier's grant: smith, acting through the ordering agent.
    "seq": 7,
    "time": "2026-12-01T09:00:00.000000Z",
    "type": "token_exchange.granted",
    "decision": "allowed",
    "reason": "granted",
    "subject": _SMITH,
    "actors": [_ORDERING_AGENT],
    "client_id": _ORDERING_AGENT,
    "action": "token_exchange",
    "resource": "https://mcp.urbanbites.example/mcp",
    "details": {"scope": "orders:create orders:read", "jti": "Jx2lKq0Yt7bQ9mFv3sWcR1aE8nDzUo4H"},
    "hash": "9b1f0c3e6f2d4a5b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b",
}


class AuditEventOut(BaseModel):
    """One event of the hash chain (``hash`` chains it to the event before)."""

    seq: int
    time: str
    type: str
    decision: Literal["allowed", "denied", "info"]
    reason: str | None
    subject: str | None
    actors: list[str]
    client_id: str | None
    action: str | None
    resource: str | None
    details: dict[str, Any]
    hash: str


class AuditEventList(BaseModel):
    """A page of events in chain order; ``next_after`` is the ``after`` of the next page."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [_AUDIT_EVENT_EXAMPLE], "next_after": 7}]}
    )

    items: list[AuditEventOut]
    next_after: int | None


class AuditChainCheck(BaseModel):
    """The hash chain recomputed: ``broken_at`` is the first event whose hash does not match."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"ok": True, "events": 42}]})

    ok: bool
    events: int
    broken_at: int | None = None
    problem: str | None = None


class ErrorOut(BaseModel):
    error: str = Field(examples=["invalid_request"])
    error_description: str = Field(examples=["not a valid DID: 'did:bad'"])
