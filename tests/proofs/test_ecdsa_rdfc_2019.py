"""ecdsa-rdfc-2019 with P-256 (VC-DI-ECDSA §3.2) against the Recommendation's Appendix A.1 vectors."""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from did_agents import multibase
from did_agents.clock import FixedClock
from did_agents.did.key import create as did_key
from did_agents.did.key import verification_method_id
from did_agents.did.resolver import DIDResolver
from did_agents.errors import SignatureError, VerificationError
from did_agents.keys import KeyType, PrivateKey, generate
from did_agents.proofs import VerifiedProof, add_proof, get_cryptosuite, verify_proof
from tests.proofs.conftest import ECDSA, EDDSA, VECTOR_CREATED, read_hex, read_json

P256 = ECDSA / "rdfc-p256"
SUITE = "ecdsa-rdfc-2019"
KEY_PAIR = read_json(P256 / "key_pair.json")
KEY = PrivateKey.from_multikey_secret(KEY_PAIR["secretKeyMultibase"])
UNSIGNED = read_json(P256 / "unsigned.json")
SIGNED = read_json(P256 / "signed.json")
PROOF_CONFIG = read_json(P256 / "proof_config.json")
OPTIONS = {k: v for k, v in PROOF_CONFIG.items() if k != "@context"}
VM = PROOF_CONFIG["verificationMethod"]

pytestmark = pytest.mark.anyio


async def _verify(document: dict[str, Any], resolver: DIDResolver, clock: FixedClock) -> VerifiedProof:
    return await verify_proof(document, resolver=resolver, expected_purpose="assertionMethod", clock=clock)


class TestVectors:
    """Appendix A.1, step by step."""

    def test_key_pair_is_p256_and_matches_the_published_public_key(self) -> None:
        assert KEY.key_type is KeyType.P256
        assert KEY.public_key.to_multikey() == KEY_PAIR["publicKeyMultibase"]

    def test_transformation_is_the_published_canonical_nquads(self) -> None:
        transformed = get_cryptosuite(SUITE).transform(UNSIGNED, OPTIONS)
        assert transformed == (P256 / "canonical_document.nq").read_bytes()
        assert hashlib.sha256(transformed).digest() == read_hex(P256 / "canonical_document.sha256.hex")

    def test_proof_configuration_takes_the_document_context(self) -> None:
        configuration = get_cryptosuite(SUITE).proof_configuration(UNSIGNED, OPTIONS)
        assert configuration == (P256 / "canonical_proof_config.nq").read_bytes()
        assert hashlib.sha256(configuration).digest() == read_hex(P256 / "canonical_proof_config.sha256.hex")

    def test_hash_data_uses_sha256_for_p256(self) -> None:
        # §3.2.4: P-256 -> SHA-256, proofConfigHash || transformedDocumentHash.
        suite = get_cryptosuite(SUITE)
        hash_data = suite.hash(
            (P256 / "canonical_document.nq").read_bytes(), (P256 / "canonical_proof_config.nq").read_bytes()
        )
        assert hash_data == read_hex(P256 / "combined_hash.hex")

    def test_published_signature_is_the_rfc6979_signature_of_our_hash_data(self) -> None:
        # Appendix A note: the vectors use deterministic ECDSA (RFC 6979). Recomputing it
        # shows that §3.2.6 signs hashData with ECDSA-P256-SHA256 and that r || s is the encoding.
        secret = int.from_bytes(
            multibase.decode_multicodec(multibase.decode(KEY_PAIR["secretKeyMultibase"]))[1]
        )
        private = ec.derive_private_key(secret, ec.SECP256R1())
        der = private.sign(
            read_hex(P256 / "combined_hash.hex"), ec.ECDSA(hashes.SHA256(), deterministic_signing=True)
        )
        r, s = decode_dss_signature(der)
        assert r.to_bytes(32, "big") + s.to_bytes(32, "big") == read_hex(P256 / "signature.hex")

    def test_published_signature_verifies_over_the_hash_data(self) -> None:
        get_cryptosuite(SUITE).verify(
            read_hex(P256 / "combined_hash.hex"), read_hex(P256 / "signature.hex"), KEY.public_key
        )

    def test_proof_value_is_the_base58btc_signature(self) -> None:
        assert multibase.decode(SIGNED["proof"]["proofValue"]) == read_hex(P256 / "signature.hex")

    async def test_published_signed_credential_verifies(
        self, resolver: DIDResolver, vector_clock: FixedClock
    ) -> None:
        verified = await _verify(SIGNED, resolver, vector_clock)
        assert verified.cryptosuite == SUITE
        assert verified.verification_method.public_key == KEY.public_key

    async def test_add_proof_with_the_vector_key_has_the_published_shape_and_verifies(
        self, resolver: DIDResolver, vector_clock: FixedClock
    ) -> None:
        # ECDSA here is randomized: same document and proof options, a different valid proofValue.
        signed = add_proof(
            UNSIGNED, key=KEY, verification_method=VM, cryptosuite=SUITE, created=VECTOR_CREATED
        )
        expected = copy.deepcopy(SIGNED)
        del expected["proof"]["proofValue"], signed["proof"]["proofValue"]
        assert signed == expected
        signed = add_proof(
            UNSIGNED, key=KEY, verification_method=VM, cryptosuite=SUITE, created=VECTOR_CREATED
        )
        await _verify(signed, resolver, vector_clock)


class TestP256Only:
    async def test_p384_vector_is_refused_clearly(
        self, resolver: DIDResolver, vector_clock: FixedClock
    ) -> None:
        # Appendix A.3: a P-384 proof. Not supported: refused, never mis-verified.
        with pytest.raises(VerificationError) as info:
            await _verify(read_json(ECDSA / "rdfc-p384" / "signed.json"), resolver, vector_clock)
        assert info.value.reason == "unknown_key"
        assert "P-256" in info.value.description

    async def test_ed25519_verification_method_is_refused(
        self, resolver: DIDResolver, vector_clock: FixedClock
    ) -> None:
        ed_vm = read_json(EDDSA / "rdfc" / "signed.json")["proof"]["verificationMethod"]
        doc = copy.deepcopy(SIGNED)
        doc["proof"]["verificationMethod"] = ed_vm
        with pytest.raises(VerificationError) as info:
            await _verify(doc, resolver, vector_clock)
        assert info.value.reason == "wrong_key_type"

    def test_signing_with_an_ed25519_key_is_misuse(self) -> None:
        ed = generate(KeyType.ED25519)
        with pytest.raises(ValueError, match="P-256"):
            add_proof(
                UNSIGNED,
                key=ed,
                verification_method=verification_method_id(did_key(ed.public_key)),
                cryptosuite=SUITE,
            )


class TestRoundTrip:
    async def test_fresh_key_round_trips_and_tampering_fails(
        self, resolver: DIDResolver, vector_clock: FixedClock
    ) -> None:
        key = generate(KeyType.P256)
        vm = verification_method_id(did_key(key.public_key))
        signed = add_proof(UNSIGNED, key=key, verification_method=vm, cryptosuite=SUITE, clock=vector_clock)
        verified = await _verify(signed, resolver, vector_clock)
        assert verified.controller == did_key(key.public_key)
        signed["credentialSubject"]["alumniOf"] = "Evil U"
        with pytest.raises(SignatureError) as info:
            await _verify(signed, resolver, vector_clock)
        assert info.value.reason == "bad_signature"
