"""``POST /challenges``: a single-use, expiring challenge for presentation proofs (DESIGN §6)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from did_agents.clock import format_datetime
from verifier.deps import VerifierDep

__all__ = ["router"]

router = APIRouter(tags=["challenges"])


@router.post("/challenges", status_code=201, summary="A single-use challenge bound to this verifier's domain")
async def issue_challenge(verifier: VerifierDep) -> JSONResponse:
    challenge = await verifier.exchange.issue_challenge()
    body = {
        "challenge": challenge.nonce,
        "domain": challenge.domain,
        "expires": format_datetime(challenge.expires_at),
    }
    return JSONResponse(body, status_code=201, headers={"Cache-Control": "no-store"})
