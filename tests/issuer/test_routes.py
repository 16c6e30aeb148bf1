"""Route-level tests of the issuer (in-process ``httpx.ASGITransport``), on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import anyio
import pytest

from did_agents.credentials.verify import verify_credential
from did_agents.did import key as did_key
from did_agents.keys import generate
from tests.issuer.conftest import BASE_URL, CAPS, ORG_DID, Harness


def _counts(h: Harness) -> dict[str, int]:
    counts = h.db.row_counts()
    counts.pop("audit_events")
    counts.pop("audit_chain_head")
    return counts


def _audit(h: Harness, **params: Any) -> list[dict[str, Any]]:
    response = h.client.get("/audit/events", params=params, headers=h.auditor)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _refused_without_writes(
    h: Harness, method: str, url: str, status: int, reason: str, **kwargs: Any
) -> dict[str, Any]:
    """The request is refused with ``status``; only one ``denied`` audit event is written."""
    before = _counts(h)
    events_before = len(_audit(h, limit=1000))
    response = h.client.request(method, url, **kwargs)
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error", "error_description"}
    assert response.headers["cache-control"] == "no-store"
    assert _counts(h) == before
    events = _audit(h, limit=1000)
    assert len(events) == events_before + 1
    assert events[-1]["decision"] == "denied"
    assert events[-1]["reason"] == reason
    return body


# -- organization identity ----------------------------------------------------------------------


def test_did_web_document_is_served_at_well_known(harness: Harness) -> None:
    response = harness.client.get("/.well-known/did.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/did+json")
    doc = response.json()
    assert doc["id"] == ORG_DID
    assert doc["assertionMethod"] == [harness.issuer.organization.signing_kid]
    assert doc["verificationMethod"][0]["type"] == "Multikey"


def test_project_context_is_served(harness: Harness) -> None:
    response = harness.client.get("/contexts/did-agents/v1")
    assert response.status_code == 200
    assert "AgentCapabilityCredential" in response.json()["@context"]


# -- operators (RFC 6750 §3) ------------------------------------------------------------------------


def test_missing_operator_token_is_401_with_bearer_challenge(harness: Harness) -> None:
    body = _refused_without_writes(harness, "POST", "/agents", 401, "missing_token", json={})
    assert body["error"] == "unauthorized"
    response = harness.client.post("/agents", json={})
    assert response.headers["www-authenticate"] == 'Bearer realm="did-agents"'


def test_wrong_operator_token_is_401_invalid_token(harness: Harness) -> None:
    response = harness.client.post("/agents/challenges", json={}, headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_auditor_cannot_mutate_403_insufficient_scope(harness: Harness) -> None:
    _refused_without_writes(
        harness, "POST", "/agents/challenges", 403, "insufficient_role", json={}, headers=harness.auditor
    )
    response = harness.client.post("/agents/challenges", json={}, headers=harness.auditor)
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


def test_admin_cannot_read_the_audit_log(harness: Harness) -> None:
    assert harness.client.get("/audit/events", headers=harness.admin).status_code == 403


# -- onboarding ---------------------------------------------------------------------------------------


def test_generate_mode_returns_private_key_once_and_never_stores_it(harness: Harness) -> None:
    agent = harness.onboard()
    jwk = agent["privateKeyJwk"]
    assert jwk["d"] and agent["did"] == did_key.create(
        generate().public_key.from_jwk({k: v for k, v in jwk.items() if k != "d"})
    )
    again = harness.client.get(f"/agents/{agent['id']}", headers=harness.admin).json()
    assert "privateKeyJwk" not in again and jwk["d"] not in json.dumps(again)
    with harness.db.read() as conn:
        dump = json.dumps([list(map(str, row)) for row in conn.exec_driver_sql("SELECT * FROM agents")])
    assert jwk["d"] not in dump


def test_onboarded_credential_verifies_with_the_core_library(harness: Harness) -> None:
    agent = harness.onboard()
    credential = agent["credential"]
    assert credential["type"] == ["VerifiableCredential", "AgentCapabilityCredential"]
    assert credential["issuer"] == ORG_DID
    subject = credential["credentialSubject"]
    assert subject["id"] == agent["did"] and subject["capabilities"] == CAPS
    assert {s["statusPurpose"] for s in credential["credentialStatus"]} == {"revocation", "suspension"}
    result = anyio.run(
        lambda: verify_credential(
            credential, resolver=harness.resolver(), clock=harness.clock, status_resolver=harness.fetch_status
        )
    )
    assert result.verified, result.problems


@pytest.mark.parametrize("fmt", ["eddsa-jcs-2022", "jose"])
def test_onboarding_in_other_securing_formats(harness: Harness, fmt: str) -> None:
    agent = harness.onboard(format=fmt)
    credential = agent["credential"]
    if fmt == "jose":
        assert credential["type"] == "EnvelopedVerifiableCredential"
        assert credential["id"].startswith("data:application/vc+jwt,")
    else:
        assert credential["proof"]["cryptosuite"] == fmt
    result = anyio.run(
        lambda: verify_credential(credential, resolver=harness.resolver(), clock=harness.clock)
    )
    assert result.verified, result.problems


def test_did_key_mode_with_proof_of_possession(harness: Harness) -> None:
    key = generate()
    did = did_key.create(key.public_key)
    proof = harness.pop(key, harness.challenge(did), iss=did)
    agent = harness.onboard(mode="did_key", did=did, proof=proof)
    assert agent["did"] == did and agent.get("privateKeyJwk") is None


def test_pop_signed_by_another_key_is_refused(harness: Harness) -> None:
    victim = did_key.create(generate().public_key)
    proof = harness.pop(generate(), harness.challenge(), iss=victim)
    body = {
        "mode": "did_key",
        "did": victim,
        "proof": proof,
        "name": "x",
        "owner": "mailto:a@b.example",
        "kind": "delegated",
        "capabilities": CAPS,
    }
    _refused_without_writes(
        harness, "POST", "/agents", 400, "bad_signature", json=body, headers=harness.admin
    )


def test_replayed_challenge_is_refused(harness: Harness) -> None:
    key = generate()
    did = did_key.create(key.public_key)
    proof = harness.pop(key, harness.challenge(), iss=did)
    harness.onboard(mode="did_key", did=did, proof=proof)
    other = generate()
    other_did = did_key.create(other.public_key)
    nonce = json.loads(base64.urlsafe_b64decode(proof.split(".")[1] + "=="))["nonce"]
    body = {
        "mode": "did_key",
        "did": other_did,
        "proof": harness.pop(other, nonce, iss=other_did),
        "name": "x",
        "owner": "mailto:a@b.example",
        "kind": "delegated",
        "capabilities": CAPS,
    }
    _refused_without_writes(
        harness, "POST", "/agents", 400, "challenge_spent", json=body, headers=harness.admin
    )


def test_expired_challenge_is_refused(harness: Harness) -> None:
    key = generate()
    did = did_key.create(key.public_key)
    nonce = harness.challenge()
    harness.clock.advance(timedelta(minutes=6))
    body = {
        "mode": "did_key",
        "did": did,
        "proof": harness.pop(key, nonce, iss=did),
        "name": "x",
        "owner": "mailto:a@b.example",
        "kind": "delegated",
        "capabilities": CAPS,
    }
    _refused_without_writes(
        harness, "POST", "/agents", 400, "challenge_expired", json=body, headers=harness.admin
    )


def test_pop_for_another_audience_is_refused(harness: Harness) -> None:
    key = generate()
    did = did_key.create(key.public_key)
    proof = harness.pop(key, harness.challenge(), iss=did, aud="did:web:other.example")
    body = {
        "mode": "did_key",
        "did": did,
        "proof": proof,
        "name": "x",
        "owner": "mailto:a@b.example",
        "kind": "delegated",
        "capabilities": CAPS,
    }
    _refused_without_writes(
        harness, "POST", "/agents", 400, "wrong_audience", json=body, headers=harness.admin
    )


def test_refused_registration_leaves_the_challenge_unspent(harness: Harness) -> None:
    key = generate()
    did = did_key.create(key.public_key)
    nonce = harness.challenge()
    bad = {
        "mode": "did_key",
        "did": did,
        "proof": harness.pop(key, nonce, iss=did),
        "name": "x",
        "owner": "not an owner",
        "kind": "delegated",
        "capabilities": CAPS,
    }
    assert harness.client.post("/agents", json=bad, headers=harness.admin).status_code == 400
    harness.onboard(mode="did_key", did=did, proof=harness.pop(key, nonce, iss=did))


def test_duplicate_registration_is_409(harness: Harness) -> None:
    key = generate()
    did = did_key.create(key.public_key)
    harness.onboard(mode="did_key", did=did, proof=harness.pop(key, harness.challenge(), iss=did))
    body = {
        "mode": "did_key",
        "did": did,
        "proof": harness.pop(key, harness.challenge(), iss=did),
        "name": "x",
        "owner": "mailto:a@b.example",
        "kind": "delegated",
        "capabilities": CAPS,
    }
    _refused_without_writes(harness, "POST", "/agents", 409, "agent_exists", json=body, headers=harness.admin)


@pytest.mark.parametrize("did", ["did:key:nope", "did:key:z6Mk", "not-a-did", "did:web:evil.example"])
def test_malformed_or_foreign_did_is_400(harness: Harness, did: str) -> None:
    body = {
        "mode": "did_key",
        "did": did,
        "proof": "x.y.z",
        "name": "x",
        "owner": "mailto:a@b.example",
        "kind": "delegated",
        "capabilities": CAPS,
    }
    response = harness.client.post("/agents", json=body, headers=harness.admin)
    assert response.status_code == 400, response.text


def test_hosted_did_web_agent_document_and_key_rotation(harness: Harness) -> None:
    key = generate()
    proof = harness.pop(key, harness.challenge())
    agent = harness.onboard(mode="did_web", publicKeyMultibase=key.public_key.to_multikey(), proof=proof)
    assert agent["did"] == f"{ORG_DID}:agents:{agent['id']}"
    doc = harness.client.get(f"/agents/{agent['id']}/did.json").json()
    assert doc["id"] == agent["did"]
    assert doc["verificationMethod"][0]["publicKeyMultibase"] == key.public_key.to_multikey()
    result = anyio.run(
        lambda: verify_credential(agent["credential"], resolver=harness.resolver(), clock=harness.clock)
    )
    assert result.verified, result.problems

    new = generate()
    rotation = {
        "publicKeyMultibase": new.public_key.to_multikey(),
        "proof": harness.pop(key, harness.challenge()),
        "newKeyProof": harness.pop(new, harness.challenge()),
    }
    response = harness.client.put(f"/agents/{agent['id']}/keys", json=rotation, headers=harness.admin)
    assert response.status_code == 200, response.text
    doc = harness.client.get(f"/agents/{agent['id']}/did.json").json()
    assert doc["verificationMethod"][0]["publicKeyMultibase"] == new.public_key.to_multikey()


def test_key_rotation_not_signed_by_the_current_key_is_refused(harness: Harness) -> None:
    key = generate()
    agent = harness.onboard(
        mode="did_web",
        publicKeyMultibase=key.public_key.to_multikey(),
        proof=harness.pop(key, harness.challenge()),
    )
    mallory = generate()
    rotation = {
        "publicKeyMultibase": mallory.public_key.to_multikey(),
        "proof": harness.pop(mallory, harness.challenge()),
        "newKeyProof": harness.pop(mallory, harness.challenge()),
    }
    _refused_without_writes(
        harness,
        "PUT",
        f"/agents/{agent['id']}/keys",
        400,
        "bad_signature",
        json=rotation,
        headers=harness.admin,
    )


# -- bad input (SECURITY SEC-11, SEC-53) ----------------------------------------------------------------


def test_unknown_agent_is_404(harness: Harness) -> None:
    _refused_without_writes(
        harness, "POST", f"/agents/{'0' * 32}/suspend", 404, "agent_not_found", headers=harness.admin
    )
    assert harness.client.get("/agents/../../etc", headers=harness.admin).status_code == 404


def test_oversized_body_is_413(harness: Harness) -> None:
    response = harness.client.post(
        "/agents",
        content=b"{" + b" " * 300_000 + b"}",
        headers={**harness.admin, "Content-Type": "application/json"},
    )
    assert response.status_code == 413


def test_deeply_nested_json_is_400(harness: Harness) -> None:
    body = b"[" * 10_000 + b"]" * 10_000
    response = harness.client.post(
        "/agents", content=body, headers={**harness.admin, "Content-Type": "application/json"}
    )
    assert response.status_code in (400, 413)
    assert response.json()["error"] == "invalid_request"


def test_duplicate_json_members_are_400(harness: Harness) -> None:
    response = harness.client.post(
        "/agents",
        content=b'{"name": "a", "name": "b"}',
        headers={**harness.admin, "Content-Type": "application/json"},
    )
    assert response.status_code == 400


def test_wrong_content_type_is_415(harness: Harness) -> None:
    response = harness.client.post(
        "/agents",
        content=b"name=x",
        headers={**harness.admin, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 415


def test_unknown_request_member_is_400_with_the_field_named(harness: Harness) -> None:
    response = harness.client.post("/agents", json={"nmae": "x"}, headers=harness.admin)
    assert response.status_code == 400
    assert "nmae" in response.json()["error_description"]


# -- lifecycle -------------------------------------------------------------------------------------------


def _verify(h: Harness, credential: dict[str, Any]) -> Any:
    return anyio.run(
        lambda: verify_credential(
            credential, resolver=h.resolver(), clock=h.clock, status_resolver=h.fetch_status
        )
    )


def test_suspend_resume_offboard_show_in_verification(harness: Harness) -> None:
    agent = harness.onboard()
    credential = agent["credential"]
    path = f"/agents/{agent['id']}"
    assert harness.client.post(path + "/suspend", headers=harness.admin).json()["status"] == "suspended"
    assert harness.client.post(path + "/suspend", headers=harness.admin).status_code == 200  # idempotent
    assert "suspended" in _verify(harness, credential).codes
    assert harness.client.post(path + "/resume", headers=harness.admin).json()["status"] == "active"
    assert _verify(harness, credential).verified
    assert harness.client.delete(path, headers=harness.admin).json()["status"] == "offboarded"
    assert harness.client.delete(path, headers=harness.admin).status_code == 200  # idempotent
    assert "revoked" in _verify(harness, credential).codes
    response = harness.client.post(path + "/resume", headers=harness.admin)
    assert response.status_code == 409


def test_update_issues_a_new_credential_and_revokes_the_old(harness: Harness) -> None:
    agent = harness.onboard()
    old = agent["credential"]
    caps = [{"resource": "https://mcp.urbanbites.example/mcp", "scopes": ["orders:read"]}]
    response = harness.client.patch(
        f"/agents/{agent['id']}", json={"capabilities": caps}, headers=harness.admin
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["credential_id"] != agent["credential_id"]
    assert updated["credential"]["credentialSubject"]["capabilities"] == caps
    assert "revoked" in _verify(harness, old).codes
    assert _verify(harness, updated["credential"]).verified
    same = harness.client.patch(
        f"/agents/{agent['id']}", json={"capabilities": caps}, headers=harness.admin
    ).json()
    assert same["credential_id"] == updated["credential_id"]  # no change, no new credential


def test_list_filters_and_paginates(harness: Harness) -> None:
    for i in range(3):
        harness.onboard(
            name=f"agent {i}", owner="mailto:a@team.example" if i < 2 else "mailto:b@team.example"
        )
    listed = harness.client.get(
        "/agents", params={"owner": "mailto:a@team.example", "limit": 1}, headers=harness.admin
    ).json()
    assert len(listed["items"]) == 1 and listed["next_offset"] == 1
    page2 = harness.client.get(
        "/agents", params={"owner": "mailto:a@team.example", "limit": 1, "offset": 1}, headers=harness.admin
    ).json()
    assert page2["next_offset"] is None
    assert {listed["items"][0]["name"], page2["items"][0]["name"]} == {"agent 0", "agent 1"}
    by_scope = harness.client.get(
        "/agents", params={"capability": "orders:create"}, headers=harness.auditor
    ).json()
    assert len(by_scope["items"]) == 3
    assert (
        harness.client.get("/agents", params={"status": "suspended"}, headers=harness.admin).json()["items"]
        == []
    )


# -- status lists ----------------------------------------------------------------------------------------


def test_status_list_is_cacheable_and_resigned_only_on_change(harness: Harness) -> None:
    agent = harness.onboard()
    url = agent["credential"]["credentialStatus"][1]["statusListCredential"].removeprefix(BASE_URL)
    first = harness.client.get(url)
    assert "max-age" in first.headers["cache-control"]
    harness.clock.advance(60)
    second = harness.client.get(url)
    assert second.text == first.text  # not re-signed
    assert harness.client.get(url, headers={"If-None-Match": first.headers["etag"]}).status_code == 304
    harness.client.post(f"/agents/{agent['id']}/suspend", headers=harness.admin)
    changed = harness.client.get(url)
    assert changed.headers["etag"] != first.headers["etag"] and changed.text != first.text


def test_unknown_status_list_is_404(harness: Harness) -> None:
    assert harness.client.get("/status/ffffffffffffffff").status_code == 404
    assert harness.client.get("/status/..%2f..").status_code == 404


def test_status_indexes_are_random_not_sequential(harness: Harness) -> None:
    indexes = [
        int(harness.onboard()["credential"]["credentialStatus"][0]["statusListIndex"]) for _ in range(4)
    ]
    assert indexes != sorted(indexes) or indexes[-1] - indexes[0] != 3


# -- W3C VC API -------------------------------------------------------------------------------------------


def _vc(**extra: Any) -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "issuer": ORG_DID,
        "credentialSubject": {"id": "did:example:alice", "name": "Alice"},
        **extra,
    }


@pytest.mark.parametrize("fmt", ["eddsa-rdfc-2022", "eddsa-jcs-2022", "jose"])
def test_vc_api_issue_returns_201_verifiable_credential(harness: Harness, fmt: str) -> None:
    response = harness.client.post(
        "/credentials/issue", json={"credential": _vc(), "options": {"format": fmt}}, headers=harness.admin
    )
    assert response.status_code == 201, response.text
    vc = response.json()["verifiableCredential"]
    assert _verify(harness, vc).verified


@pytest.mark.parametrize(
    ("credential", "reason"),
    [
        ({k: v for k, v in _vc().items() if k != "credentialSubject"}, "missing_property"),
        (_vc(validFrom="yesterday"), "invalid_date"),
        (_vc(validFrom="2027-01-01T00:00:00Z", validUntil="2026-01-01T00:00:00Z"), "invalid_validity"),
        (_vc(undefinedTerm="x"), "undefined_term"),
        (
            {**_vc(), "@context": ["https://www.w3.org/ns/credentials/v2", "https://evil.example/ctx"]},
            "unknown_context",
        ),
        (_vc(issuer="did:web:other.example"), "wrong_issuer"),
    ],
)
def test_vc_api_refuses_invalid_credentials(
    harness: Harness, credential: dict[str, Any], reason: str
) -> None:
    _refused_without_writes(
        harness,
        "POST",
        "/credentials/issue",
        400,
        reason,
        json={"credential": credential},
        headers=harness.admin,
    )


def test_vc_api_issue_needs_operator_unless_open_issue(harness: Harness) -> None:
    assert harness.client.post("/credentials/issue", json={"credential": _vc()}).status_code == 401
    harness.app.state.settings = harness.settings.model_copy(update={"vc_api_open_issue": True})
    assert harness.client.post("/credentials/issue", json={"credential": _vc()}).status_code == 201


def test_vc_api_status_update_revokes(harness: Harness) -> None:
    options = {"credentialStatus": {"type": "BitstringStatusListEntry", "statusPurpose": "revocation"}}
    vc = harness.client.post(
        "/credentials/issue", json={"credential": _vc(), "options": options}, headers=harness.admin
    ).json()["verifiableCredential"]
    assert _verify(harness, vc).verified
    body = {
        "credentialId": vc["id"],
        "credentialStatus": [{"type": "BitstringStatusListCredential", "status": "revoked"}],
    }
    assert harness.client.post("/credentials/status", json=body, headers=harness.admin).status_code == 200
    assert "revoked" in _verify(harness, vc).codes
    unknown = {**body, "credentialId": "urn:uuid:00000000-0000-0000-0000-000000000000"}
    _refused_without_writes(
        harness,
        "POST",
        "/credentials/status",
        404,
        "credential_not_found",
        json=unknown,
        headers=harness.admin,
    )


# -- users ------------------------------------------------------------------------------------------------


def test_user_role_credential_issue_update_revoke(harness: Harness) -> None:
    user = did_key.create(generate().public_key)
    response = harness.client.post("/users", json={"did": user, "roles": ["staff"]}, headers=harness.admin)
    assert response.status_code == 201, response.text
    created = response.json()
    credential = created["credential"]
    assert credential["type"] == ["VerifiableCredential", "RoleCredential"]
    assert credential["credentialSubject"]["capabilities"][0]["scopes"] == ["orders:read"]
    assert _verify(harness, credential).verified
    assert (
        harness.client.post(
            "/users", json={"did": user, "roles": ["staff"]}, headers=harness.admin
        ).status_code
        == 409
    )
    assert (
        harness.client.post(
            "/users", json={"did": "did:key:z6Mkx", "roles": ["nope"]}, headers=harness.admin
        ).status_code
        == 400
    )
    assert harness.client.delete(f"/users/{user}", headers=harness.admin).json()["status"] == "removed"
    assert "revoked" in _verify(harness, credential).codes


# -- audit -------------------------------------------------------------------------------------------------


def test_every_change_is_an_audit_event_and_the_chain_verifies(harness: Harness) -> None:
    agent = harness.onboard()
    harness.client.post(f"/agents/{agent['id']}/suspend", headers=harness.admin)
    types = [e["type"] for e in _audit(harness, type="agent.")]
    assert types == ["agent.onboarded", "agent.suspended"]
    onboarded = _audit(harness, type="agent.onboarded")[0]
    assert onboarded["subject"] == agent["did"] and onboarded["details"]["operator"] == "operator:alice"
    assert agent["privateKeyJwk"]["d"] not in json.dumps(_audit(harness, limit=1000))
    assert harness.client.get("/audit/verify", headers=harness.auditor).json()["ok"] is True


def test_openapi_documents_every_endpoint(harness: Harness) -> None:
    spec = harness.client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in [
        "/agents",
        "/agents/{agent_id}",
        "/agents/{agent_id}/suspend",
        "/users",
        "/status/{list_id}",
        "/credentials/issue",
        "/credentials/status",
        "/audit/events",
        "/.well-known/did.json",
    ]:
        assert path in paths
    assert "examples" in spec["components"]["schemas"]["AgentRegistration"]
