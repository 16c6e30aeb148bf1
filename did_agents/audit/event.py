"""Audit events and how they are hashed into a chain (DESIGN §8).

An event says who (``subject``: the user DID; ``actors``: the agent chain,
outermost/most recent actor first, as in RFC 8693 §4.1 ``act``), did what
(``type``, ``action``, ``resource``), whether it was allowed (``decision`` and a
machine ``reason`` slug), and ``details`` — digests and identifiers only,
never raw tokens, presentations or key material (SECURITY NEG-INV 3).

Each stored event links to the one before it::

    hash = hex(SHA-256(JCS({"seq", "time", "type", "subject", "actors",
                            "client_id", "action", "resource", "decision",
                            "reason", "details", "prev_hash"})))

with JCS = RFC 8785 canonical JSON, ``time`` as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``
(UTC, microseconds — what both databases store exactly), and ``prev_hash`` of
the first event = 64 zeros. Changing, removing, inserting or reordering any
stored event changes a hash that a later event (or the chain head) pins.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal

from did_agents import jcs
from did_agents.errors import MalformedError

__all__ = [
    "GENESIS_HASH",
    "AuditEvent",
    "AuditRecord",
    "Decision",
    "canonical_json",
    "digest",
    "event_hash",
    "format_time",
    "hashed_form",
]

Decision = Literal["allowed", "denied", "info"]

GENESIS_HASH: Final = "0" * 64
_MAX_DETAILS_BYTES: Final = 64 * 1024
_TYPE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
_REASON = re.compile(r"[a-z0-9][a-z0-9_.:-]{0,63}")
# A compact JWS/JWE (RFC 7515 §7.1, RFC 7516 §7.1): a JSON header "eyJ..." then dots.
_COMPACT_JOSE = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_.-]*")
# Member names that by their meaning carry secrets; record a digest under another name.
_SECRET_NAMES: Final = frozenset(
    {
        "access_token",
        "actor_token",
        "subject_token",
        "refresh_token",
        "id_token",
        "password",
        "passphrase",
        "private_key",
        "secret",
    }
)


def digest(data: str | bytes) -> str:
    """``sha256-<base64>`` (the W3C SRI form DESIGN uses) of a token or document,
    for ``details`` instead of the raw value."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return "sha256-" + base64.b64encode(hashlib.sha256(raw).digest()).decode("ascii")


def format_time(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_json(value: Any) -> str:
    """RFC 8785 text of ``value`` (how ``actors`` and ``details`` are stored)."""
    return jcs.canonicalize(value).decode("utf-8")


def _refuse_secrets(value: Any, path: str = "details") -> None:
    if isinstance(value, Mapping):
        if "kty" in value and "d" in value:
            raise ValueError(f"{path} holds a private JWK; record its thumbprint instead")
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{path} has a non-string member name")
            if key.lower() in _SECRET_NAMES:
                raise ValueError(f"{path}.{key} would record a secret; record a digest instead")
            _refuse_secrets(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _refuse_secrets(item, f"{path}[{i}]")
    elif isinstance(value, str) and _COMPACT_JOSE.fullmatch(value):
        raise ValueError(f"{path} holds a raw JWT/JWS; record digest(token) instead")


@dataclass(frozen=True)
class AuditEvent:
    """What happened. ``type`` is dotted lower case (``token_exchange.denied``)."""

    type: str
    decision: Decision
    reason: str | None = None
    subject: str | None = None
    actors: Sequence[str] = ()
    client_id: str | None = None
    action: str | None = None
    resource: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.type, str) or not _TYPE.fullmatch(self.type) or len(self.type) > 64:
            raise ValueError("audit event type must look like 'area.verb' (lower case, dotted)")
        if self.decision not in ("allowed", "denied", "info"):
            raise ValueError("audit decision must be allowed, denied or info")
        if self.reason is not None and not _REASON.fullmatch(self.reason):
            raise ValueError("audit reason must be a short machine slug")
        if isinstance(self.actors, str) or not all(isinstance(a, str) for a in self.actors):
            raise ValueError("audit actors must be a sequence of DIDs")
        if not isinstance(self.details, Mapping):
            raise ValueError("audit details must be a JSON object")
        _refuse_secrets(self.details)
        object.__setattr__(self, "actors", tuple(self.actors))
        try:
            encoded = canonical_json(dict(self.details))
        except MalformedError as exc:
            raise ValueError(f"audit details are not canonical JSON: {exc.description}") from exc
        if len(encoded) > _MAX_DETAILS_BYTES:
            raise ValueError("audit details too large")


@dataclass(frozen=True)
class AuditRecord:
    """A stored event: the event, its place in the chain and its hash."""

    seq: int
    time: datetime
    event: AuditEvent
    prev_hash: str
    hash: str


def hashed_form(seq: int, time: datetime, event: AuditEvent, prev_hash: str) -> dict[str, Any]:
    return {
        "seq": seq,
        "time": format_time(time),
        "type": event.type,
        "subject": event.subject,
        "actors": list(event.actors),
        "client_id": event.client_id,
        "action": event.action,
        "resource": event.resource,
        "decision": event.decision,
        "reason": event.reason,
        "details": dict(event.details),
        "prev_hash": prev_hash,
    }


def event_hash(seq: int, time: datetime, event: AuditEvent, prev_hash: str) -> str:
    """The chain hash of an event at ``seq`` following ``prev_hash`` (see module doc)."""
    return hashlib.sha256(jcs.canonicalize(hashed_form(seq, time, event, prev_hash))).hexdigest()
