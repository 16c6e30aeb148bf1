"""``GET /.well-known/did.json`` (did:web §3.2.2) and the project's JSON-LD context."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Response

from did_agents.jsonld import DID_AGENTS_V1, get_context
from issuer.deps import IssuerDep

__all__ = ["router"]

router = APIRouter(tags=["organization"])


@router.get(
    "/.well-known/did.json",
    summary="The organization's DID document",
    response_description="A DID document with every published signing key as an assertionMethod.",
    responses={200: {"content": {"application/did+json": {}}}},
)
def organization_did_document(issuer: IssuerDep) -> Response:
    body = json.dumps(issuer.organization.did_document())
    return Response(body, media_type="application/did+json", headers={"Cache-Control": "public, max-age=300"})


@router.get("/contexts/did-agents/v1", summary="The did-agents v1 JSON-LD context (also bundled)")
def project_context() -> Response:
    context: Any = get_context(DID_AGENTS_V1)
    return Response(
        json.dumps(context), media_type="application/ld+json", headers={"Cache-Control": "public, max-age=86400"}
    )
