"""``GET /status/{list}``: the signed BitstringStatusListCredential (BSL §2.2).

Re-signed only when a bit changed; answered with a strong ``ETag`` (the list
version) and ``Cache-Control: max-age`` so verifiers and caches can reuse it
(BSL §6.2 caching; RFC 9111), and ``304`` for a matching ``If-None-Match``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response

from did_agents.issuance.status import publish_status_list
from issuer.deps import IssuerDep
from issuer.models import ErrorOut

__all__ = ["router"]

router = APIRouter(tags=["status"])

_ORG = "did:web:urbanbites.example"
_LIST = "https://urbanbites.example/status/97ecf7d5a8fb909f"
_STATUS_LIST_EXAMPLE = {
    "@context": ["https://www.w3.org/ns/credentials/v2"],
    "id": _LIST,
    "type": ["VerifiableCredential", "BitstringStatusListCredential"],
    "issuer": _ORG,
    "validFrom": "2026-12-01T09:00:00Z",
    "credentialSubject": {
        "id": f"{_LIST}#list",
        "type": "BitstringStatusList",
        "statusPurpose": "revocation",
        "encodedList": "uH4sIAAAAAAAAA-3OMQEAAAgDoEWwf1q_VfAQEpAAAAAAAAAAAAAAAMBXcx0AAAAAqAWxSQUGAEAAAA",
    },
    "proof": {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": "2026-12-01T09:00:00Z",
        "verificationMethod": f"{_ORG}#gmx7xuo_ohRmdBvkPndyjxlwkTeyM7_HUMvFQPX_Fwo",
        "proofPurpose": "assertionMethod",
        "proofValue": "z3FdVKV3xfjZ6UM9g6KvxJnkg1LrfYa6PCduSMJupMgrnoGRuEBLrP7HaTAmtrJZtRWp5YKtnVbB1NgMw56jDtH3X",
    },
}


@router.get(
    "/status/{list_id}",
    summary="A signed BitstringStatusListCredential",
    response_class=Response,  # the route answers application/vc+ld+json itself
    responses={
        200: {
            "content": {
                "application/vc+ld+json": {"schema": {"type": "object"}, "example": _STATUS_LIST_EXAMPLE}
            }
        },
        304: {"description": "Not modified: the list version matches If-None-Match"},
        404: {"model": ErrorOut},
    },
)
def status_list(
    list_id: str,
    request: Request,
    issuer: IssuerDep,
    if_none_match: Annotated[str | None, Header(max_length=256)] = None,
) -> Response:
    published = publish_status_list(issuer, list_id)
    max_age = request.app.state.settings.status_list_max_age
    headers = {"ETag": published.etag, "Cache-Control": f"public, max-age={max_age}"}
    if if_none_match is not None and published.etag in [t.strip() for t in if_none_match.split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(published.body, media_type="application/vc+ld+json", headers=headers)
