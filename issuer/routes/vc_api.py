"""W3C VC API issuer endpoints: ``POST /credentials/issue``, ``POST /credentials/status``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status

from did_agents.issuance import vc_api as core
from issuer.deps import Admin, IssueActor, IssuerDep
from issuer.models import ErrorOut, IssueRequest, IssueResponse, StatusUpdate, StatusUpdateOut

__all__ = ["router"]

router = APIRouter(prefix="/credentials", tags=["W3C VC API"])


@router.post(
    "/issue",
    status_code=status.HTTP_201_CREATED,
    response_model=IssueResponse,
    summary="Issue a credential (VC API: IssueCredentialRequest → {verifiableCredential})",
    responses={400: {"model": ErrorOut}, 401: {"model": ErrorOut}, 403: {"model": ErrorOut}},
)
def issue(request: Request, body: IssueRequest, issuer: IssuerDep, actor: IssueActor) -> dict[str, Any]:
    method = request.app.state.settings.vc_api_issuer  # DID_AGENTS_VC_API_ISSUER
    result = core.issue_credential(issuer, body.credential, body.options, actor, issuer_did_method=method)
    return {"verifiableCredential": result.secured.document}


@router.post(
    "/status",
    response_model=StatusUpdateOut,
    summary="Update a credential's status (VC API: UpdateCredentialStatus)",
    responses={400: {"model": ErrorOut}, 401: {"model": ErrorOut}, 404: {"model": ErrorOut}},
)
def update_status(body: StatusUpdate, issuer: IssuerDep, actor: Admin) -> dict[str, Any]:
    credential_id, statuses = core.update_credential_status(issuer, body.model_dump(), actor)
    return {"credentialId": credential_id, "status": statuses}
