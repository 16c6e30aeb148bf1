"""Agent registry: metadata recorded and carried in the credential, and listing by filter
(issue 3 "Registration records metadata", "list (paginated, filter by owner/status/capability)";
DESIGN §4 AgentCapabilityCredential claims)."""

from __future__ import annotations

from typing import Any

from tests.issuer.conftest import Harness

ORDERS = "https://mcp.urbanbites.example/mcp"
MENU = "https://menu.urbanbites.example/mcp"

METADATA: dict[str, Any] = {
    "name": "ordering agent",
    "description": "Places orders for the kitchen",
    "owner": "mailto:kitchen@urbanbites.example",
    "kind": "autonomous",
    "model": "gpt-large-2026",
    "version": "1.4.2",
    "labels": {"team": "kitchen", "tier": "gold"},
}


def _subject_claims(metadata: dict[str, Any]) -> dict[str, Any]:
    """DESIGN §4: name, description, owner, agentKind, optional model / version."""
    return {
        "name": metadata["name"],
        "description": metadata["description"],
        "owner": metadata["owner"],
        "agentKind": metadata["kind"],
        "model": metadata["model"],
        "version": metadata["version"],
    }


def _get(h: Harness, agent_id: str) -> dict[str, Any]:
    response = h.client.get(f"/agents/{agent_id}", headers=h.admin)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_metadata_is_recorded_and_carried_in_the_capability_credential(harness: Harness) -> None:
    agent = harness.onboard(**METADATA)
    stored = _get(harness, agent["id"])
    assert {k: stored[k] for k in METADATA} == METADATA
    for document in (agent["credential"], stored["credential"]):
        subject = document["credentialSubject"]
        assert {k: subject.get(k) for k in _subject_claims(METADATA)} == _subject_claims(METADATA)
        assert subject["id"] == agent["did"]


def test_patching_metadata_changes_the_record_and_the_new_credential(harness: Harness) -> None:
    agent = harness.onboard(**METADATA)
    changed = {
        "name": "ordering agent v2",
        "description": "Places and tracks orders",
        "owner": "mailto:ops@urbanbites.example",
        "kind": "delegated",
        "model": "gpt-small-2027",
        "version": "2.0.0",
        "labels": {"team": "ops"},
    }
    response = harness.client.patch(f"/agents/{agent['id']}", json=changed, headers=harness.admin)
    assert response.status_code == 200, response.text
    assert response.json()["credential_id"] != agent["credential_id"]
    stored = _get(harness, agent["id"])
    assert {k: stored[k] for k in changed} == changed
    assert stored["credential_id"] == response.json()["credential_id"]
    subject = stored["credential"]["credentialSubject"]
    assert {k: subject.get(k) for k in _subject_claims(changed)} == _subject_claims(changed)


def _list(h: Harness, **params: Any) -> dict[str, Any]:
    response = h.client.get("/agents", params=params, headers=h.admin)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _names(h: Harness, **params: Any) -> list[str]:
    return [a["name"] for a in _list(h, limit=500, **params)["items"]]


def test_filter_by_capability_matches_a_scope_or_a_resource(harness: Harness) -> None:
    harness.onboard(name="orders", capabilities=[{"resource": ORDERS, "scopes": ["orders:read"]}])
    harness.clock.advance(1)  # "oldest first": distinct creation times
    harness.onboard(name="menu", capabilities=[{"resource": MENU, "scopes": ["menu:read"]}])
    assert _names(harness, capability="orders:read") == ["orders"]
    assert _names(harness, capability="menu:read") == ["menu"]
    assert _names(harness, capability=ORDERS) == ["orders"]
    assert _names(harness, capability=MENU) == ["menu"]
    assert _names(harness, capability="orders:create") == []
    assert _names(harness, capability="https://mcp.urbanbites.example/") == []  # exact resource, not a prefix
    assert _names(harness) == ["orders", "menu"]


def test_filtered_pages_hold_exactly_the_matches_in_order(harness: Harness) -> None:
    """Offsets count matching agents; every match shows up once across the pages."""
    expected = []
    for i in range(7):
        harness.clock.advance(1)  # "oldest first": distinct creation times
        on_orders = i % 3 != 1
        harness.onboard(
            name=f"agent {i}",
            owner="mailto:a@team.example" if i % 2 == 0 else "mailto:b@team.example",
            capabilities=[{"resource": ORDERS, "scopes": ["orders:read"]}]
            if on_orders
            else [{"resource": MENU, "scopes": ["menu:read"]}],
        )
        if on_orders and i % 2 == 0:
            expected.append(f"agent {i}")
    assert expected == ["agent 0", "agent 2", "agent 6"]
    filters = {"capability": ORDERS, "owner": "mailto:a@team.example"}
    seen: list[str] = []
    offset: int | None = 0
    pages = 0
    while offset is not None:
        page = _list(harness, limit=2, offset=offset, **filters)
        assert page["offset"] == offset and page["limit"] == 2
        seen.extend(a["name"] for a in page["items"])
        offset = page["next_offset"]
        pages += 1
    assert seen == expected and pages == 2
    assert _list(harness, limit=3, **filters)["next_offset"] is None  # exactly one full page
    assert _list(harness, limit=2, offset=3, **filters)["items"] == []


def test_the_largest_page_size_is_accepted(harness: Harness) -> None:
    """``limit=500`` is the documented maximum; the route asks the core for one more row to
    know whether a next page exists, which the core must accept."""
    harness.onboard()
    page = _list(harness, limit=500, capability="orders:read")
    assert len(page["items"]) == 1 and page["next_offset"] is None
    assert harness.client.get("/agents", params={"limit": 501}, headers=harness.admin).status_code == 400
