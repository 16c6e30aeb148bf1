"""w3c-ccg/vc-api-verifier-test-suite, tests/10-vc-di.js (helpers.js ``testBadRequestError``: exactly 400).

The suite's valid credential (``tests/vectors.js`` ``ed25519Vector``) is an
Ed25519Signature2020 proof by an unrelated did:key over an ``https`` issuer; we
refuse it (issuer binding, see tests/conformance/README.md), so the mutations are
applied to a credential our issuer signed, as the suite applies them to its vector.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.conformance.conftest import Stack
from tests.issuer.conftest import ORG_DID

CREDENTIAL = {
    "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"],
    "type": ["VerifiableCredential", "AlumniCredential"],
    "name": "Alumni Credential",
    "issuer": ORG_DID,
    "validFrom": "2023-01-01T00:00:00Z",
    "credentialSubject": {"id": "did:example:abcdefgh", "alumniOf": "The School of Examples"},
}


@pytest.fixture(scope="module")
def valid_vc(stack: Stack) -> dict[str, Any]:
    return stack.issued(CREDENTIAL, {"cryptosuite": "eddsa-rdfc-2022"})


def _without(vc: dict[str, Any], path: str) -> dict[str, Any]:
    out = copy.deepcopy(vc)
    *parents, last = path.split(".")
    target = out
    for name in parents:
        target = target[name]
    del target[last]
    return out


# vc-api-verifier-test-suite tests/10-vc-di.js "MUST verify a valid VC."
def test_must_verify_a_valid_vc(stack: Stack, valid_vc: dict[str, Any]) -> None:
    response = stack.verify(valid_vc)
    assert response.status_code == 200, response.text
    assert response.json()["verified"] is True
    # vc-data-model-2.0-test-suite TestEndpoints.verify throws when errors is not empty.
    assert response.json()["errors"] == []


# vc-api-verifier-test-suite tests/10-vc-di.js "MUST not verify if "<property>" property is missing."
@pytest.mark.parametrize(
    "path",
    [
        "@context",
        "type",
        "issuer",
        "credentialSubject",
        "proof",
        "proof.type",
        "proof.created",
        "proof.verificationMethod",
        "proof.proofValue",
        "proof.proofPurpose",
    ],
)
def test_must_not_verify_if_property_is_missing(stack: Stack, valid_vc: dict[str, Any], path: str) -> None:
    response = stack.verify(_without(valid_vc, path))
    assert response.status_code == 400, (path, response.text)
    assert response.json()["verified"] is False


_NOT_ARRAY = ["string", {}, None, 10, True]
_NOT_STRING = [[], {}, None, 10, True]


# vc-api-verifier-test-suite tests/10-vc-di.js: "@context"/"type" not an array, items not strings,
# "issuer" not an object or string, "credentialSubject" not an object, "proof" not an object.
@pytest.mark.parametrize(
    ("member", "values"),
    [
        ("@context", _NOT_ARRAY),
        ("@context", [[v] for v in _NOT_STRING]),
        ("type", _NOT_ARRAY),
        ("type", [[v] for v in _NOT_STRING]),
        ("issuer", [[], None, 10, True]),
        ("credentialSubject", ["string", None, 10, True, []]),
        ("proof", ["string", None, 10, True, []]),
    ],
    ids=["context-not-array", "context-items", "type-not-array", "type-items", "issuer", "subject", "proof"],
)
def test_must_not_verify_if_member_has_wrong_json_type(
    stack: Stack, valid_vc: dict[str, Any], member: str, values: list[Any]
) -> None:
    for value in values:
        response = stack.verify({**valid_vc, member: value})
        assert response.status_code == 400, (member, value, response.text)
