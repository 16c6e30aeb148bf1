"""NEG-INV checks against the issuer service (in-process ASGI harness of tests/issuer)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.issuer.conftest import Harness

__all__ = ["audit_events", "counts", "refused_without_writes"]


def counts(h: Harness) -> dict[str, int]:
    """Row counts of every table but the audit log (NEG-INV 2)."""
    rows = h.db.row_counts()
    rows.pop("audit_events")
    rows.pop("audit_chain_head")
    return rows


def audit_events(h: Harness) -> list[dict[str, Any]]:
    response = h.client.get("/audit/events", params={"limit": 1000}, headers=h.auditor)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def refused_without_writes(
    h: Harness,
    method: str,
    url: str,
    status: int,
    *,
    error: str,
    reason: str | None = None,
    audited: bool = True,
    **kwargs: Any,
) -> httpx.Response:
    """NEG-INV 1-3, 5: ``status`` + ``error``, no-store, no stack trace, no row written but
    (when ``audited``) exactly one ``denied`` audit event with ``reason``."""
    before = counts(h)
    events_before = audit_events(h)
    response = h.client.request(method, url, **kwargs)
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "error_description"}, body
    assert body["error"] == error, body
    assert "Traceback" not in response.text
    assert response.headers["cache-control"] == "no-store"
    assert counts(h) == before
    events = audit_events(h)
    if audited:
        assert len(events) == len(events_before) + 1, events[len(events_before) :]
        assert events[-1]["decision"] == "denied"
        if reason is not None:
            assert events[-1]["reason"] == reason, events[-1]
    else:
        assert len(events) == len(events_before)
    return response
