"""did:jwk (quartzjer/did-jwk spec.md): the spec's examples, round trips, refusals.

Vectors: tests/vectors/did-jwk/ (see SOURCE.md there).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from did_agents import multibase
from did_agents.did import jwk as did_jwk
from did_agents.did.resolver import DIDResolver
from did_agents.errors import ResolutionError
from did_agents.keys import KeyType, generate

VECTORS = Path(__file__).parent.parent / "vectors" / "did-jwk"


def vector(name: str) -> Any:
    return json.loads((VECTORS / name).read_text())


def did_of(member_json: str) -> str:
    return "did:jwk:" + multibase.b64url_encode(member_json.encode())


def invalid(did: str) -> None:
    with pytest.raises(ResolutionError) as caught:
        did_jwk.resolve(did)
    assert caught.value.reason == "invalid_did"


def test_p256_example_expands_to_the_spec_document() -> None:
    example = vector("p256-example.json")
    assert did_jwk.document(example["did"]) == example["document"]
    assert did_jwk.verification_method_id(example["did"]) == example["didUrl"]


def test_p256_example_key_is_usable_for_every_relationship() -> None:
    example = vector("p256-example.json")
    doc = did_jwk.resolve(example["did"])
    vm = doc.authorized_method(example["didUrl"], "assertionMethod")
    assert vm.public_key.key_type is KeyType.P256
    assert vm.public_key.to_jwk() == example["document"]["verificationMethod"][0]["publicKeyJwk"]


def test_x25519_example_is_refused_as_unsupported() -> None:
    invalid(vector("x25519-example.json")["did"])


@pytest.mark.parametrize("key_type", list(KeyType))
def test_create_then_read_round_trips(key_type: KeyType) -> None:
    public = generate(key_type).public_key
    did = did_jwk.create(public)
    vm = did_jwk.resolve(did).authorized_method(did + "#0", "authentication")
    assert vm.public_key == public
    assert DIDResolver().resolve_offline(did) is not None


def test_create_serializes_members_in_lexicographic_order() -> None:
    public = generate(KeyType.ED25519).public_key
    encoded = did_jwk.create(public).removeprefix("did:jwk:")
    text = multibase.b64url_decode(encoded).decode()
    assert text == json.dumps(public.to_jwk(), separators=(",", ":"), sort_keys=True)


def test_use_sig_drops_key_agreement() -> None:
    jwk = {**generate().public_key.to_jwk(), "use": "sig"}
    doc = did_jwk.document(did_of(json.dumps(jwk)))
    assert "keyAgreement" not in doc
    assert doc["assertionMethod"] and doc["authentication"]


def test_use_enc_keeps_only_key_agreement() -> None:
    jwk = {**generate(KeyType.P256).public_key.to_jwk(), "use": "enc"}
    doc = did_jwk.document(did_of(json.dumps(jwk)))
    relationships = {"assertionMethod", "authentication", "capabilityInvocation", "capabilityDelegation"}
    assert relationships.isdisjoint(doc)
    assert doc["keyAgreement"] == [doc["verificationMethod"][0]["id"]]


@pytest.mark.parametrize("key_type", list(KeyType))
def test_private_key_material_is_refused(key_type: KeyType) -> None:
    # spec.md §Security: "a JWK for a private key must never be used and must be rejected".
    invalid(did_of(json.dumps(generate(key_type).to_jwk())))


@pytest.mark.parametrize("member", ["d", "p", "q", "dp", "dq", "qi", "oth", "k"])
def test_any_private_member_is_refused(member: str) -> None:
    jwk = {**generate().public_key.to_jwk(), member: "AAAA"}
    invalid(did_of(json.dumps(jwk)))


GOOD = json.dumps(generate().public_key.to_jwk())

INVALID = {
    "wrong prefix": "did:jwt:" + multibase.b64url_encode(GOOD.encode()),
    "empty": "did:jwk:",
    "padding": "did:jwk:" + base64.urlsafe_b64encode(GOOD.encode() + b" " * (len(GOOD) % 3 == 0)).decode(),
    "standard base64 alphabet": did_of(GOOD).replace("-", "+").replace("_", "/") + "+",
    "not JSON": did_of("{kty: OKP}"),
    "JSON array": did_of("[]"),
    "JSON string": did_of('"OKP"'),
    "duplicate member": did_of(GOOD[:-1] + ', "kty": "EC"}'),
    "RSA": did_of('{"kty":"RSA","n":"0vx7","e":"AQAB"}'),
    "secp256k1": did_of('{"kty":"EC","crv":"secp256k1","x":"AAAA","y":"AAAA"}'),
    "missing x": did_of('{"kty":"OKP","crv":"Ed25519"}'),
    "short x": did_of('{"kty":"OKP","crv":"Ed25519","x":"AAAA"}'),
    "nested too deep": did_of('{"kty":"OKP","crv":"Ed25519","x":' + "[" * 10 + "]" * 10 + "}"),
    "not UTF-8": "did:jwk:" + multibase.b64url_encode(b"\xff\xfe"),
}


def test_padding_vector_really_is_padded() -> None:
    assert INVALID["padding"].endswith("=")


@pytest.mark.parametrize("did", INVALID.values(), ids=INVALID.keys())
def test_malformed_did_jwk_is_refused(did: str) -> None:
    invalid(did)
