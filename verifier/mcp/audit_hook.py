"""The audit hook of the MCP kit: every tool call becomes one audit event (DESIGN §7, §8).

"user X via agent chain Y called tool Z: allowed/denied (reason)" is an
``AuditEvent`` of type ``mcp.tool_call`` with ``subject`` = the token's ``sub``,
``actors`` = the ``act`` chain (current actor first, RFC 8693 §4.1),
``client_id``, ``action`` = the tool name, ``resource`` = the MCP server,
``decision`` and ``reason``; ``details`` hold the token's ``jti``, its scopes,
the missing scopes and the delegation-chain reference — never the token itself.

Sinks: :class:`DatabaseAuditSink` appends to a local hash-chained audit log
(``did_agents.audit``); :class:`HTTPAuditSink` posts to the verifier's audit
endpoint with an operator bearer token; :class:`MemoryAuditSink` keeps events
in memory (tests, benchmarks).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import anyio
import httpx
from mcp.server.auth.provider import AccessToken

from did_agents.audit.event import AuditEvent
from did_agents.audit.log import record as record_event
from did_agents.clock import Clock, SystemClock
from did_agents.storage.database import Database
from verifier.mcp.token_verifier import actors_of

__all__ = [
    "EVENT_TYPE",
    "AuditHook",
    "AuditSink",
    "DatabaseAuditSink",
    "HTTPAuditSink",
    "MemoryAuditSink",
    "ToolCall",
    "describe",
    "tool_call_event",
    "wire_event",
]

logger = logging.getLogger(__name__)

EVENT_TYPE: Final = "mcp.tool_call"
_MAX_ACTION: Final = 128


@dataclass(frozen=True)
class ToolCall:
    """One authorization decision on a ``tools/call``."""

    tool: str
    resource: str
    access_token: AccessToken | None
    allowed: bool
    reason: str
    missing: tuple[str, ...] = ()


def _reason_slug(reason: str) -> str:
    slug = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "_.:-") else "_" for ch in reason.lower())
    return slug[:64] or "unknown"


def tool_call_event(call: ToolCall) -> AuditEvent:
    """The audit event for ``call`` (module docstring)."""
    token = call.access_token
    claims: Mapping[str, Any] = (token.claims or {}) if token is not None else {}
    details: dict[str, Any] = {}
    if token is not None:
        details["scopes"] = list(token.scopes)
        if isinstance(claims.get("jti"), str):
            details["jti"] = claims["jti"]
        delegation = claims.get("delegation")
        if isinstance(delegation, Mapping):
            details["delegation"] = {k: v for k, v in delegation.items() if k in ("chain", "digest")}
    if call.missing:
        details["missing_scopes"] = list(call.missing)
    # Tool names come from the caller: keep them printable and short.
    action = "".join(ch if ch.isprintable() else "?" for ch in call.tool)[:_MAX_ACTION]
    return AuditEvent(
        type=EVENT_TYPE,
        decision="allowed" if call.allowed else "denied",
        reason=_reason_slug(call.reason),
        subject=token.subject if token is not None else None,
        actors=actors_of(claims),
        client_id=token.client_id if token is not None else None,
        action=action,
        resource=call.resource,
        details=details,
    )


def describe(event: AuditEvent) -> str:
    """``user X via agent chain Y called tool Z: allowed/denied (reason)``."""
    who = event.subject or "an unauthenticated caller"
    via = f" via {' <- '.join(event.actors)}" if event.actors else ""
    return f"{who}{via} called tool {event.action}: {event.decision} ({event.reason})"


class AuditSink(Protocol):
    async def write(self, event: AuditEvent) -> None: ...


@dataclass
class MemoryAuditSink:
    events: list[AuditEvent] = field(default_factory=list)

    async def write(self, event: AuditEvent) -> None:
        self.events.append(event)


@dataclass
class DatabaseAuditSink:
    """Append to the hash-chained audit log in ``database`` (a worker thread: storage is synchronous)."""

    database: Database
    clock: Clock = field(default_factory=SystemClock)

    async def write(self, event: AuditEvent) -> None:
        await anyio.to_thread.run_sync(record_event, self.database, self.clock, event)


def wire_event(event: AuditEvent) -> dict[str, Any]:
    """The JSON body of ``POST /audit/events`` (``verifier.routes.audit.ToolCallEventIn``)."""
    return {
        "type": event.type,
        "decision": event.decision,
        "reason": event.reason,
        "subject": event.subject,
        "actors": list(event.actors),
        "client_id": event.client_id,
        "tool": event.action,
        "resource": event.resource,
        "details": dict(event.details),
    }


@dataclass
class HTTPAuditSink:
    """``POST {url}`` (the verifier's ``/audit/events``) the event as JSON with
    ``Authorization: Bearer <token>``, an ``auditor`` operator token. A refusal raises
    (``httpx.HTTPStatusError``): with a strict :class:`AuditHook` the call is not served."""

    url: str
    token: str = field(repr=False)
    client: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=5.0))

    async def write(self, event: AuditEvent) -> None:
        response = await self.client.post(
            self.url, json=wire_event(event), headers={"Authorization": f"Bearer {self.token}"}
        )
        response.raise_for_status()


@dataclass
class AuditHook:
    """Turns tool-call decisions into events and writes them to ``sink``.

    ``strict`` (default) lets a failing sink fail the request (no unaudited call);
    with ``strict=False`` a sink failure is logged and the call proceeds.
    """

    sink: AuditSink
    strict: bool = True

    async def record(self, call: ToolCall) -> AuditEvent:
        event = tool_call_event(call)
        try:
            await self.sink.write(event)
        except Exception:
            if self.strict:
                raise
            logger.exception("audit sink failed for %s", describe(event))
        return event
