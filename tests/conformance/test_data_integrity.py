"""w3c-ccg/data-integrity-test-suite-assertion (suites/create.js, suites/verify.js) and the
cryptosuite-specific parts of w3c/vc-di-eddsa-test-suite (tests/10-rdfc-create.js,
tests/20-rdfc-verify.js, tests/40-jcs-create.js, tests/50-jcs-verify.js).

The suites' verifier inputs are signed at run time by their ``vc-generator`` with
a did:key Ed25519 key (``vc-generator/generators.js``); we sign the same
variants with a did:key of our own and post them to our verifier.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from did_agents import multibase
from did_agents.did import key as did_key
from did_agents.keys import generate
from did_agents.proofs.data_integrity import add_proof
from tests.conformance.conftest import Stack
from tests.issuer.conftest import ORG_DID

# data-integrity-test-suite-assertion validVc.json
VALID_VC = {
    "@context": ["https://www.w3.org/ns/credentials/v2"],
    "type": ["VerifiableCredential"],
    "credentialSubject": {"name": "Alice"},
}
# assertions.js dateRegex (XMLSCHEMA11-2 dateTimeStamp)
DATE = re.compile(
    r"-?([1-9][0-9]{3,}|0[0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"T(([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?|(24:00:00(\.0+)?))"
    r"(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
)
SUITES = ["eddsa-rdfc-2022", "eddsa-jcs-2022"]
_KEY = generate()
_DID = did_key.create(_KEY.public_key)
_VM = did_key.verification_method_id(_DID)


# -- create (issuer) -------------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=SUITES)
def issued(request: pytest.FixtureRequest, stack: Stack) -> tuple[str, dict[str, Any]]:
    # helpers.js createInitialVc: a fresh urn:uuid id, issuer = the configured issuer id, the options.
    credential = {**VALID_VC, "id": "urn:uuid:0c07c1ce-57cb-41af-bef2-1b932b986873", "issuer": ORG_DID}
    return request.param, stack.issued(credential, {"cryptosuite": request.param})


def test_a_proof_property_must_be_used_and_be_an_object(issued: tuple[str, dict[str, Any]]) -> None:
    # create.js "When expressing a data integrity proof on an object, a proof property MUST be used."
    assert isinstance(issued[1]["proof"], dict)


def test_proof_type_is_dataintegrityproof_with_expected_contexts(issued: tuple[str, dict[str, Any]]) -> None:
    # create.js '"proof.type" field MUST be "DataIntegrityProof" and the associated document MUST include
    # expected contexts.'
    vc = issued[1]
    assert vc["proof"]["type"] == "DataIntegrityProof"
    assert "https://www.w3.org/ns/credentials/v2" in vc["@context"]


def test_cryptosuite_must_be_the_requested_string(issued: tuple[str, dict[str, Any]]) -> None:
    # create.js "If the proof type is DataIntegrityProof, cryptosuite MUST be specified" and
    # vc-di-eddsa tests/10-rdfc-create.js 'The field "cryptosuite" MUST be "eddsa-rdfc-2022".'
    suite, vc = issued
    assert vc["proof"]["cryptosuite"] == suite


def test_created_must_be_a_datetimestamp(issued: tuple[str, dict[str, Any]]) -> None:
    # create.js 'if "proof.created" field exists, it MUST be a valid XMLSCHEMA-11 dateTimeStamp value.'
    proof = issued[1]["proof"]
    for name in ("created", "expires"):
        if name in proof:
            assert DATE.fullmatch(proof[name]), proof[name]


def test_verification_method_and_purpose_are_urls(issued: tuple[str, dict[str, Any]]) -> None:
    # create.js "A verification method ... MUST be a string that maps to a [URL]" and
    # "proof.proofPurpose MUST be specified as a string that maps to a URL".
    proof = issued[1]["proof"]
    assert re.match(r"^(did|https):", proof["verificationMethod"])
    assert proof["verificationMethod"].startswith(ORG_DID + "#")
    assert proof["proofPurpose"] == "assertionMethod"


def test_proof_value_is_base58btc_multibase_of_64_bytes(issued: tuple[str, dict[str, Any]]) -> None:
    # create.js "proof.proofValue ... MUST be expressed with a header and encoding as described in Section 2.4
    # Multibase" (prefix z for eddsa) and vc-di-eddsa 10-rdfc-create.js '"proofValue" ... MUST be 64 bytes'.
    value = issued[1]["proof"]["proofValue"]
    assert value[0] == "z"
    assert re.fullmatch(r"[123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz]+", value[1:])
    assert len(multibase.decode(value)) == 64


def test_the_verification_method_is_a_multikey(stack: Stack, issued: tuple[str, dict[str, Any]]) -> None:
    # vc-di-eddsa 10-rdfc-create.js 'Dereferencing the "verificationMethod" MUST result in an object containing
    # a type property with "Multikey" value' and '"publicKeyMultibase" ... MUST be 34 bytes ... (z)'.
    document = stack.client.get(stack.issuer_url + "/.well-known/did.json").json()
    vm_id = issued[1]["proof"]["verificationMethod"]
    method = next(m for m in document["verificationMethod"] if m["id"] == vm_id)
    assert method["type"] == "Multikey"
    assert method["publicKeyMultibase"].startswith("z")
    assert len(multibase.decode(method["publicKeyMultibase"])) == 34
    assert vm_id in document["assertionMethod"]


def test_proof_must_verify_with_a_conformant_verifier(
    stack: Stack, issued: tuple[str, dict[str, Any]]
) -> None:
    # vc-di-eddsa 10-rdfc-create.js '"proof" MUST verify when using a conformant verifier.'
    response = stack.verify(issued[1])
    assert response.status_code == 200, response.text


# -- verify (verifier) ---------------------------------------------------------------------------------------


def _signed(suite: str = "eddsa-rdfc-2022", **kw: Any) -> dict[str, Any]:
    credential = {**VALID_VC, "id": "urn:uuid:86294362-4254-4f36-854f-3952fe42555d", "issuer": _DID}
    return add_proof(credential, key=_KEY, verification_method=_VM, cryptosuite=suite, **kw)


def _drop(name: str) -> Callable[[dict[str, Any]], None]:
    return lambda vc: vc["proof"].pop(name)


def _set(name: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda vc: vc["proof"].__setitem__(name, value)


@pytest.mark.parametrize("suite", SUITES)
def test_must_verify_a_valid_vc(stack: Stack, suite: str) -> None:
    # vc-di-eddsa 20-rdfc-verify.js "MUST verify a valid VC with an eddsa-rdfc-2022 proof" (50-jcs-verify.js too)
    response = stack.verify(_signed(suite))
    assert response.status_code == 200, response.text


MUTATIONS: dict[str, Callable[[dict[str, Any]], None]] = {
    # verify.js 'If the "proof" field is missing / invalid, an error MUST be raised.'
    "proof missing": lambda vc: vc.pop("proof"),
    "proof null": lambda vc: vc.__setitem__("proof", None),
    # verify.js "proof.type" missing / not "DataIntegrityProof" (generators.js invalidProofType)
    "proof.type missing": _drop("type"),
    "proof.type UnknownProofType": _set("type", "UnknownProofType"),
    # verify.js "proof.verificationMethod" missing / invalid (generators.js invalidVm: did:key:invalidVm)
    "proof.verificationMethod missing": _drop("verificationMethod"),
    "proof.verificationMethod invalid": _set("verificationMethod", "did:key:invalidVm"),
    # verify.js "proof.proofPurpose" missing / invalid
    "proof.proofPurpose missing": _drop("proofPurpose"),
    "proof.proofPurpose invalid": _set("proofPurpose", "invalidPurpose"),
    # verify.js "proof.proofValue" missing / invalid (null) / not multibase-encoded
    "proof.proofValue missing": _drop("proofValue"),
    "proof.proofValue null": _set("proofValue", None),
    "proof.proofValue without multibase header": lambda vc: vc["proof"].__setitem__(
        "proofValue", vc["proof"]["proofValue"][1:]
    ),
    # verify.js "The value of the cryptosuite property MUST be a string that identifies the cryptographic
    # suite" (generators.js invalidCryptosuite) and vc-di-eddsa 'If the "cryptosuite" field is not the string
    # "eddsa-rdfc-2022", an error MUST be raised.'
    "cryptosuite UnknownCryptosuite": _set("cryptosuite", "UnknownCryptosuite"),
    "cryptosuite of the other eddsa suite": _set("cryptosuite", "eddsa-jcs-2022"),
    # verify.js invalidCreated: "The date and time the proof was created ... MUST be ... dateTimeStamp"
    "proof.created invalidDate": _set("created", "invalidDate"),
    # vc-di-eddsa 20-rdfc-verify.js '"proofValue" ... not 64 bytes ... an error MUST be raised.'
    "proofValue 96 bytes": lambda vc: vc["proof"].__setitem__(
        "proofValue", multibase.encode(multibase.decode(vc["proof"]["proofValue"]) + bytes(range(32)))
    ),
}


@pytest.mark.parametrize("name", MUTATIONS)
def test_must_raise_an_error_for(stack: Stack, name: str) -> None:
    credential = copy.deepcopy(_signed())
    MUTATIONS[name](credential)
    response = stack.verify(credential)
    # assertions.js shouldBeErrorResponse: 400 or 422 (we answer 400, which every suite accepts).
    assert response.status_code == 400, (name, response.text)


def test_created_without_offset_must_be_interpreted_as_utc_and_refused(stack: Stack) -> None:
    # verify.js "(created) Time values that are incorrectly serialized without an offset MUST be interpreted as
    # UTC." The suite signs with such a value and expects an error.
    credential = _signed()
    credential["proof"]["created"] = credential["proof"]["created"].removesuffix("Z")
    assert stack.verify(credential).status_code == 400


def test_proof_purpose_must_match_expected_proof_purpose(stack: Stack) -> None:
    # verify.js 'If the "proof.proofPurpose" value does not match "options.expectedProofPurpose", an error
    # MUST be raised.' (the credential is signed for assertionMethod)
    credential = _signed()
    assert stack.verify(credential, expectedProofPurpose="assertionMethod").status_code == 200
    response = stack.verify(credential, expectedProofPurpose="authentication")
    assert response.status_code == 400
    assert "wrong_purpose" in [p["code"] for p in response.json()["problems"]]


def test_options_domain_and_challenge_must_match_the_proof(stack: Stack) -> None:
    # verify.js 'If the "options.domain" is set and it does not match "proof.domain"' and the same for
    # "options.challenge" (generators.js invalidDomain / invalidChallenge: authentication proofs).
    now = datetime(2026, 12, 1, 9, 0, 0, tzinfo=UTC)
    bad_domain = _signed(
        proof_purpose="authentication",
        domain="invalid-vc-domain.example.com",
        challenge="1235abcd6789",
        created=now,
    )
    response = stack.verify(bad_domain, domain="domain.example")
    assert response.status_code == 400
    assert "domain_mismatch" in [p["code"] for p in response.json()["problems"]]
    bad_challenge = _signed(
        proof_purpose="authentication", domain="domain.example", challenge="invalid-challenge", created=now
    )
    response = stack.verify(bad_challenge, domain="domain.example", challenge="1235abcd6789")
    assert response.status_code == 400
    assert "challenge_mismatch" in [p["code"] for p in response.json()["problems"]]
