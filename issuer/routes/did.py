"""``GET /.well-known/did.json`` (did:web §3.2.2) and the project's JSON-LD context."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Response

from did_agents.jsonld import DID_AGENTS_V1, get_context
from issuer.deps import IssuerDep

__all__ = ["router"]

router = APIRouter(tags=["organization"])

_ORG = "did:web:urbanbites.example"
_ORG_KEY = f"{_ORG}#gmx7xuo_ohRmdBvkPndyjxlwkTeyM7_HUMvFQPX_Fwo"
_DID_DOCUMENT_EXAMPLE = {
    "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
    "id": _ORG,
    "verificationMethod": [
        {
            "id": _ORG_KEY,
            "type": "Multikey",
            "controller": _ORG,
            "publicKeyMultibase": "z6MkfMu6pwyJ4EzcUqbtQbaBH69CK3tLRjzVFvpydd3F8yKN",
        }
    ],
    "assertionMethod": [_ORG_KEY],
}


@router.get(
    "/.well-known/did.json",
    summary="The organization's DID document",
    response_description="A DID document with every published signing key as an assertionMethod.",
    response_class=Response,  # the route answers application/did+json itself
    responses={
        200: {
            "content": {
                "application/did+json": {"schema": {"type": "object"}, "example": _DID_DOCUMENT_EXAMPLE}
            }
        }
    },
)
def organization_did_document(issuer: IssuerDep) -> Response:
    body = json.dumps(issuer.organization.did_document())
    return Response(body, media_type="application/did+json", headers={"Cache-Control": "public, max-age=300"})


@router.get(
    "/contexts/did-agents/v1",
    summary="The did-agents v1 JSON-LD context (also bundled)",
    response_class=Response,  # the route answers application/ld+json itself
    responses={
        200: {
            "content": {
                "application/ld+json": {"schema": {"type": "object"}, "example": get_context(DID_AGENTS_V1)}
            }
        }
    },
)
def project_context() -> Response:
    context: Any = get_context(DID_AGENTS_V1)
    return Response(
        json.dumps(context),
        media_type="application/ld+json",
        headers={"Cache-Control": "public, max-age=86400"},
    )
