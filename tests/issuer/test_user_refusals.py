"""Refused user registrations write nothing but their audit event (issue 3 "Bad input";
SECURITY NEG-INV 2)."""

from __future__ import annotations

from typing import Any

from did_agents.did import key as did_key
from did_agents.keys import generate
from tests.issuer.conftest import Harness


def _refused(h: Harness, body: dict[str, Any], status: int, reason: str) -> None:
    before = h.db.row_counts()
    response = h.client.post("/users", json=body, headers=h.admin)
    assert response.status_code == status, response.text
    assert h.db.row_counts() == {**before, "audit_events": before["audit_events"] + 1}
    last = h.client.get("/audit/events", params={"limit": 1000}, headers=h.auditor).json()["items"][-1]
    assert (last["decision"], last["reason"]) == ("denied", reason)
    assert response.json()["error_description"]


def test_unknown_role_for_a_valid_did_is_400_unknown_role(harness: Harness) -> None:
    user = did_key.create(generate().public_key)  # a valid did:key, so the role check is reached
    _refused(harness, {"did": user, "roles": ["staff", "chef"]}, 400, "unknown_role")
    assert harness.client.get(f"/users/{user}", headers=harness.admin).status_code == 404


def test_duplicate_user_is_409_user_exists(harness: Harness) -> None:
    user = did_key.create(generate().public_key)
    assert (
        harness.client.post(
            "/users", json={"did": user, "roles": ["staff"]}, headers=harness.admin
        ).status_code
        == 201
    )
    _refused(harness, {"did": user, "roles": ["staff"]}, 409, "user_exists")
