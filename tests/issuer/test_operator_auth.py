"""Every mutating issuer route requires the operator's credentials (issue 3; RFC 6750 §3, §3.1).

The routes are read from the app itself (every method other than GET/HEAD), so a new
mutating route without authentication fails here. Each is called with a body that an
admin's request could act on, against an existing agent and user, so a missing check
would show up as a write.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest
from pydantic import SecretStr

from did_agents.did import key as did_key
from did_agents.issuance.context import Issuer
from did_agents.keys import generate
from did_agents.keystore import RawKey
from issuer.app import create_app
from issuer.settings import IssuerSettings
from tests.issuer.conftest import BASE_URL, CAPS, ORG_DID, Harness

_READ_ONLY = {"GET", "HEAD"}


def _mutating_routes() -> list[tuple[str, str]]:
    """(method, path template) of every non-GET/HEAD route of the issuer app."""
    settings = IssuerSettings(
        base_url=BASE_URL,
        data_dir=Path("/nonexistent"),
        keystore_key=SecretStr(RawKey.generate().to_base64url()),
    )
    # The routes do not depend on the issuer; a placeholder keeps create_app from opening storage.
    app = create_app(settings, issuer=cast(Issuer, object()))
    found: set[tuple[str, str]] = set()
    for route in app.routes:
        # FastAPI ≥ 0.160 keeps an included router as one entry and exposes its routes (with
        # the include prefix applied) through ``effective_route_contexts``; older versions
        # copy each APIRoute into ``app.routes``.
        expand = getattr(route, "effective_route_contexts", None)
        for effective in expand() if expand is not None else [route]:
            path, methods = getattr(effective, "path", None), getattr(effective, "methods", None)
            if isinstance(path, str) and methods:
                found.update((method, path) for method in methods if method not in _READ_ONLY)
    return sorted(found, key=lambda r: (r[1], r[0]))


MUTATING = _mutating_routes()


def test_the_route_list_covers_the_known_mutating_endpoints() -> None:
    """Guards the derivation above: it must find at least the audited endpoints."""
    assert {
        ("POST", "/agents"),
        ("POST", "/agents/challenges"),
        ("PATCH", "/agents/{agent_id}"),
        ("DELETE", "/agents/{agent_id}"),
        ("POST", "/agents/{agent_id}/suspend"),
        ("POST", "/agents/{agent_id}/resume"),
        ("PUT", "/agents/{agent_id}/keys"),
        ("POST", "/users"),
        ("PATCH", "/users/{did}"),
        ("DELETE", "/users/{did}"),
        ("POST", "/credentials/issue"),
        ("POST", "/credentials/status"),
    } <= set(MUTATING)


def _body(method: str, path: str, agent: dict[str, Any]) -> Any:
    """A body an admin's request could act on (``{}`` for a route this test does not know)."""
    key = generate()
    bodies: dict[tuple[str, str], Any] = {
        ("POST", "/agents"): {
            "mode": "generate",
            "name": "x",
            "owner": "mailto:a@b.example",
            "kind": "delegated",
            "capabilities": CAPS,
        },
        ("POST", "/agents/challenges"): {},
        ("PATCH", "/agents/{agent_id}"): {"name": "renamed", "version": "9.9"},
        ("PUT", "/agents/{agent_id}/keys"): {
            "publicKeyMultibase": key.public_key.to_multikey(),
            "proof": "x.y.z",
            "newKeyProof": "x.y.z",
        },
        ("POST", "/users"): {"did": did_key.create(generate().public_key), "roles": ["staff"]},
        ("PATCH", "/users/{did}"): {"roles": ["staff"], "format": "eddsa-jcs-2022"},
        ("POST", "/credentials/issue"): {
            "credential": {
                "@context": ["https://www.w3.org/ns/credentials/v2"],
                "type": ["VerifiableCredential"],
                "issuer": ORG_DID,
                "credentialSubject": {"id": "did:example:alice"},
            }
        },
        ("POST", "/credentials/status"): {
            "credentialId": agent["credential_id"],
            "credentialStatus": [{"type": "BitstringStatusListCredential", "status": "revoked"}],
        },
    }
    return bodies.get((method, path), None if method == "DELETE" else {})


def _url(path: str, agent: dict[str, Any], user: str) -> str:
    return path.replace("{agent_id}", agent["id"]).replace("{did}", user)


@pytest.mark.parametrize(
    ("credential", "status", "reason"),
    [("none", 401, "missing_token"), ("auditor", 403, "insufficient_role")],
)
@pytest.mark.parametrize(("method", "path"), MUTATING, ids=[f"{m} {p}" for m, p in MUTATING])
def test_mutating_route_requires_an_admin_and_writes_only_an_audit_event(
    harness: Harness, method: str, path: str, credential: str, status: int, reason: str
) -> None:
    agent = harness.onboard()
    user = did_key.create(generate().public_key)
    created = harness.client.post("/users", json={"did": user, "roles": ["staff"]}, headers=harness.admin)
    assert created.status_code == 201, created.text

    body = _body(method, path, agent)
    headers = harness.auditor if credential == "auditor" else {}
    before = harness.db.row_counts()
    response = harness.client.request(method, _url(path, agent, user), json=body, headers=headers)
    after = harness.db.row_counts()

    assert response.status_code == status, response.text
    challenge = response.headers["www-authenticate"]
    if status == 401:
        # RFC 6750 §3.1: no error code when the request carried no credentials.
        assert challenge == 'Bearer realm="did-agents"'
        assert response.json()["error"] == "unauthorized"
    else:
        assert challenge == 'Bearer realm="did-agents", error="insufficient_scope"'
        assert response.json()["error"] == "forbidden"
    assert after == {**before, "audit_events": before["audit_events"] + 1}
    events = harness.client.get("/audit/events", params={"limit": 1000}, headers=harness.auditor).json()[
        "items"
    ]
    last = events[-1]
    assert (last["decision"], last["reason"]) == ("denied", reason)
