"""Requests refused before they reach a route (media type, malformed or too deep JSON, too large
a body, no such endpoint or method) are audited like every other refusal: one ``request.refused``
event with the reason, nothing else written (SECURITY NEG-INV 2-3)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.issuer.conftest import Harness
from tests.issuer.test_routes import _refused_without_writes

DEEP = json.dumps(json.loads("[" * 40 + "]" * 40)).encode()


@pytest.mark.parametrize(
    ("method", "url", "status", "reason", "request_options"),
    [
        (
            "POST",
            "/agents",
            415,
            "unsupported_media_type",
            {"content": b"name=x", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
        ),
        (
            "POST",
            "/agents",
            400,
            "duplicate_member",
            {"content": b'{"name": "a", "name": "b"}', "headers": {"Content-Type": "application/json"}},
        ),
        (
            "POST",
            "/agents",
            400,
            "malformed",
            {"content": b"{not json", "headers": {"Content-Type": "application/json"}},
        ),
        (
            "POST",
            "/agents",
            413,
            "too_large",  # strict_json: nested deeper than the limit
            {"content": DEEP, "headers": {"Content-Type": "application/json"}},
        ),
        (
            "POST",
            "/agents",
            413,
            "too_large",
            {"content": b"{" + b" " * (256 * 1024) + b"}", "headers": {"Content-Type": "application/json"}},
        ),
        ("GET", "/no-such-endpoint", 404, "unknown_endpoint", {}),
        ("DELETE", "/.well-known/did.json", 405, "method_not_allowed", {}),
    ],
)
def test_refused_before_routing_is_audited_once(
    harness: Harness, method: str, url: str, status: int, reason: str, request_options: dict[str, Any]
) -> None:
    options = dict(request_options)
    options["headers"] = {**harness.admin, **options.get("headers", {})}
    body = _refused_without_writes(harness, method, url, status, reason, **options)
    assert body["error"] in ("invalid_request", "not_found")


def test_refused_before_routing_event_names_the_request_and_no_operator(harness: Harness) -> None:
    harness.client.post("/agents", content=b"x=1", headers={**harness.admin, "Content-Type": "text/plain"})
    events = harness.client.get("/audit/events", params={"limit": 1000}, headers=harness.auditor).json()[
        "items"
    ]
    event = events[-1]
    assert (event["type"], event["decision"], event["action"]) == (
        "request.refused",
        "denied",
        "POST /agents",
    )
    assert event["details"]["status"] == 415
    assert harness.admin["Authorization"].split()[1] not in json.dumps(events)  # never the token
