"""``POST /oauth/introspect``: RFC 7662 introspection, ``act`` included; callers must authenticate."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from did_agents.errors import MalformedError
from did_agents.exchange import introspect as core
from did_agents.exchange.request import parse_form
from verifier.deps import IntrospectionCaller, VerifierDep

__all__ = ["router"]

router = APIRouter(tags=["oauth"])


@router.post("/oauth/introspect", summary="RFC 7662 token introspection")
async def introspect(request: Request, verifier: VerifierDep, caller: IntrospectionCaller) -> JSONResponse:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        raise MalformedError(
            "the body must be application/x-www-form-urlencoded", reason="unsupported_media_type"
        )
    form = parse_form(await request.body())
    tokens = form.get("token", [])
    if len(tokens) != 1 or any(len(v) > 1 for v in form.values()):
        raise MalformedError("exactly one token parameter is required", reason="missing_parameter")
    body = await core(
        tokens[0],
        signer=verifier.exchange.signer,
        database=verifier.exchange.database,
        issuer=verifier.exchange.config.issuer,
        clock=verifier.clock,
    )
    return JSONResponse(body, headers={"Cache-Control": "no-store"})
