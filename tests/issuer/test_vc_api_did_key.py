"""``DID_AGENTS_VC_API_ISSUER=did:key``: ``POST /credentials/issue`` signs as the did:key of the
organization's current signing key (the W3C vc-di-eddsa suite resolves did:key only:
``tests/helpers.js getPublicKeyBytes``, ``tests/didResolver.js``). The did:web default is
covered by ``test_routes.py``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from did_agents import multibase
from did_agents.credentials.verify import verify_credential
from did_agents.did import key as did_key
from did_agents.did.resolver import DIDResolver
from did_agents.issuance.organization import rotate_signing_key
from did_agents.storage.database import Database
from tests.issuer.conftest import ORG_DID, Harness, make_harness
from tests.issuer.test_routes import _audit, _refused_without_writes

ED25519_PUB_MULTICODEC = b"\xed\x01"


@pytest.fixture
def harness(db: Database, tmp_path: Path) -> Iterator[Harness]:
    yield from make_harness(db, tmp_path, vc_api_issuer="did:key")


def _org_did_key(h: Harness) -> str:
    return did_key.create(h.issuer.organization.signing_key.public_key)


def _vc(issuer: Any) -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "issuer": issuer,
        "credentialSubject": {"id": "did:example:alice", "name": "Alice"},
    }


def _issue(h: Harness, issuer: Any, **options: Any) -> dict[str, Any]:
    response = h.client.post(
        "/credentials/issue", json={"credential": _vc(issuer), "options": options}, headers=h.admin
    )
    assert response.status_code == 201, response.text
    vc: dict[str, Any] = response.json()["verifiableCredential"]
    return vc


@pytest.mark.parametrize("cryptosuite", ["eddsa-rdfc-2022", "eddsa-jcs-2022"])
def test_did_key_issuer_proof_resolves_as_multikey_and_verifies_without_did_web(
    harness: Harness, cryptosuite: str
) -> None:
    issuer = _org_did_key(harness)
    assert issuer.startswith("did:key:z6Mk")
    vc = _issue(harness, issuer, cryptosuite=cryptosuite)
    assert vc["issuer"] == issuer
    proof = vc["proof"]
    assert proof["cryptosuite"] == cryptosuite
    # did:key v0.7 §"Signature Method Creation Algorithm": the method id is did:key:z…#z….
    assert proof["verificationMethod"] == f"{issuer}#{issuer.removeprefix('did:key:')}"
    # vc-di-eddsa suite: "Dereferencing the verificationMethod MUST result in an object containing a type
    # property with Multikey value"; "publicKeyMultibase … 34 bytes" (0xed01 + 32); "proofValue … 64 bytes".
    methods = {m["id"]: m for m in did_key.document(issuer)["verificationMethod"]}
    method = methods[proof["verificationMethod"]]
    assert method["type"] == "Multikey"
    key_bytes = multibase.decode(method["publicKeyMultibase"])
    assert len(key_bytes) == 34 and key_bytes[:2] == ED25519_PUB_MULTICODEC
    assert proof["proofValue"].startswith("z")
    assert len(multibase.decode(proof["proofValue"])) == 64
    plain = DIDResolver()  # did:key offline only; no did:web method registered
    result = anyio.run(lambda: verify_credential(vc, resolver=plain, clock=harness.clock))
    assert result.verified, result


@pytest.mark.parametrize(
    "issuer", [ORG_DID, {"id": ORG_DID}, "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"]
)
def test_did_key_issuer_refuses_any_other_issuer(harness: Harness, issuer: Any) -> None:
    _refused_without_writes(
        harness,
        "POST",
        "/credentials/issue",
        400,
        "wrong_issuer",
        json={"credential": _vc(issuer)},
        headers=harness.admin,
    )


def test_did_key_issuer_accepts_issuer_object(harness: Harness) -> None:
    issuer = _org_did_key(harness)
    vc = _issue(harness, {"id": issuer, "name": "Urban Bites"})
    assert vc["issuer"]["id"] == issuer
    assert anyio.run(lambda: verify_credential(vc, resolver=DIDResolver(), clock=harness.clock)).verified


def test_did_key_issuer_keeps_status_entries_and_audit(harness: Harness) -> None:
    status = {"type": "BitstringStatusListEntry", "statusPurpose": "revocation"}
    vc = _issue(harness, _org_did_key(harness), credentialStatus=status)
    entry = vc["credentialStatus"]
    entry = entry[0] if isinstance(entry, list) else entry
    assert entry["type"] == "BitstringStatusListEntry" and entry["statusPurpose"] == "revocation"
    event = _audit(harness, limit=1000)[-1]
    assert (event["type"], event["action"], event["decision"]) == (
        "credential.issued",
        "vc_api.issue",
        "allowed",
    )


def test_did_key_issuer_follows_key_rotation(harness: Harness) -> None:
    before = _org_did_key(harness)
    h = harness.issuer
    h.organization = rotate_signing_key(h.database, h.keystore, h.organization, clock=harness.clock)
    after = _org_did_key(harness)
    assert after != before
    vc = _issue(harness, after)
    assert vc["proof"]["verificationMethod"].startswith(after + "#")
    _refused_without_writes(
        harness,
        "POST",
        "/credentials/issue",
        400,
        "wrong_issuer",
        json={"credential": _vc(before)},
        headers=harness.admin,
    )
