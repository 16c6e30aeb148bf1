"""W3C VC API verification: ``POST /credentials/verify`` and ``POST /presentations/verify``.

Body ``{"verifiableCredential" | "verifiablePresentation": …, "options": {…}}``.
200 with ``{"verified": true, "checks", "warnings", "errors"}`` when valid.
A credential that does not verify is answered 400 with ``"verified": false``
and the problems (VC API ``verifier.yml``: ``/credentials/verify`` defines only
200 and 400; the W3C suites — vc-api-verifier, Bitstring Status List — expect
400). A presentation that does not verify is 422; a malformed request is 400.
A presentation's ``options.challenge`` issued by this verifier (``POST
/challenges``) is spent once its holder proof verifies, so it answers once;
any other challenge is the caller's and is verified without being recorded.
Status lists are checked (fail closed) through the verifier's cache.

Credential options (VC API ``VerifyCredentialOptions``, as the W3C suites send
them): ``checks`` (a list of check names; every check always runs),
``expectedProofPurpose``, ``challenge`` and ``domain`` (VC-DATA-INTEGRITY
§4.4 "Verify Proof": a mismatch is an error).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from did_agents import strict_json
from did_agents.credentials.verify import Problem, VerificationResult, verify_credential
from did_agents.errors import MalformedError, UnsupportedMediaTypeError
from verifier.deps import VerifierDep

__all__ = ["router"]

router = APIRouter(tags=["W3C VC API"])

_MAX_OPTION_LENGTH = 1024


async def _json_body(request: Request, member: str, options: tuple[str, ...]) -> tuple[Any, dict[str, str]]:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise UnsupportedMediaTypeError("the body must be application/json")
    body = strict_json.loads(await request.body())
    if not isinstance(body, dict) or member not in body:
        raise MalformedError(f"the body must be an object with {member}", reason="invalid_request")
    unknown = set(body) - {member, "options"}
    if unknown:
        raise MalformedError(f"unknown member {sorted(unknown)[0]!r}", reason="invalid_request")
    raw_options = body.get("options", {})
    if not isinstance(raw_options, Mapping):
        raise MalformedError("options must be an object", reason="invalid_request")
    picked: dict[str, str] = {}
    for name, value in raw_options.items():
        if name == "checks":
            # VC API VerifyCredentialOptions.checks: accepted, but every check always runs.
            if not isinstance(value, list) or not all(isinstance(c, str) and len(c) <= 64 for c in value):
                raise MalformedError("options.checks must be a list of strings", reason="invalid_request")
            continue
        if name not in options:
            raise MalformedError(f"unsupported option {str(name)[:40]!r}", reason="invalid_request")
        if not isinstance(value, str) or not value or len(value) > _MAX_OPTION_LENGTH:
            raise MalformedError(f"option {name} must be a non-empty string", reason="invalid_request")
        picked[name] = value
    value = body[member]
    if not isinstance(value, (dict, str)):
        raise MalformedError(f"{member} must be an object or a compact JWT", reason="invalid_request")
    return value, picked


def _option_problems(credential: object, options: Mapping[str, str]) -> list[Problem]:
    """VC-DATA-INTEGRITY §4.4 "Verify Proof" steps on the request's options.

    Credentials are verified with proof purpose ``assertionMethod`` (VCDM 2.0
    §4.12: the issuer asserts the claims), so any other expected purpose cannot
    be met; ``challenge`` / ``domain``, when given, must equal the proof's.
    """
    problems: list[Problem] = []
    expected = options.get("expectedProofPurpose")
    if expected is not None and expected != "assertionMethod":
        problems.append(
            Problem("wrong_purpose", f"credentials are verified for assertionMethod, not {expected}")
        )
    if not ("challenge" in options or "domain" in options):
        return problems
    proofs = credential.get("proof") if isinstance(credential, Mapping) else None
    proof = proofs if isinstance(proofs, Mapping) else {}
    if "challenge" in options and proof.get("challenge") != options["challenge"]:
        problems.append(Problem("challenge_mismatch", "proof.challenge does not match options.challenge"))
    if "domain" in options:
        domain = proof.get("domain")
        domains = domain if isinstance(domain, list) else [domain]
        if options["domain"] not in domains:
            problems.append(Problem("domain_mismatch", "proof.domain does not match options.domain"))
    return problems


def _render(result: VerificationResult, checks: list[str], *, failure_status: int = 422) -> JSONResponse:
    body = {
        "verified": result.verified,
        "checks": checks if result.verified else [],
        "warnings": [],
        "errors": [f"{p.code}: {p.message}" for p in result.problems],
        "problems": [p.to_json() for p in result.problems],
        "credentials": [
            {"verified": c.verified, "problems": [p.to_json() for p in c.problems]}
            for c in result.credentials
        ],
    }
    return JSONResponse(
        body, status_code=200 if result.verified else failure_status, headers={"Cache-Control": "no-store"}
    )


@router.post("/credentials/verify", summary="Verify a credential (VC API VerifyCredential)")
async def verify_credential_route(request: Request, verifier: VerifierDep) -> JSONResponse:
    credential, options = await _json_body(
        request, "verifiableCredential", ("expectedProofPurpose", "challenge", "domain")
    )
    result = await verify_credential(
        credential, resolver=verifier.resolver, clock=verifier.clock, status_resolver=verifier.status_source
    )
    extra = _option_problems(credential, options)
    if extra:
        result = replace(result, verified=False, problems=(*result.problems, *extra))
    return _render(result, ["proof", "validity", "status"], failure_status=400)


@router.post("/presentations/verify", summary="Verify a presentation (VC API VerifyPresentation)")
async def verify_presentation_route(request: Request, verifier: VerifierDep) -> JSONResponse:
    presentation, options = await _json_body(request, "verifiablePresentation", ("challenge", "domain"))
    if "challenge" not in options:
        raise MalformedError("options.challenge is required", reason="invalid_request")
    # A challenge from our POST /challenges is single use; the caller's own is not recorded.
    result = await verifier.exchange.verify_presentation_once(
        presentation,
        challenge=options["challenge"],
        domain=options.get("domain", verifier.exchange.config.domain),
        status_resolver=verifier.status_source,
    )
    return _render(result, ["proof", "challenge", "domain", "credentials"])
