"""``GET /.well-known/jwks.json``: the access-token signing keys, retired ones included (rotation overlap)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from verifier.deps import VerifierDep

__all__ = ["router"]

router = APIRouter(tags=["metadata"])


@router.get("/.well-known/jwks.json", summary="RFC 7517 JWK Set of the access-token keys")
def jwks(verifier: VerifierDep) -> JSONResponse:
    return JSONResponse(
        verifier.exchange.signer.jwks(),
        media_type="application/jwk-set+json",
        headers={"Cache-Control": "public, max-age=60"},
    )
