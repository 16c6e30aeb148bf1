"""did:key (W3C CCG did:key Method v0.7) against the spec's own examples.

Vectors: tests/vectors/did-key/ (see SOURCE.md there).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import base58
import pytest

from did_agents import multibase
from did_agents.did import key as did_key
from did_agents.did.document import Relationship
from did_agents.did.resolver import DIDResolver
from did_agents.errors import ResolutionError
from did_agents.keys import KeyType, PublicKey, generate

VECTORS = Path(__file__).parent.parent / "vectors" / "did-key"
RELATIONSHIPS: tuple[Relationship, ...] = (
    "authentication",
    "assertionMethod",
    "capabilityDelegation",
    "capabilityInvocation",
)


def vector(name: str) -> Any:
    return json.loads((VECTORS / name).read_text())


def example_dids(supported: bool) -> list[str]:
    return [
        d for g in vector("example-dids.json")["groups"] if g["supported"] is supported for d in g["dids"]
    ]


def z(data: bytes) -> str:
    return "z" + base58.b58encode(data).decode()


def invalid(did: str) -> ResolutionError:
    with pytest.raises(ResolutionError) as caught:
        did_key.resolve(did)
    assert caught.value.reason == "invalid_did"
    return caught.value


# -- §Create: the example document ---------------------------------------------------------------


def test_create_example_document_has_the_spec_ids_and_relationships() -> None:
    expected = vector("ed25519-example-document.json")
    ours = did_key.document(expected["id"], enable_encryption_key_derivation=True)
    assert ours["id"] == expected["id"]
    assert ours["@context"][0] == "https://www.w3.org/ns/did/v1"  # §Document Creation: defaultContext
    ours_vms = {vm["id"]: vm for vm in ours["verificationMethod"]}
    spec_vms = {vm["id"]: vm for vm in expected["verificationMethod"] + expected["keyAgreement"]}
    assert ours_vms.keys() == spec_vms.keys()
    for vm_id, vm in ours_vms.items():
        # Same key material and controller; our publicKeyFormat is Multikey.
        assert vm["type"] == "Multikey"
        assert vm["controller"] == spec_vms[vm_id]["controller"] == expected["id"]
        assert vm["publicKeyMultibase"] == spec_vms[vm_id]["publicKeyMultibase"]
    for relationship in RELATIONSHIPS:
        assert ours[relationship] == expected[relationship]
    assert ours["keyAgreement"] == [vm["id"] for vm in expected["keyAgreement"]]


def test_read_expands_the_example_into_a_resolvable_document() -> None:
    did = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
    doc = did_key.resolve(did)
    vm_id = did_key.verification_method_id(did)
    assert vm_id == f"{did}#z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
    for relationship in RELATIONSHIPS:
        vm = doc.authorized_method(vm_id, relationship)
        assert vm.public_key.to_multikey() == "z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
    assert doc.is_authorized(vm_id, "keyAgreement") is False  # no X25519 key unless asked for


# -- §Test Vectors: Ed25519 / X25519 -------------------------------------------------------------


def test_ed25519_test_vector_key_as_jwk() -> None:
    jwk_vm = vector("ed25519-test-vector-verification-methods.json")["jwk"][0]
    doc = did_key.resolve(jwk_vm["controller"])
    vm = doc.verification_method(jwk_vm["id"])
    assert vm.public_key.to_jwk() == jwk_vm["publicKeyJwk"]
    assert vm.public_key.to_jwk()["x"] == "O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik"


def test_ed25519_test_vector_multicodec_methods() -> None:
    multicodec = vector("ed25519-test-vector-verification-methods.json")["multicodec"]
    did = multicodec[0]["controller"]
    ours = did_key.document(did, enable_encryption_key_derivation=True)["verificationMethod"]
    assert [(vm["id"], vm["publicKeyMultibase"]) for vm in ours] == [
        (vm["id"], vm["publicKeyMultibase"]) for vm in multicodec
    ]


def test_derive_encryption_key_gives_the_spec_x25519_key() -> None:
    # §Derive Encryption Key Algorithm: Ed25519 → X25519 (multicodec 0xec).
    vms = vector("ed25519-test-vector-verification-methods.json")
    did = vms["jwk"][0]["controller"]
    ours = did_key.document(did, enable_encryption_key_derivation=True)
    x25519 = ours["verificationMethod"][1]["publicKeyMultibase"]
    assert x25519 == "z6LShs9GGnqk85isEBzzshkuVWrVKsRp24GnDuHk8QWkARMW"
    code, raw = multibase.decode_multicodec(multibase.decode(x25519))
    assert code == multibase.X25519_PUB
    assert multibase.b64url_encode(raw) == vms["jwk"][1]["publicKeyJwk"]["x"]


@pytest.mark.parametrize("did", example_dids(supported=True))
def test_supported_example_dids_resolve(did: str) -> None:
    doc = did_key.resolve(did)
    assert doc.id == did
    vm = doc.authorized_method(did_key.verification_method_id(did), "assertionMethod")
    assert did_key.create(vm.public_key) == did
    expected = KeyType.P256 if did.startswith("did:key:zDn") else KeyType.ED25519
    assert vm.public_key.key_type is expected


@pytest.mark.parametrize("did", example_dids(supported=False))
def test_unsupported_key_types_are_refused(did: str) -> None:
    invalid(did)


@pytest.mark.parametrize("key_type", list(KeyType))
def test_create_then_read_round_trips(key_type: KeyType) -> None:
    public = generate(key_type).public_key
    did = did_key.create(public)
    assert did.startswith("did:key:z6Mk" if key_type is KeyType.ED25519 else "did:key:zDn")
    assert did_key.resolve(did).verification_method(did_key.verification_method_id(did)).public_key == public


# -- invalid identifiers ----------------------------------------------------------------------------

ED25519_RAW = PublicKey.from_multikey("z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK").raw
P256_RAW = PublicKey.from_multikey("zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169").raw


# x = 1 is not the x-coordinate of a P-256 point: x^3 - 3x + b is not a square mod p.
P256_OFF_CURVE = b"\x02" + (1).to_bytes(32, "big")


INVALID = {
    # §Document Creation step 3: scheme, method, version, multibase prefix → invalidDid
    "empty": "did:key:",
    "wrong method": "did:kee:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
    "wrong scheme": "dig:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
    "no multibase prefix": "did:key:6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
    "base64url multibase": "did:key:" + multibase.encode(b"\xed\x01" + ED25519_RAW, "u"),
    "version zero": "did:key:0:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
    "version not a number": "did:key:v1:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
    "too many parts": "did:key:1:2:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
    "not base58 (0OIl)": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2do0",
    "fragment": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK#key-1",
    # §Signature Method Creation step 3 → invalidPublicKeyLength
    "ed25519 31 bytes": "did:key:" + z(b"\xed\x01" + ED25519_RAW[:31]),
    "ed25519 33 bytes (trailing garbage)": "did:key:" + z(b"\xed\x01" + ED25519_RAW + b"\x00"),
    "p256 32 bytes": "did:key:" + z(b"\x80\x24" + P256_RAW[:32]),
    "p256 uncompressed": "did:key:" + z(b"\x80\x24" + b"\x04" + bytes(64)),
    "no key bytes": "did:key:" + z(b"\xed\x01"),
    # §Signature Method Creation step 4 → invalidPublicKey
    "p256 not on curve": "did:key:" + z(b"\x80\x24" + P256_OFF_CURVE),
    "ed25519 identity (small order)": "did:key:" + z(b"\xed\x01" + b"\x01" + bytes(31)),
    "ed25519 order-4 point": "did:key:" + z(b"\xed\x01" + bytes(32)),
    # unknown / unsupported multicodec → unsupportedPublicKeyType
    "secp256k1 labelled 0xe7": "did:key:" + z(b"\xe7\x01" + P256_RAW),
    "x25519 only": "did:key:" + z(b"\xec\x01" + ED25519_RAW),
    "unknown multicodec": "did:key:" + z(b"\x01" + ED25519_RAW),
    # §Decode Public Key step 2: varint decoding; a non-minimal varint is another encoding
    "non-minimal varint": "did:key:" + z(b"\xed\x81\x00" + ED25519_RAW),
    "unterminated varint": "did:key:" + z(b"\xff" * 10),
}


@pytest.mark.parametrize("did", INVALID.values(), ids=INVALID.keys())
def test_invalid_did_key_is_refused(did: str) -> None:
    invalid(did)


@pytest.mark.parametrize("did", [d for d in INVALID.values() if d.startswith("did:key:z")])
def test_resolver_refuses_invalid_did_key_offline(did: str) -> None:
    with pytest.raises(ResolutionError) as caught:
        DIDResolver().resolve_offline(did)
    assert caught.value.reason == "invalid_did"


def test_encryption_key_is_not_derived_by_default() -> None:
    doc = did_key.document("did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK")
    assert "keyAgreement" not in doc
    assert len(doc["verificationMethod"]) == 1


def test_p256_key_gets_no_x25519_derivation() -> None:
    doc = did_key.document(
        "did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169", enable_encryption_key_derivation=True
    )
    assert "keyAgreement" not in doc
