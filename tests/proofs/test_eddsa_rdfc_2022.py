"""eddsa-rdfc-2022 (VC-DI-EDDSA §3.2) against the Recommendation's Appendix B.1 vectors."""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import pytest

from did_agents.clock import FixedClock
from did_agents.did.resolver import DIDResolver
from did_agents.errors import SignatureError, VerificationError
from did_agents.keys import PrivateKey
from did_agents.proofs import VerifiedProof, add_proof, get_cryptosuite, verify_proof
from tests.proofs.conftest import EDDSA, VECTOR_CREATED, read_hex, read_json

RDFC = EDDSA / "rdfc"
SUITE = "eddsa-rdfc-2022"
KEY = PrivateKey.from_multikey_secret(read_json(EDDSA / "key_pair.json")["secretKeyMultibase"])
UNSIGNED = read_json(RDFC / "unsigned.json")
SIGNED = read_json(RDFC / "signed.json")
PROOF_CONFIG = read_json(RDFC / "proof_config.json")
VM = PROOF_CONFIG["verificationMethod"]
# The proof options without the @context that §3.2.5 step 4 adds.
OPTIONS = {k: v for k, v in PROOF_CONFIG.items() if k != "@context"}
# A credential using only terms of the credentials v2 context.
V2_ONLY = {
    "@context": ["https://www.w3.org/ns/credentials/v2"],
    "id": "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33",
    "type": ["VerifiableCredential"],
    "issuer": "https://vc.example/issuers/5678",
    "validFrom": "2023-01-01T00:00:00Z",
    "credentialSubject": {"id": "did:example:abcdefgh"},
}

pytestmark = pytest.mark.anyio


def _sign(document: dict[str, Any]) -> dict[str, Any]:
    return add_proof(document, key=KEY, verification_method=VM, cryptosuite=SUITE, created=VECTOR_CREATED)


async def _verify(document: dict[str, Any], resolver: DIDResolver, clock: FixedClock) -> VerifiedProof:
    return await verify_proof(document, resolver=resolver, expected_purpose="assertionMethod", clock=clock)


class TestVectors:
    """Appendix B.1, step by step."""

    def test_transformation_is_the_published_canonical_nquads(self) -> None:
        # §3.2.3: RDFC-1.0 canonical N-Quads of the unsecured document.
        transformed = get_cryptosuite(SUITE).transform(UNSIGNED, OPTIONS)
        assert transformed == (RDFC / "canonical_document.nq").read_bytes()
        assert hashlib.sha256(transformed).digest() == read_hex(RDFC / "canonical_document.sha256.hex")

    def test_proof_configuration_takes_the_document_context(self) -> None:
        # §3.2.5 step 4: proofConfig.@context = unsecuredDocument.@context.
        configuration = get_cryptosuite(SUITE).proof_configuration(UNSIGNED, OPTIONS)
        assert configuration == (RDFC / "canonical_proof_config.nq").read_bytes()
        assert hashlib.sha256(configuration).digest() == read_hex(RDFC / "canonical_proof_config.sha256.hex")

    def test_hash_data_is_proof_config_hash_then_document_hash(self) -> None:
        suite = get_cryptosuite(SUITE)
        hash_data = suite.hash(
            (RDFC / "canonical_document.nq").read_bytes(), (RDFC / "canonical_proof_config.nq").read_bytes()
        )
        assert hash_data == read_hex(RDFC / "combined_hash.hex")

    def test_serialization_is_the_published_signature(self) -> None:
        signature = get_cryptosuite(SUITE).serialize(read_hex(RDFC / "combined_hash.hex"), KEY)
        assert signature == read_hex(RDFC / "signature.hex")

    def test_add_proof_reproduces_the_published_signed_credential(self) -> None:
        signed = _sign(UNSIGNED)
        assert signed == SIGNED
        # §3.2.1: the proof is a clone of the options; it carries no @context.
        assert "@context" not in signed["proof"]
        assert list(signed["proof"]) == list(SIGNED["proof"])

    async def test_published_signed_credential_verifies(
        self, resolver: DIDResolver, vector_clock: FixedClock
    ) -> None:
        verified = await _verify(SIGNED, resolver, vector_clock)
        assert verified.cryptosuite == SUITE
        assert verified.proof_purpose == "assertionMethod"
        assert verified.verification_method.id == VM


