"""SEC-28 — malformed did:key, at the issuance API.

Resolution of every catalog input (wrong multicodec, 31/33-byte keys, P-256
point off the curve, small-order Ed25519 points, base64url multibase, trailing
garbage, empty) is covered by tests/did/test_key.py
``test_invalid_did_key_is_refused`` / ``test_resolver_refuses_invalid_did_key_offline``.
Here the DID-registration API must refuse the same inputs: 400
``invalid_request``, no agent/user row, no credential, no status index, one
``denied`` audit event (NEG-INV), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest

from did_agents import multibase
from did_agents.keys import PrivateKey
from tests.did.test_key import INVALID
from tests.issuer.conftest import CAPS, Harness
from tests.security.issuer_checks import refused_without_writes

DID_KEYS = {name: did for name, did in INVALID.items() if did.startswith("did:key:")}


@pytest.mark.parametrize("did", DID_KEYS.values(), ids=DID_KEYS.keys())
def test_agent_registration_refuses_a_malformed_did_key(
    harness: Harness, agent_key: PrivateKey, did: str
) -> None:
    nonce = harness.challenge()
    body = {
        "mode": "did_key",
        "did": did,
        "proof": harness.pop(agent_key, nonce, iss=did),
        "name": "x",
        "owner": "mailto:a@b.example",
        "kind": "delegated",
        "capabilities": CAPS,
    }
    refused_without_writes(
        harness, "POST", "/agents", 400, error="invalid_request", json=body, headers=harness.admin
    )


@pytest.mark.parametrize("did", DID_KEYS.values(), ids=DID_KEYS.keys())
def test_user_registration_refuses_a_malformed_did_key(harness: Harness, did: str) -> None:
    body = {"did": did, "roles": ["staff"]}
    refused_without_writes(
        harness, "POST", "/users", 400, error="invalid_request", json=body, headers=harness.admin
    )


ED25519_BAD_KEYS = {
    "31 bytes": multibase.encode(b"\xed\x01" + bytes(range(31)), "z"),
    "33 bytes": multibase.encode(b"\xed\x01" + bytes(range(33)), "z"),
    "identity point (small order)": multibase.encode(b"\xed\x01\x01" + bytes(31), "z"),
    "order-4 point": multibase.encode(b"\xed\x01" + bytes(32), "z"),
    "secp256k1 multicodec": multibase.encode(b"\xe7\x01\x02" + bytes(range(32)), "z"),
    "base64url multibase": multibase.encode(b"\xed\x01" + bytes(range(32)), "u"),
}


@pytest.mark.parametrize("key", ED25519_BAD_KEYS.values(), ids=ED25519_BAD_KEYS.keys())
def test_hosted_did_web_registration_refuses_a_malformed_public_key(
    harness: Harness, agent_key: PrivateKey, key: str
) -> None:
    nonce = harness.challenge()
    body = {
        "mode": "did_web",
        "publicKeyMultibase": key,
        "proof": harness.pop(agent_key, nonce),
        "name": "x",
        "owner": "mailto:a@b.example",
        "kind": "delegated",
        "capabilities": CAPS,
    }
    refused_without_writes(
        harness, "POST", "/agents", 400, error="invalid_request", json=body, headers=harness.admin
    )
