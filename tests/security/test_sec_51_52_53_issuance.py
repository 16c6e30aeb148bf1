"""SEC-51 (issuance half), SEC-52, SEC-53 against the issuer service, on SQLite and PostgreSQL.

SEC-51: hosted agent DIDs are ``did:web:<host>:agents:<random id>`` and never a
requested name (docs/architecture.md "Issuer service"), so a hostile ``name``
cannot choose or overwrite a DID document path; the resolution half of SEC-51
(identifier parsing) is tests/did/test_web.py ``test_malformed_did_web_is_refused``.
SEC-52: registering a did:key without proof of possession, or with a PoP over a
stale / other-audience nonce, or signed by another key → 400, no agent, no VC,
no status index. SEC-53: huge and deeply nested bodies → 413 / 400 before full
parsing, never 5xx.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest

from did_agents.did import key as did_key
from did_agents.keys import PrivateKey, generate
from tests.issuer.conftest import CAPS, ORG_DID, Harness
from tests.security.issuer_checks import counts, refused_without_writes

HOSTILE_NAMES = ["../../.well-known", "a/b", "%2e%2e", "CON", "x" * 4096]


def _registration(**overrides: object) -> dict[str, object]:
    return {
        "name": "x",
        "owner": "mailto:a@b.example",
        "kind": "delegated",
        "capabilities": CAPS,
        **overrides,
    }


# -- SEC-51 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", HOSTILE_NAMES[:4])
def test_sec51_hostile_agent_name_never_becomes_a_did_path(harness: Harness, name: str) -> None:
    org_document = harness.client.get("/.well-known/did.json").json()
    key = generate()
    agent = harness.onboard(
        mode="did_web",
        name=name,
        publicKeyMultibase=key.public_key.to_multikey(),
        proof=harness.pop(key, harness.challenge()),
    )
    assert agent["did"] == f"{ORG_DID}:agents:{agent['id']}"
    assert name not in agent["did"] and "%" not in agent["id"] and "/" not in agent["id"]
    # The organization's own document was not overwritten.
    assert harness.client.get("/.well-known/did.json").json() == org_document


def test_sec51_four_kilobyte_name_is_refused(harness: Harness) -> None:
    body = _registration(mode="generate", name="x" * 4096)
    response = harness.client.post("/agents", json=body, headers=harness.admin)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize("agent_id", ["..", "..%2F..%2F.well-known", "%2e%2e", "CON", "A" * 4096])
def test_sec51_hosted_document_path_with_traversal_is_404(harness: Harness, agent_id: str) -> None:
    response = harness.client.get(f"/agents/{agent_id}/did.json")
    assert response.status_code in (404, 400), response.text
    assert "verificationMethod" not in response.text


# -- SEC-52 ----------------------------------------------------------------------------------------


def test_sec52_victim_did_key_without_proof_of_possession(harness: Harness) -> None:
    victim = did_key.create(generate().public_key)
    refused_without_writes(
        harness,
        "POST",
        "/agents",
        400,
        error="invalid_request",
        json=_registration(mode="did_key", did=victim),
        headers=harness.admin,
    )


def test_sec52_victim_did_key_with_mallorys_pop(harness: Harness, agent_key: PrivateKey) -> None:
    victim = did_key.create(generate().public_key)
    proof = harness.pop(agent_key, harness.challenge(), iss=victim)  # signed by mallory
    refused_without_writes(
        harness,
        "POST",
        "/agents",
        400,
        error="invalid_request",
        json=_registration(mode="did_key", did=victim, proof=proof),
        headers=harness.admin,
    )


def test_sec52_pop_over_a_stale_nonce(harness: Harness, agent_key: PrivateKey) -> None:
    did = did_key.create(agent_key.public_key)
    nonce = harness.challenge()
    harness.clock.advance(harness.issuer.config.challenge_ttl + timedelta(seconds=1))
    proof = harness.pop(agent_key, nonce, iss=did)
    refused_without_writes(
        harness,
        "POST",
        "/agents",
        400,
        error="invalid_request",
        json=_registration(mode="did_key", did=did, proof=proof),
        headers=harness.admin,
    )


def test_sec52_pop_for_another_audience(harness: Harness, agent_key: PrivateKey) -> None:
    did = did_key.create(agent_key.public_key)
    proof = harness.pop(agent_key, harness.challenge(), iss=did, aud="did:web:other-issuer.example")
    refused_without_writes(
        harness,
        "POST",
        "/agents",
        400,
        error="invalid_request",
        json=_registration(mode="did_key", did=did, proof=proof),
        headers=harness.admin,
    )


def test_sec52_pop_over_a_nonce_never_issued(harness: Harness, agent_key: PrivateKey) -> None:
    did = did_key.create(agent_key.public_key)
    proof = harness.pop(agent_key, "never-issued-nonce-0123456789", iss=did)
    refused_without_writes(
        harness,
        "POST",
        "/agents",
        400,
        error="invalid_request",
        json=_registration(mode="did_key", did=did, proof=proof),
        headers=harness.admin,
    )


def test_sec52_pop_over_a_nonce_bound_to_another_did(harness: Harness, agent_key: PrivateKey) -> None:
    did = did_key.create(agent_key.public_key)
    other = did_key.create(generate().public_key)
    proof = harness.pop(agent_key, harness.challenge(other), iss=did)
    refused_without_writes(
        harness,
        "POST",
        "/agents",
        400,
        error="invalid_request",
        json=_registration(mode="did_key", did=did, proof=proof),
        headers=harness.admin,
    )


# -- SEC-53 ----------------------------------------------------------------------------------------


def _post_raw(harness: Harness, body: bytes) -> tuple[int, dict[str, object], float]:
    before = counts(harness)
    start = time.perf_counter()
    response = harness.client.post(
        "/agents", content=body, headers={**harness.admin, "Content-Type": "application/json"}
    )
    elapsed = time.perf_counter() - start
    assert counts(harness) == before
    assert "Traceback" not in response.text
    return response.status_code, response.json(), elapsed


def test_sec53_fifty_megabyte_body_is_413(harness: Harness) -> None:
    status, body, elapsed = _post_raw(harness, b'{"name":"' + b"a" * (50 * 1024 * 1024) + b'"}')
    assert status == 413 and body["error"] == "invalid_request", body
    assert elapsed < 1.0


def test_sec53_hundred_thousand_levels_of_nesting_is_400_not_recursion_error(harness: Harness) -> None:
    depth = 100_000
    status, body, elapsed = _post_raw(harness, b"[" * depth + b"]" * depth)
    # 200 000 bytes is under the body limit: strict JSON refuses the depth as too large
    # (InputTooLargeError → 413 invalid_request; never RecursionError → 500).
    assert status == 413 and body["error"] == "invalid_request", body
    assert elapsed < 1.0


def test_sec53_object_with_a_million_keys_is_refused(harness: Harness) -> None:
    payload = json.dumps({f"k{i}": 0 for i in range(1_000_000)}).encode()
    status, body, elapsed = _post_raw(harness, payload)
    assert status == 413 and body["error"] == "invalid_request", body
    assert elapsed < 1.0


def test_sec53_large_object_under_the_byte_limit_is_400(harness: Harness) -> None:
    payload = json.dumps({f"k{i}": 0 for i in range(20_000)}).encode()  # ~240 KB, many members
    status, body, elapsed = _post_raw(harness, payload)
    assert status == 400 and body["error"] == "invalid_request", body
    assert elapsed < 1.0
