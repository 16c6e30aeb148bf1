"""``POST /oauth/token``: the RFC 8693 token exchange (DESIGN §6). Form in, RFC 8693 §2.2.1 JSON out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from verifier.deps import VerifierDep

__all__ = ["router"]

router = APIRouter(tags=["oauth"])

#: RFC 6749 §5.1: token responses are not cached.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@router.post(
    "/oauth/token",
    summary="RFC 8693 token exchange: a Verifiable Presentation (and actor token) for an access token",
    openapi_extra={
        "requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": {"type": "object"}}}}
    },
)
async def token(request: Request, verifier: VerifierDep) -> JSONResponse:
    body = await request.body()
    response = await verifier.exchange.exchange(body, content_type=request.headers.get("content-type"))
    return JSONResponse(response.to_json(), headers=NO_STORE)
