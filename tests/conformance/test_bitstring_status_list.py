"""w3c/vc-bitstring-status-list-test-suite tests/10-issue.js and tests/20-verify.js (assertions.js
``testCredential``/``testSlCredential``, ``shouldPassVerification``: 200 + verified true,
``shouldFailVerification``: 400 + verified false).

The suite's configured issuer options carry the status entry request; ours is
``options.credentialStatus = {type: BitstringStatusListEntry, statusPurpose}``.
The suite revokes through the VC API ``/credentials/status`` endpoint (admin token).
"""

from __future__ import annotations

import base64
import gzip
from typing import Any

import pytest

from tests.conformance.conftest import Stack
from tests.issuer.conftest import ORG_DID


def _issue(stack: Stack, purpose: str, name: str) -> dict[str, Any]:
    credential = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "issuer": ORG_DID,
        "credentialSubject": {"id": "did:example:1234", "name": name},
    }
    options = {"credentialStatus": {"type": "BitstringStatusListEntry", "statusPurpose": purpose}}
    return stack.issued(credential, options)


@pytest.mark.parametrize("purpose", ["revocation", "suspension"])
def test_must_issue_a_vc_with_a_bitstringstatuslist_credentialstatus(stack: Stack, purpose: str) -> None:
    # 10-issue.js 'MUST issue a VC with BitstringStatusList "credentialStatus" and "<purpose>" status purpose'
    entry = _issue(stack, purpose, "issue")["credentialStatus"]
    entry = entry[0] if isinstance(entry, list) else entry
    assert set(entry) == {"id", "type", "statusListCredential", "statusListIndex", "statusPurpose"}
    assert entry["type"] == "BitstringStatusListEntry" and entry["statusPurpose"] == purpose


@pytest.mark.parametrize("purpose", ["revocation", "suspension"])
def test_status_list_credential_has_correct_properties_and_16kb(stack: Stack, purpose: str) -> None:
    # 10-issue.js 'MUST have correct properties when dereferencing "credentialStatus.statusListCredential"'
    # and 'MUST be 16kb in size when "encodedList" is decoded'.
    entry = _issue(stack, purpose, "deref")["credentialStatus"]
    entry = entry[0] if isinstance(entry, list) else entry
    response = stack.get(entry["statusListCredential"])
    assert response.status_code == 200, response.text
    slc = response.json()
    assert {"VerifiableCredential", "BitstringStatusListCredential"} <= set(slc["type"])
    subject = slc["credentialSubject"]
    assert subject["type"] == "BitstringStatusList" and subject["statusPurpose"] == purpose
    assert {"id", "type", "encodedList", "statusPurpose"} <= set(subject)
    assert isinstance(slc["proof"], dict) and slc["issuer"] == ORG_DID
    encoded = subject["encodedList"]
    assert encoded.startswith("u")  # Bitstring Status List §2.2: multibase base64url
    raw = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))
    assert len(raw) == 16 * 1024


@pytest.mark.parametrize(("purpose", "status"), [("revocation", "revoked"), ("suspension", "suspended")])
def test_must_fail_to_verify_a_revoked_or_suspended_credential(
    stack: Stack, purpose: str, status: str
) -> None:
    # 20-verify.js 'MUST verify a valid "BitstringStatusListCredential" with "<purpose>" status purpose' and
    # 'MUST fail to verify a revoked / suspended status list credential'.
    vc = _issue(stack, purpose, status)
    ok = stack.verify(vc, checks=["proof", "credentialStatus"])
    assert ok.status_code == 200 and ok.json()["verified"] is True, ok.text
    body = {
        "credentialId": vc["id"],
        "credentialStatus": [{"type": "BitstringStatusListEntry", "status": status}],
    }
    changed = stack.client.post(
        stack.issuer_url + "/credentials/status", json=body, headers=stack.issuer.admin
    )
    assert changed.status_code == 200, changed.text
    refused = stack.verify(vc, checks=["proof", "credentialStatus"])
    assert refused.status_code == 400 and refused.json()["verified"] is False
    assert status in [p["code"] for p in refused.json()["problems"]]


@pytest.mark.parametrize(
    ("member", "value"), [("statusListCredential", "invalid-statusListCredential"), ("type", "invalid-type")]
)
def test_must_fail_to_verify_a_vc_with_invalid_credentialstatus(
    stack: Stack, member: str, value: str
) -> None:
    # 20-verify.js 'MUST fail to verify a VC with invalid "credentialStatus.statusListCredential"' / '.type'
    vc = _issue(stack, "revocation", member)
    entry = vc["credentialStatus"][0] if isinstance(vc["credentialStatus"], list) else vc["credentialStatus"]
    entry[member] = value
    response = stack.verify(vc, checks=["proof", "credentialStatus"])
    assert response.status_code == 400 and response.json()["verified"] is False
