"""w3c-ccg/vc-api-issuer-test-suite tests/10-issuer.js (assertions.js ``shouldThrowInvalidInput``: exactly
400, never 401; ``shouldBeIssuedVc``) and the issuer half of w3c/vc-data-model-2.0-test-suite, whose
``tests/input/*`` files (transcribed in tests/vectors/vcdm2) are posted to ``/credentials/issue`` with the
configured issuer id filled in (``tests/mock.data.js`` ``createRequestBody``) and must be refused when
``-fail``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conformance.conftest import Stack
from tests.issuer.conftest import ORG_DID

VCDM2 = Path(__file__).parent.parent / "vectors" / "vcdm2"
CASES = [
    c for c in json.loads((VCDM2 / "manifest.json").read_text("utf-8"))["cases"] if c["kind"] == "credential"
]


def _valid() -> dict[str, Any]:
    # mock.data.js createRequestBody: the suite's valid VC, a urn:uuid id, issuer = configured id.
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"],
        "id": "urn:uuid:3978344f-8596-4c3a-a978-8fcaba3903c5",
        "type": ["VerifiableCredential", "ExampleDegreeCredential"],
        "issuer": ORG_DID,
        "credentialSubject": {"id": "did:example:ebfeb1f712ebc6f1c276e12ec21", "degree": {"name": "BSc"}},
    }


def _invalid_input(stack: Stack, body: dict[str, Any]) -> None:
    response = stack.client.post(stack.issuer_url + "/credentials/issue", json=body)
    assert response.status_code == 400, (body, response.text)


def test_must_successfully_issue_a_credential(stack: Stack) -> None:
    # 10-issuer.js "MUST successfully issue a credential." (201, assertions.js shouldBeIssuedVc)
    response = stack.issue(_valid())
    assert response.status_code == 201, response.text
    vc = response.json()["verifiableCredential"]
    assert "VerifiableCredential" in vc["type"] and isinstance(vc["id"], str)
    assert isinstance(vc["credentialSubject"], dict) and vc["credentialSubject"]
    assert vc["issuer"] == ORG_DID and isinstance(vc["proof"], dict)


def test_request_body_must_have_property_credential(stack: Stack) -> None:
    # 10-issuer.js 'Request body MUST have property "credential".'
    _invalid_input(stack, {"verifiableCredential": _valid()})


@pytest.mark.parametrize(
    ("member", "values"),
    [
        ("@context", [None]),  # 'credential MUST have property "@context".' (None = deleted below)
        (
            "@context",
            [4, False, None, []],
        ),  # '"@context" MUST be an array' / 'items MUST be strings or objects'
        ("type", [None]),  # 'credential MUST have property "type"'
        ("type", [None, True, 4, []]),  # '"credential.type" MUST be an array' / 'items MUST be strings'
        ("issuer", [None]),  # 'credential MUST have property "issuer"'
        ("issuer", [None, True, 4, []]),  # '"credential.issuer" MUST be a string or an object'
        ("credentialSubject", [None]),  # 'credential MUST have property "credentialSubject"'
        ("credentialSubject", [None, True, 4, [], "did:example:1234"]),  # '... MUST be an object'
    ],
    ids=["no-context", "context", "no-type", "type", "no-issuer", "issuer", "no-subject", "subject"],
)
def test_invalid_credentials_are_400(stack: Stack, member: str, values: list[Any]) -> None:
    for index, value in enumerate(values):
        credential = _valid()
        if len(values) == 1 and index == 0:
            del credential[member]
        else:
            credential[member] = value
        _invalid_input(stack, {"credential": credential})


def test_type_items_must_be_strings(stack: Stack) -> None:
    # 10-issuer.js '"credential.type" items MUST be strings'
    _invalid_input(stack, {"credential": {**_valid(), "type": ["VerifiableCredential", 4]}})


def _with_issuer(document: dict[str, Any]) -> dict[str, Any]:
    # vc-data-model-2.0-test-suite mock.data.js: issuer (or issuer.id) set to the configured id when absent.
    if isinstance(document.get("issuer"), dict) and "id" not in document["issuer"]:
        document["issuer"]["id"] = ORG_DID
    elif "issuer" not in document:
        document["issuer"] = ORG_DID
    return document


@pytest.mark.parametrize("case", [c for c in CASES if c["expect"] == "fail"], ids=lambda c: c["file"])
def test_vcdm2_fail_inputs_are_refused_by_the_issuer(stack: Stack, case: dict[str, Any]) -> None:
    document = _with_issuer(json.loads((VCDM2 / case["file"]).read_text("utf-8")))
    if "validUntil-validFrom" in case["file"]:
        document.update(validFrom="2027-12-01T00:00:00Z", validUntil="2025-12-01T00:00:00Z")
    _invalid_input(stack, {"credential": document})
