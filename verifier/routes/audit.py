"""``POST /audit/events``: MCP servers append their tool-call decisions to the verifier's audit log.

The MCP kit's :class:`verifier.mcp.audit_hook.HTTPAuditSink` posts one
``mcp.tool_call`` event per authorization decision ("user X via agent chain Y
called tool Z: allowed/denied (reason)", DESIGN §7, §8). The event is appended
to the hash-chained audit log (:class:`did_agents.audit.AuditLog`).

Authentication is the operators' bearer token (RFC 6750 §2.1), checked with
:class:`did_agents.storage.operators.OperatorRepository` as everywhere else, and
the operator must hold the ``auditor`` role — the role the issuer's audit API
(``GET /audit/events``) already requires, and the one an MCP server's operator
token has for introspection; an admin token is refused, so resource servers are
never handed admin credentials. No credentials → 401 ``WWW-Authenticate: Bearer
realm=…`` (RFC 6750 §3.1: no error code); an unknown or revoked token → 401
``error="invalid_token"``; another role → 403 ``error="insufficient_scope"``.

The body is strict JSON (duplicate members, NaN… refused) validated by
:class:`ToolCallEventIn`: unknown members are refused, every field is bounded,
and no string may carry a compact JWS/JWE (SECURITY NEG-INV 3: tokens are
recorded as digests, never raw). The operator that reported the event is added
to ``details.reported_by``, so the trail says who vouched for it.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.concurrency import run_in_threadpool

from did_agents import strict_json
from did_agents.audit import AuditEvent, AuditLog, AuditRecord
from did_agents.errors import (
    InsufficientScopeError,
    InvalidTokenError,
    MalformedError,
    UnauthorizedError,
)
from did_agents.storage.operators import Operator, OperatorRepository
from verifier.deps import Verifier, VerifierDep

__all__ = ["EVENT_TYPE", "WRITER_ROLE", "ToolCallEventIn", "router"]

EVENT_TYPE: Final = "mcp.tool_call"
#: The operator role allowed to append events (module docstring).
WRITER_ROLE: Final = "auditor"
MAX_BODY: Final = 32 * 1024
_MAX_DID: Final = 2048
_MAX_ACTORS: Final = 8  # the verifier mints chains of at most 8 links
_MAX_SCOPES: Final = 64
# RFC 7515 §7.1 / RFC 7516 §7.1: a compact JWS or JWE starts with a base64url JSON header ("eyJ").
_COMPACT_JOSE: Final = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*\.")
_SLUG: Final = r"^[a-z0-9][a-z0-9_.:-]{0,63}$"
_SCOPE_PATTERN: Final = r"^[\x21\x23-\x5b\x5d-\x7e]{1,128}$"  # RFC 6749 §3.3

router = APIRouter(tags=["audit"])
_bearer = HTTPBearer(
    auto_error=False, description="An auditor operator token (`did-agents operator create`)."
)

Identifier = Annotated[str, Field(min_length=1, max_length=_MAX_DID)]
ScopeToken = Annotated[str, Field(pattern=_SCOPE_PATTERN)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class DelegationIn(_Strict):
    """The token's ``delegation`` claim: credential ids of the chain and its digest."""

    chain: Annotated[list[Identifier], Field(max_length=_MAX_ACTORS + 1)] = []
    digest: Annotated[str, Field(max_length=128)] | None = None


class DetailsIn(_Strict):
    scopes: Annotated[list[ScopeToken], Field(max_length=_MAX_SCOPES)] = []
    missing_scopes: Annotated[list[ScopeToken], Field(max_length=_MAX_SCOPES)] = []
    jti: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    delegation: DelegationIn | None = None


class ToolCallEventIn(_Strict):
    """One tool-call decision as an MCP server reports it."""

    type: Literal["mcp.tool_call"]
    decision: Literal["allowed", "denied"]
    reason: Annotated[str, Field(pattern=_SLUG)]
    subject: Identifier | None
    actors: Annotated[list[Identifier], Field(max_length=_MAX_ACTORS)]
    client_id: Identifier | None
    tool: Annotated[str, Field(min_length=1, max_length=128)]
    resource: Identifier
    details: DetailsIn = DetailsIn()

    @field_validator("subject", "client_id", "tool", "resource")
    @classmethod
    def _no_token(cls, value: str | None) -> str | None:
        _refuse_token(value)
        return value

    @field_validator("actors")
    @classmethod
    def _no_token_in_actors(cls, value: list[str]) -> list[str]:
        for actor in value:
            _refuse_token(actor)
        return value

    def event(self, reporter: Operator) -> AuditEvent:
        details: dict[str, Any] = self.details.model_dump(exclude_none=True, exclude_defaults=True)
        _refuse_token_anywhere(details)
        details["reported_by"] = f"operator:{reporter.name}"
        return AuditEvent(
            type=self.type,
            decision=self.decision,
            reason=self.reason,
            subject=self.subject,
            actors=tuple(self.actors),
            client_id=self.client_id,
            action=self.tool,
            resource=self.resource,
            details=details,
        )


def _refuse_token(value: str | None) -> None:
    if value is not None and _COMPACT_JOSE.search(value):
        raise ValueError("looks like a raw JWT/JWS; report a digest instead")


def _refuse_token_anywhere(value: Any) -> None:
    if isinstance(value, str):
        if _COMPACT_JOSE.search(value):
            raise MalformedError("the event holds what looks like a raw token", reason="raw_token")
    elif isinstance(value, dict):
        for item in value.values():
            _refuse_token_anywhere(item)
    elif isinstance(value, list):
        for item in value:
            _refuse_token_anywhere(item)


def authenticate_writer(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Operator:
    """The operator behind ``Authorization: Bearer``, holding :data:`WRITER_ROLE` (module docstring)."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise UnauthorizedError("an auditor operator token is required", reason="missing_token")
    verifier: Verifier = request.app.state.verifier
    try:
        with verifier.exchange.database.read() as conn:
            operator = OperatorRepository(conn).authenticate(credentials.credentials)
    except UnauthorizedError as exc:
        raise InvalidTokenError("invalid operator token", reason=exc.reason) from exc
    if operator.role != WRITER_ROLE:
        raise InsufficientScopeError(f"this needs the {WRITER_ROLE} role", reason="insufficient_role")
    return operator


Writer = Annotated[Operator, Depends(authenticate_writer)]


def _append(verifier: Verifier, event: AuditEvent) -> AuditRecord:
    with verifier.exchange.database.transaction() as conn:
        return AuditLog(conn, verifier.clock).append(event)


@router.post("/audit/events", status_code=201, summary="Append an MCP tool-call decision to the audit log")
async def append_event(request: Request, verifier: VerifierDep, writer: Writer) -> JSONResponse:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise MalformedError("the body must be application/json", reason="unsupported_media_type")
    raw = await request.body()
    try:
        document = strict_json.loads(raw, max_bytes=MAX_BODY)
        event = ToolCallEventIn.model_validate(document).event(writer)
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) or "body" for e in exc.errors()[:5])
        raise MalformedError(f"not a tool-call event ({fields})", reason="invalid_event") from exc
    except ValueError as exc:  # AuditEvent's own checks (DIDAgentsError is not a ValueError)
        raise MalformedError("not a valid audit event", reason="invalid_event") from exc
    stored = await run_in_threadpool(_append, verifier, event)
    return JSONResponse(
        {"seq": stored.seq, "hash": stored.hash}, status_code=201, headers={"Cache-Control": "no-store"}
    )
