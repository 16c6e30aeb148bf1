"""eddsa-jcs-2022 (VC-DI-EDDSA §3.3) against the Recommendation's Appendix B.3 vectors."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import unicodedata
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from did_agents import multibase
from did_agents.clock import FixedClock
from did_agents.did.resolver import DIDResolver
from did_agents.errors import SignatureError, VerificationError
from did_agents.keys import PrivateKey
from did_agents.proofs import add_proof, get_cryptosuite, verify_proof
from tests.proofs.conftest import EDDSA, VECTOR_CREATED, read_hex, read_json

JCS = EDDSA / "jcs"
SUITE = "eddsa-jcs-2022"
KEY = PrivateKey.from_multikey_secret(read_json(EDDSA / "key_pair.json")["secretKeyMultibase"])
UNSIGNED = read_json(JCS / "unsigned.json")
SIGNED = read_json(JCS / "signed.json")
PROOF_CONFIG = read_json(JCS / "proof_config.json")
VM = PROOF_CONFIG["verificationMethod"]

pytestmark = pytest.mark.anyio


def _sign(document: dict[str, Any], **options: Any) -> dict[str, Any]:
    options.setdefault("created", VECTOR_CREATED)
    return add_proof(document, key=KEY, verification_method=VM, cryptosuite=SUITE, **options)


async def _verify(document: dict[str, Any], resolver: DIDResolver, clock: FixedClock) -> Any:
    return await verify_proof(document, resolver=resolver, expected_purpose="assertionMethod", clock=clock)


class TestVectors:
    """Appendix B.3, step by step."""

    def test_key_pair_matches_the_published_public_key(self) -> None:
        assert KEY.public_key.to_multikey() == read_json(EDDSA / "key_pair.json")["publicKeyMultibase"]

    def test_transformation_is_the_published_jcs_document(self) -> None:
        # §3.3.3: JCS of the unsecured document.
        transformed = get_cryptosuite(SUITE).transform(UNSIGNED, PROOF_CONFIG)
        assert transformed == (JCS / "canonical_document.jcs").read_bytes()
        assert hashlib.sha256(transformed).digest() == read_hex(JCS / "canonical_document.sha256.hex")

    def test_proof_configuration_is_the_published_jcs_proof_options(self) -> None:
        # §3.3.5: JCS of the proof options, which carry the document's @context.
        configuration = get_cryptosuite(SUITE).proof_configuration(UNSIGNED, PROOF_CONFIG)
        assert configuration == (JCS / "canonical_proof_config.jcs").read_bytes()
        assert hashlib.sha256(configuration).digest() == read_hex(JCS / "canonical_proof_config.sha256.hex")

    def test_hash_data_is_proof_config_hash_then_document_hash(self) -> None:
        # §3.3.4 step 3: proofConfigHash || transformedDocumentHash.
        suite = get_cryptosuite(SUITE)
        hash_data = suite.hash(
            (JCS / "canonical_document.jcs").read_bytes(), (JCS / "canonical_proof_config.jcs").read_bytes()
        )
        assert hash_data == read_hex(JCS / "combined_hash.hex")

    def test_serialization_is_the_published_signature(self) -> None:
        # §3.3.6: Ed25519 is deterministic (RFC 8032 §5.1.6).
        signature = get_cryptosuite(SUITE).serialize(read_hex(JCS / "combined_hash.hex"), KEY)
        assert signature == read_hex(JCS / "signature.hex")

    def test_add_proof_reproduces_the_published_signed_credential(self) -> None:
        signed = _sign(UNSIGNED)
        assert signed == SIGNED
        assert signed["proof"]["proofValue"] == SIGNED["proof"]["proofValue"]
        # §3.3.1 step 2: the proof carries the document's @context; key order as in Example 39.
        assert list(signed["proof"]) == list(SIGNED["proof"])

    async def test_published_signed_credential_verifies(
        self, resolver: DIDResolver, vector_clock: FixedClock
    ) -> None:
        verified = await _verify(SIGNED, resolver, vector_clock)
        assert verified.cryptosuite == SUITE
        assert verified.controller == VM.split("#")[0]
        assert verified.verification_method.id == VM
        assert verified.created == VECTOR_CREATED


class TestProofContext:
    """§3.3.2 step 4: the proof's @context and the document's."""

    async def test_proof_without_context_verifies_against_the_document_as_is(
        self, resolver: DIDResolver, vector_clock: FixedClock
    ) -> None:
        # §3.3.1 note: some implementations skip step 2; such proofs hash the document unchanged.
        suite = get_cryptosuite(SUITE)
        options = {k: v for k, v in PROOF_CONFIG.items() if k != "@context"}
        hash_data = suite.hash(
            suite.transform(UNSIGNED, options), suite.proof_configuration(UNSIGNED, options)
        )
        proof = {**options, "proofValue": multibase.encode(suite.serialize(hash_data, KEY))}
        await _verify({**UNSIGNED, "proof": proof}, resolver, vector_clock)

    async def test_proof_context_differing_from_the_document_is_refused(
        self, resolver: DIDResolver, vector_clock: FixedClock
    ) -> None:
        tampered = copy.deepcopy(SIGNED)
        tampered["@context"] = ["https://www.w3.org/ns/credentials/v2"]
        with pytest.raises(VerificationError) as info:
            await _verify(tampered, resolver, vector_clock)
        assert info.value.reason == "malformed"

    async def test_context_appended_after_signing_is_refused(
        self, resolver: DIDResolver, vector_clock: FixedClock
    ) -> None:
        # Step 4.1 alone would accept it (the document "starts with" the proof's
        # contexts); with one proof the appended context is unsigned (DI §2.4.2).
        tampered = copy.deepcopy(SIGNED)
        tampered["@context"].append({"@vocab": "https://evil.example/#"})
        with pytest.raises(VerificationError) as info:
            await _verify(tampered, resolver, vector_clock)
        assert info.value.reason == "malformed"

    async def test_unknown_context_url_is_refused(
        self, resolver: DIDResolver, vector_clock: FixedClock
    ) -> None:
        document = {
            **UNSIGNED,
            "@context": ["https://www.w3.org/ns/credentials/v2", "https://evil.example/ctx"],
        }
        with pytest.raises(VerificationError) as info:
            _sign(document)
        assert info.value.reason == "unknown_context"
        # Also on verification (a proof made elsewhere).
        suite = get_cryptosuite(SUITE)
        with pytest.raises(VerificationError) as info:
            suite.transform(document, PROOF_CONFIG)
        assert info.value.reason == "unknown_context"

    async def test_plain_json_without_context_round_trips(
        self, resolver: DIDResolver, vector_clock: FixedClock
    ) -> None:
        # VC-DATA-INTEGRITY §2.1 Example 2: JCS secures plain JSON.
        signed = _sign({"myWebsite": "https://hello.world.example/"})
        assert "@context" not in signed["proof"]
        await _verify(signed, resolver, vector_clock)


class TestTampering:
    """Every byte JCS sees is signed (SECURITY SEC-25, SEC-31)."""

    @pytest.mark.parametrize(
        "mutate",
        [
            pytest.param(lambda d: d["credentialSubject"].update(alumniOf="Evil U"), id="claim"),
            pytest.param(lambda d: d["type"].append("AdminCredential"), id="type-appended"),
            pytest.param(lambda d: d.update(validUntil="2099-01-01T00:00:00Z"), id="member-added"),
            pytest.param(lambda d: d["proof"].update(created="2023-02-24T23:36:39Z"), id="proof-option"),
            pytest.param(
                lambda d: d["credentialSubject"].update(
                    alumniOf=unicodedata.normalize("NFD", "École des Exemples")
                ),
                id="nfd-vs-nfc",
            ),
            pytest.param(
                lambda d: d["credentialSubject"].update(AlumniOf=d["credentialSubject"].pop("alumniOf")),
                id="key-case",
            ),
        ],
    )
    async def test_changed_document_does_not_verify(
        self, mutate: Any, resolver: DIDResolver, vector_clock: FixedClock
    ) -> None:
        original = copy.deepcopy(UNSIGNED)
        original["credentialSubject"]["alumniOf"] = unicodedata.normalize("NFC", "École des Exemples")
        tampered = _sign(original)
        mutate(tampered)
        with pytest.raises(SignatureError) as info:
            await _verify(tampered, resolver, vector_clock)
        assert info.value.reason == "bad_signature"

    async def test_equal_json_numbers_are_one_canonical_form(
        self, resolver: DIDResolver, vector_clock: FixedClock
    ) -> None:
        # RFC 8785 §3.2.2.3: 1.0 and 1 are the same JSON number and serialize alike.
        signed = _sign({**UNSIGNED, "credentialSubject": {**UNSIGNED["credentialSubject"], "rank": 1.0}})
        signed["credentialSubject"]["rank"] = 1
        await _verify(signed, resolver, vector_clock)
        signed["credentialSubject"]["rank"] = 2
        with pytest.raises(SignatureError):
            await _verify(signed, resolver, vector_clock)

    @pytest.mark.parametrize(
        "value",
        [pytest.param("\ud800", id="lone-surrogate"), pytest.param(2**64 + 1, id="integer-beyond-double")],
    )
    async def test_value_without_a_canonical_form_is_malformed(
        self, value: Any, resolver: DIDResolver, vector_clock: FixedClock
    ) -> None:
        # RFC 8785 §3.2.2: no canonical form -> refused, not crashed or silently rounded.
        signed = copy.deepcopy(SIGNED)
        signed["credentialSubject"]["alumniOf"] = value
        with pytest.raises(VerificationError) as info:
            await _verify(signed, resolver, vector_clock)
        assert info.value.reason == "malformed"


json_leaves = st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=20)
json_values = st.recursive(
    json_leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=40, deadline=None)
@given(claims=st.dictionaries(st.text(min_size=1, max_size=8), json_values, max_size=5))
def test_round_trip_for_arbitrary_json_claims(claims: dict[str, Any]) -> None:
    document = {**UNSIGNED, "credentialSubject": {"id": "did:example:abcdefgh", **claims}}
    signed = _sign(document)
    assert document == {**UNSIGNED, "credentialSubject": {"id": "did:example:abcdefgh", **claims}}
    clock = FixedClock(VECTOR_CREATED)
    asyncio.run(verify_proof(signed, resolver=DIDResolver(), expected_purpose="assertionMethod", clock=clock))