class TestSafeMode:
    """JSON-LD processing refuses what it would drop (VC-DI-EDDSA §3.2 advisement, SECURITY SEC-29/31)."""

    async def test_undefined_term_added_after_signing_is_refused(
        self, resolver: DIDResolver, vector_clock: FixedClock
    ) -> None:
        # Without safe mode the added term would be dropped and the signature would still verify.
        doc = _sign(V2_ONLY)
        doc["credentialSubject"] = {**doc["credentialSubject"], "undefinedClaim": "x"}
        with pytest.raises(VerificationError) as info:
            await _verify(doc, resolver, vector_clock)
        assert info.value.reason == "undefined_term"

    def test_undefined_term_cannot_be_signed(self) -> None:
        document = copy.deepcopy(V2_ONLY)
        document["credentialSubject"]["undefinedClaim"] = "x"
        with pytest.raises(VerificationError) as info:
            _sign(document)
        assert info.value.reason == "undefined_term"

    async def test_unknown_context_is_refused(self, resolver: DIDResolver, vector_clock: FixedClock) -> None:
        doc = copy.deepcopy(SIGNED)
        doc["@context"] = ["https://www.w3.org/ns/credentials/v2", "https://evil.example/context/v1"]
        with pytest.raises(VerificationError) as info:
            await _verify(doc, resolver, vector_clock)
        assert info.value.reason == "unknown_context"


class TestProofContext:
    """A proof @context must be the document's (module docstring of eddsa_rdfc_2022)."""

    async def test_proof_context_equal_to_the_documents_verifies(
        self, resolver: DIDResolver, vector_clock: FixedClock
    ) -> None:
        # §3.2.5 step 4 replaces it by the document's, so the signature is unchanged.
        doc = copy.deepcopy(SIGNED)
        doc["proof"]["@context"] = copy.deepcopy(SIGNED["@context"])
        await _verify(doc, resolver, vector_clock)

    async def test_proof_context_differing_from_the_documents_is_refused(
        self, resolver: DIDResolver, vector_clock: FixedClock
    ) -> None:
        doc = copy.deepcopy(SIGNED)
        doc["proof"]["@context"] = ["https://www.w3.org/ns/credentials/v2"]
        with pytest.raises(VerificationError) as info:
            await _verify(doc, resolver, vector_clock)
        assert info.value.reason == "malformed"


class TestTampering:
    @pytest.mark.parametrize(
        "mutate",
        [
            pytest.param(lambda d: d["credentialSubject"].update(alumniOf="Evil U"), id="claim"),
            pytest.param(lambda d: d.update(issuer="https://evil.example/issuer"), id="issuer"),
            pytest.param(lambda d: d["type"].append("VerifiablePresentation"), id="type-appended"),
            pytest.param(lambda d: d.update(validUntil="2099-01-01T00:00:00Z"), id="member-added"),
            pytest.param(lambda d: d["proof"].update(proofPurpose="authentication"), id="proof-purpose"),
        ],
    )
    async def test_changed_document_does_not_verify(self, mutate: Any, resolver: DIDResolver) -> None:
        doc = copy.deepcopy(SIGNED)
        mutate(doc)
        purpose = doc["proof"]["proofPurpose"]
        with pytest.raises(SignatureError) as info:
            await verify_proof(
                doc, resolver=resolver, expected_purpose=purpose, clock=FixedClock(VECTOR_CREATED)
            )
        assert info.value.reason == "bad_signature"

    async def test_reordered_members_still_verify(
        self, resolver: DIDResolver, vector_clock: FixedClock
    ) -> None:
        # RDFC-1.0 signs the RDF dataset, not the JSON layout.
        doc = dict(reversed(list(copy.deepcopy(SIGNED).items())))
        await _verify(doc, resolver, vector_clock)
