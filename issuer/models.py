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
    "UserOut",
    "UserPatch",
    "UserRegistration",
]

SecuringFormat = Literal["eddsa-rdfc-2022", "eddsa-jcs-2022", "jose"]

_CAPS_EXAMPLE: list[Any] = [{"resource": "https://mcp.urbanbites.example/mcp", "scopes": ["orders:read", "orders:create"]}]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CapabilityIn(_Request):
    resource: str = Field(max_length=2048, examples=["https://mcp.urbanbites.example/mcp"])
    scopes: list[str] = Field(min_length=1, max_length=64, examples=[["orders:read"]])


class AgentChallengeRequest(_Request):
    did: str | None = Field(default=None, max_length=2048, description="Bind the challenge to this DID.")


class ChallengeOut(BaseModel):
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
                    "owner": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
                    "kind": "delegated",
                    "capabilities": _CAPS_EXAMPLE,
                },
                {
                    "mode": "did_key",
                    "did": "did:key:z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH",
                    "proof": "eyJhbGciOiJFZERTQSIsInR5cCI6ImRpZC1hZ2VudHMtcG9wK2p3dCJ9...",
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
    owner: str = Field(max_length=2048, description="DID or URL (e.g. mailto:) of the accountable human/team.")
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
    credential: dict[str, Any] | None = Field(default=None, description="The current AgentCapabilityCredential.")


class OnboardingOut(AgentOut):
    private_key_jwk: dict[str, Any] | None = Field(
        default=None,
        alias="privateKeyJwk",
        description="mode generate only: the agent's private key. Returned once, never stored.",
    )
    model_config = ConfigDict(populate_by_name=True)


class AgentList(BaseModel):
    items: list[AgentOut]
    limit: int
    offset: int
    next_offset: int | None


class AgentPatch(_Request):
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
    public_key_jwk: dict[str, Any] | None = Field(default=None, alias="publicKeyJwk")
    public_key_multibase: str | None = Field(default=None, alias="publicKeyMultibase", max_length=200)
    proof: str = Field(max_length=8192, description="PoP JWS by the current key (authorizes the rotation).")
    new_key_proof: str = Field(alias="newKeyProof", max_length=8192, description="PoP JWS by the new key.")


class UserRegistration(_Request):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"did": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK", "roles": ["staff"]}]
        },
    )
    did: str = Field(max_length=2048)
    roles: list[str] = Field(min_length=1, max_length=32)
    name: str | None = Field(default=None, max_length=200)
    format: SecuringFormat | None = None


class UserPatch(_Request):
    roles: list[str] = Field(min_length=1, max_length=32)
    format: SecuringFormat | None = None


class UserOut(BaseModel):
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
                    "credential": {
                        "@context": ["https://www.w3.org/ns/credentials/v2"],
                        "type": ["VerifiableCredential"],
                        "issuer": "did:web:issuer.example",
                        "credentialSubject": {"id": "did:example:subject", "name": "Alice"},
                    },
                    "options": {"format": "eddsa-rdfc-2022"},
                }
            ]
        },
    )
    credential: dict[str, Any]
    options: dict[str, Any] | None = None


class IssueResponse(BaseModel):
    verifiableCredential: dict[str, Any]


class StatusUpdate(_Request):
    """W3C VC API ``UpdateCredentialStatus``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "credentialId": "urn:uuid:7f3c9f4e-8c1e-4f5e-9d0a-1b2c3d4e5f60",
                    "credentialStatus": [{"type": "BitstringStatusListCredential", "status": "revoked"}],
                }
            ]
        },
    )
    credentialId: str = Field(max_length=512)
    credentialStatus: list[dict[str, Any]] = Field(min_length=1, max_length=2)


class ErrorOut(BaseModel):
    error: str = Field(examples=["invalid_request"])
    error_description: str = Field(examples=["not a valid DID: 'did:bad'"])
