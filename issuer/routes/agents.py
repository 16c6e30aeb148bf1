"""The agent registry: onboarding, lifecycle, hosted did:web documents (DESIGN §6)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from did_agents.issuance import agents as core
from did_agents.issuance.possession import POP_TYP
from did_agents.storage.agents import Agent, AgentStatus
from issuer.deps import Admin, IssuerDep, Reader
from issuer.models import (
    AgentChallengeRequest,
    AgentList,
    AgentOut,
    AgentPatch,
    AgentRegistration,
    ChallengeOut,
    ErrorOut,
    KeyRotation,
    OnboardingOut,
)

__all__ = ["router"]

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "Invalid input (bad DID, bad proof, replayed challenge, ...)"},
    401: {"model": ErrorOut, "description": "No or invalid operator token"},
    403: {"model": ErrorOut, "description": "The operator lacks the admin role"},
    404: {"model": ErrorOut, "description": "No such agent"},
    409: {
        "model": ErrorOut,
        "description": "Conflict with the agent's state (duplicate, offboarded, suspended)",
    },
}

router = APIRouter(prefix="/agents", tags=["agents"], responses=_ERRORS)

_KITCHEN_AGENT = "did:web:urbanbites.example:agents:0e8c0f39b15b4c19b0628e58d73229d4"
_KITCHEN_KEY = f"{_KITCHEN_AGENT}#dEW1FFPgjmd8sHagSHu71SXQuAFyjoiMWVmwrNIKp9M"
_HOSTED_DOCUMENT_EXAMPLE = {
    "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
    "id": _KITCHEN_AGENT,
    "verificationMethod": [
        {
            "id": _KITCHEN_KEY,
            "type": "Multikey",
            "controller": _KITCHEN_AGENT,
            "publicKeyMultibase": "z6Mkrs4fLDyniQ8yort686fKtR8fAz5uYmjPef34L7tJrYJN",
        }
    ],
    "authentication": [_KITCHEN_KEY],
    "assertionMethod": [_KITCHEN_KEY],
    "capabilityInvocation": [_KITCHEN_KEY],
    "capabilityDelegation": [_KITCHEN_KEY],
}


def _out(agent: Agent, credential_id: str | None = None, credential: Any = None) -> dict[str, Any]:
    return {
        "id": agent.id,
        "did": agent.did,
        "did_method": agent.did_method,
        "name": agent.name,
        "description": agent.description,
        "owner": agent.owner,
        "kind": agent.kind,
        "model": agent.model,
        "version": agent.version,
        "labels": dict(agent.labels),
        "capabilities": [dict(c) for c in agent.requested_capabilities],
        "delegators": list(agent.delegators),
        "status": agent.status,
        "created_at": agent.created_at,
        "updated_at": agent.updated_at,
        "credential_id": credential_id,
        "credential": credential,
    }


def _view(view: core.AgentView) -> dict[str, Any]:
    return _out(view.agent, view.credential.id if view.credential else None, view.credential_document)


@router.post(
    "/challenges",
    status_code=status.HTTP_201_CREATED,
    response_model=ChallengeOut,
    summary="A single-use challenge for an agent's proof of possession",
)
def create_challenge(body: AgentChallengeRequest, issuer: IssuerDep, actor: Admin) -> dict[str, Any]:
    challenge = core.agent_challenge(issuer, actor, did=body.did)
    return {
        "challenge": challenge.nonce,
        "audience": issuer.organization.did,
        "expires_at": challenge.expires_at,
        "typ": POP_TYP,
    }


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=OnboardingOut,
    response_model_by_alias=True,
    summary="Onboard an agent and issue its AgentCapabilityCredential",
)
async def onboard(
    body: AgentRegistration, issuer: IssuerDep, actor: Admin, response: Response
) -> dict[str, Any]:
    # Async route: the blocking work (key generation, signing, the write transaction) runs on
    # the issuer's writer thread, grouped with concurrent requests; no worker thread is held.
    request = core.OnboardingRequest(
        mode=body.mode,
        name=body.name,
        owner=body.owner,
        kind=body.kind,
        capabilities=[c.model_dump() for c in body.capabilities],
        description=body.description,
        model=body.model,
        version=body.version,
        labels=body.labels,
        delegators=body.delegators,
        format=body.format,
        key_type=body.key_type,
        did=body.did,
        public_key_jwk=body.public_key_jwk,
        public_key_multibase=body.public_key_multibase,
        proof=body.proof,
    )
    result = await core.onboard_agent_async(issuer, request, actor)
    response.headers["Location"] = f"/agents/{result.agent.id}"
    response.headers["Cache-Control"] = "no-store"  # may carry a private key
    out = _out(result.agent, result.credential_id, result.credential.document)
    out["privateKeyJwk"] = result.private_key_jwk
    return out


@router.get("", response_model=AgentList, summary="List agents (paginated)")
def list_agents(
    issuer: IssuerDep,
    actor: Reader,
    owner: Annotated[str | None, Query(max_length=2048)] = None,
    agent_status: Annotated[
        AgentStatus | None, Query(alias="status", description="active, suspended or offboarded")
    ] = None,
    capability: Annotated[str | None, Query(max_length=2048, description="A resource URL or a scope")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    found = core.list_agents(
        issuer, owner=owner, status=agent_status, capability=capability, limit=limit + 1, offset=offset
    )
    items = [_out(a) for a in found[:limit]]
    return {
        "items": items,
        "limit": limit,
        "offset": offset,
        "next_offset": offset + limit if len(found) > limit else None,
    }


@router.get("/{agent_id}", response_model=AgentOut, summary="One agent and its current credential")
def get_agent(agent_id: str, issuer: IssuerDep, actor: Reader) -> dict[str, Any]:
    return _view(core.get_agent(issuer, agent_id))


@router.patch(
    "/{agent_id}",
    response_model=AgentOut,
    summary="Change metadata or capabilities (a new credential is issued, the old one revoked)",
)
def update_agent(agent_id: str, body: AgentPatch, issuer: IssuerDep, actor: Admin) -> dict[str, Any]:
    changes = core.AgentChanges(
        name=body.name,
        description=body.description,
        owner=body.owner,
        kind=body.kind,
        model=body.model,
        version=body.version,
        labels=body.labels,
        capabilities=None if body.capabilities is None else [c.model_dump() for c in body.capabilities],
        delegators=body.delegators,
        format=body.format,
    )
    return _view(core.update_agent(issuer, agent_id, changes, actor))


@router.post("/{agent_id}/suspend", response_model=AgentOut, summary="Suspend (idempotent)")
def suspend(agent_id: str, issuer: IssuerDep, actor: Admin) -> dict[str, Any]:
    return _view(core.suspend_agent(issuer, agent_id, actor))


@router.post("/{agent_id}/resume", response_model=AgentOut, summary="Resume (idempotent)")
def resume(agent_id: str, issuer: IssuerDep, actor: Admin) -> dict[str, Any]:
    return _view(core.resume_agent(issuer, agent_id, actor))


@router.delete(
    "/{agent_id}",
    response_model=AgentOut,
    summary="Offboard: revoke every credential; a hosted DID document becomes deactivated (idempotent)",
)
def offboard(agent_id: str, issuer: IssuerDep, actor: Admin) -> dict[str, Any]:
    return _view(core.offboard_agent(issuer, agent_id, actor))


@router.put(
    "/{agent_id}/keys",
    response_model=AgentOut,
    summary="Rotate a hosted did:web agent's key (signed by the current and the new key)",
)
def rotate_key(agent_id: str, body: KeyRotation, issuer: IssuerDep, actor: Admin) -> dict[str, Any]:
    return _view(
        core.rotate_hosted_key(
            issuer,
            agent_id,
            new_public_key_jwk=body.public_key_jwk,
            new_public_key_multibase=body.public_key_multibase,
            proof=body.proof,
            new_key_proof=body.new_key_proof,
            actor=actor,
        )
    )


@router.get(
    "/{agent_id}/did.json",
    summary="DID document of a hosted did:web agent",
    response_class=Response,  # the route answers application/did+json itself
    responses={
        200: {
            "content": {
                "application/did+json": {"schema": {"type": "object"}, "example": _HOSTED_DOCUMENT_EXAMPLE}
            }
        }
    },
)
def hosted_document(agent_id: str, issuer: IssuerDep) -> Response:
    document = core.hosted_did_document(issuer, agent_id)
    return Response(
        json.dumps(document), media_type="application/did+json", headers={"Cache-Control": "no-cache"}
    )
