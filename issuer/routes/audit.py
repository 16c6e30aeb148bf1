"""``GET /audit/events`` and ``GET /audit/verify``: the hash-chained audit log (auditors only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from did_agents.audit.event import format_time
from did_agents.issuance.audit import list_events, verify_chain
from issuer.deps import Auditor, IssuerDep
from issuer.models import AuditChainCheck, AuditEventList, ErrorOut

__all__ = ["router"]

router = APIRouter(
    prefix="/audit", tags=["audit"], responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}}
)


@router.get("/events", response_model=AuditEventList, summary="Audit events in chain order")
def events(
    issuer: IssuerDep,
    actor: Auditor,
    type: Annotated[str | None, Query(max_length=64, description="Type prefix, e.g. `agent.`")] = None,
    subject: Annotated[str | None, Query(max_length=2048)] = None,
    decision: Annotated[str | None, Query(pattern="^(allowed|denied|info)$")] = None,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    with issuer.database.read() as conn:
        records = list_events(
            conn, type_prefix=type, subject=subject, decision=decision, after_seq=after, limit=limit
        )
    return {
        "items": [
            {
                "seq": r.seq,
                "time": format_time(r.time),
                "type": r.event.type,
                "decision": r.event.decision,
                "reason": r.event.reason,
                "subject": r.event.subject,
                "actors": list(r.event.actors),
                "client_id": r.event.client_id,
                "action": r.event.action,
                "resource": r.event.resource,
                "details": dict(r.event.details),
                "hash": r.hash,
            }
            for r in records
        ],
        "next_after": records[-1].seq if len(records) == limit else None,
    }


@router.get("/verify", response_model=AuditChainCheck, summary="Recompute the hash chain")
def verify(issuer: IssuerDep, actor: Auditor) -> dict[str, Any]:
    with issuer.database.read() as conn:
        check = verify_chain(conn)
    return {"ok": check.ok, "events": check.events, "broken_at": check.broken_at, "problem": check.problem}
