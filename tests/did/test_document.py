"""DID documents (DID Core §5): bounds and verification relationships."""

import pytest

from did_agents.did.document import MAX_VERIFICATION_METHODS, DIDDocument
from did_agents.errors import ResolutionError, VerificationError
from did_agents.keys import generate


def test_a_document_with_too_many_verification_methods_is_refused() -> None:
    # SECURITY SEC-49: a huge DID document must not cost unbounded parsing work.
    did = "did:web:example.com"
    key = generate().public_key.to_multikey()
    methods = [
        {"id": f"{did}#k{i}", "type": "Multikey", "controller": did, "publicKeyMultibase": key}
        for i in range(MAX_VERIFICATION_METHODS + 1)
    ]
    with pytest.raises(ResolutionError) as info:
        DIDDocument({"id": did, "verificationMethod": methods})
    assert info.value.reason == "invalid_did_document"
    DIDDocument({"id": did, "verificationMethod": methods[:MAX_VERIFICATION_METHODS]})


def test_a_key_only_under_authentication_cannot_assert() -> None:
    # VC Data Integrity "Verification Relationship Validation".
    did = "did:web:example.com"
    key = generate().public_key.to_multikey()
    doc = DIDDocument(
        {
            "id": did,
            "verificationMethod": [
                {"id": f"{did}#a", "type": "Multikey", "controller": did, "publicKeyMultibase": key}
            ],
            "authentication": ["#a"],
        }
    )
    assert doc.authorized_method("#a", "authentication").id == f"{did}#a"
    with pytest.raises(VerificationError) as info:
        doc.authorized_method(f"{did}#a", "assertionMethod")
    assert info.value.reason == "wrong_purpose"


def test_a_key_controlled_by_another_did_is_not_the_subjects() -> None:
    did = "did:web:example.com"
    key = generate().public_key.to_multikey()
    doc = DIDDocument(
        {
            "id": did,
            "verificationMethod": [
                {
                    "id": f"{did}#a",
                    "type": "Multikey",
                    "controller": "did:web:evil.example",
                    "publicKeyMultibase": key,
                }
            ],
            "assertionMethod": ["#a"],
        }
    )
    with pytest.raises(VerificationError) as info:
        doc.authorized_method("#a", "assertionMethod")
    assert info.value.reason == "unknown_key"
