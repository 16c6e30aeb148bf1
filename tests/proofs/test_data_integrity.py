"""The generic Data Integrity rules (VC-DATA-INTEGRITY §2.1, §2.2, §4.2, §4.4, §5.9-5.11).

Each refusal checks the error class and its ``reason``. The suite-specific
algorithms and the W3C vectors are in ``test_eddsa_*.py`` / ``test_ecdsa_*.py``.
"""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from did_agents import multibase
from did_agents.clock import FixedClock, format_datetime
from did_agents.did.document import DIDDocument
from did_agents.did.key import create as did_key
from did_agents.did.key import verification_method_id
from did_agents.did.resolver import DIDResolver
from did_agents.errors import ResolutionError, SignatureError, VerificationError
from did_agents.keys import KeyType, PrivateKey, generate
from did_agents.multibase import _B58_ALPHABET
from did_agents.proofs import (
    DEFAULT_MAX_CLOCK_SKEW,
    VerifiedProof,
    add_proof,
    supported_cryptosuites,
    verify_proof,
)
from did_agents.proofs.data_integrity import _proof_bytes
from tests.proofs.conftest import EDDSA, VECTOR_CREATED, read_json

pytestmark = pytest.mark.anyio

NOW = VECTOR_CREATED
CREDENTIAL = read_json(EDDSA / "jcs" / "unsigned.json")
PRESENTATION = {
    "@context": ["https://www.w3.org/ns/credentials/v2"],
    "type": ["VerifiablePresentation"],
    "holder": "did:example:issuer",
}
ED_KEY = generate(KeyType.ED25519)
ED_VM = verification_method_id(did_key(ED_KEY.public_key))
P256_KEY = generate(KeyType.P256)
P256_VM = verification_method_id(did_key(P256_KEY.public_key))

# A controller document with keys under different verification relationships
# (DID Core §5.3): "#assert" may assert and authenticate, "#login" only
# authenticate, "#p256" is a P-256 assertion key, "#other" holds a key that
# nobody here signs with.
ISSUER = "did:example:issuer"
LOGIN_KEY = generate(KeyType.ED25519)
OTHER_KEY = generate(KeyType.ED25519)


def _multikey_method(fragment: str, key: PrivateKey) -> dict[str, str]:
    return {
        "id": f"{ISSUER}#{fragment}",
        "type": "Multikey",
        "controller": ISSUER,
        "publicKeyMultibase": key.public_key.to_multikey(),
    }


ISSUER_DOCUMENT = {
    "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
    "id": ISSUER,
    "verificationMethod": [
        _multikey_method("assert", ED_KEY),
        _multikey_method("login", LOGIN_KEY),
        _multikey_method("p256", P256_KEY),
        _multikey_method("other", OTHER_KEY),
    ],
    "assertionMethod": [f"{ISSUER}#assert", "#p256", "#other"],
    "authentication": [f"{ISSUER}#assert", f"{ISSUER}#login"],
}


class StaticMethod:
    """A DID method whose documents are given up front (stands in for did:web's network)."""

    def __init__(self, *documents: dict[str, Any]) -> None:
        self._documents = {doc["id"]: doc for doc in documents}

    async def resolve(self, did: str) -> DIDDocument:
        if did not in self._documents:
            raise ResolutionError(f"{did} not found", reason="not_found")
        return DIDDocument(copy.deepcopy(self._documents[did]))


@pytest.fixture
def resolver() -> DIDResolver:
    return DIDResolver(methods={"example": StaticMethod(ISSUER_DOCUMENT)})


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


def _sign(
    document: dict[str, Any] | None = None,
    *,
    key: PrivateKey = ED_KEY,
    vm: str = ED_VM,
    suite: str = "eddsa-jcs-2022",
    **options: Any,
) -> dict[str, Any]:
    options.setdefault("created", NOW)
    return add_proof(
        CREDENTIAL if document is None else document,
        key=key,
        verification_method=vm,
        cryptosuite=suite,
        **options,
    )


async def _verify(
    document: dict[str, Any],
    resolver: DIDResolver,
    clock: FixedClock,
    expected_purpose: Any = "assertionMethod",
    **options: Any,
) -> VerifiedProof:
    return await verify_proof(
        document, resolver=resolver, expected_purpose=expected_purpose, clock=clock, **options
    )


async def _refused(
    document: dict[str, Any],
    resolver: DIDResolver,
    clock: FixedClock,
    reason: str,
    error: type[VerificationError] = VerificationError,
    **options: Any,
) -> VerificationError:
    with pytest.raises(error) as info:
        await _verify(document, resolver, clock, **options)
    assert info.value.reason == reason, info.value.description
    return info.value


def _with_proof(**changes: Any) -> dict[str, Any]:
    signed = _sign()
    for name, value in changes.items():
        if value is None:
            signed["proof"].pop(name, None)
        else:
            signed["proof"][name] = value
    return signed


def _containers(value: Any) -> list[Any]:
    """Every dict and list inside a JSON value, the value itself included."""
    if isinstance(value, dict):
        return [value, *(c for v in value.values() for c in _containers(v))]
    if isinstance(value, list):
        return [value, *(c for v in value for c in _containers(v))]
    return []


class TestRoundTrip:
    @pytest.mark.parametrize(
        ("suite", "key", "vm"),
        [
            ("eddsa-jcs-2022", ED_KEY, ED_VM),
            ("eddsa-rdfc-2022", ED_KEY, ED_VM),
            ("ecdsa-rdfc-2019", P256_KEY, P256_VM),
        ],
    )
    async def test_add_then_verify(
        self, suite: str, key: PrivateKey, vm: str, resolver: DIDResolver, clock: FixedClock
    ) -> None:
        expires = NOW + timedelta(hours=1)
        signed = _sign(key=key, vm=vm, suite=suite, expires=expires)
        verified = await _verify(signed, resolver, clock)
        assert verified == VerifiedProof(
            verification_method=verified.verification_method,
            controller=vm.split("#")[0],
            cryptosuite=suite,
            proof_purpose="assertionMethod",
            created=NOW,
            expires=expires,
        )
        assert verified.verification_method.id == vm

    def test_all_three_suites_are_registered(self) -> None:
        assert set(supported_cryptosuites()) >= {"eddsa-rdfc-2022", "eddsa-jcs-2022", "ecdsa-rdfc-2019"}

    async def test_did_web_style_controller_document(self, resolver: DIDResolver, clock: FixedClock) -> None:
        signed = _sign(vm=f"{ISSUER}#assert")
        verified = await _verify(signed, resolver, clock)
        assert verified.controller == ISSUER

    async def test_verify_does_not_mutate_the_document(
        self, resolver: DIDResolver, clock: FixedClock
    ) -> None:
        signed = _sign()
        before = copy.deepcopy(signed)
        await _verify(signed, resolver, clock)
        assert signed == before


class TestAddProof:
    """DI §4.2 "Add Proof"."""

    def test_returns_a_new_document_and_never_mutates_the_input(self) -> None:
        document = copy.deepcopy(CREDENTIAL)
        signed = _sign(document)
        assert document == CREDENTIAL
        assert "proof" not in document
        signed["credentialSubject"]["alumniOf"] = "changed"
        signed["@context"].append("https://w3id.org/did-agents/v1")
        assert document == CREDENTIAL
        assert signed["proof"]["@context"] == CREDENTIAL["@context"]

    @pytest.mark.parametrize(
        ("suite", "key", "vm"),
        [
            ("eddsa-jcs-2022", ED_KEY, ED_VM),
            ("eddsa-rdfc-2022", ED_KEY, ED_VM),
            ("ecdsa-rdfc-2019", P256_KEY, P256_VM),
        ],
    )
    def test_no_suite_mutates_or_shares_the_callers_document(
        self, suite: str, key: PrivateKey, vm: str
    ) -> None:
        # DI §4.2 steps 5-7 (a copy of the input document with the proof set) and
        # add_proof's contract: the result shares no dict or list with the input, so
        # changing one afterwards cannot change the other, nor what was signed.
        document = copy.deepcopy(CREDENTIAL)
        document["credentialSubject"] = {"id": "did:example:subject", "alumniOf": [{"name": "U"}]}
        before = copy.deepcopy(document)
        signed = _sign(document, key=key, vm=vm, suite=suite)
        assert document == before
        assert {k: v for k, v in signed.items() if k != "proof"} == document
        mine = {id(value) for value in _containers(document)}
        assert not [value for value in _containers(signed) if id(value) in mine]
        in_proof = {id(value) for value in _containers(signed["proof"])}
        rest = {k: v for k, v in signed.items() if k != "proof"}
        assert not [value for value in _containers(rest) if id(value) in in_proof]

    def test_created_defaults_to_the_clock(self) -> None:
        clock = FixedClock(NOW + timedelta(seconds=7, microseconds=5))
        proof = add_proof(
            CREDENTIAL, key=ED_KEY, verification_method=ED_VM, cryptosuite="eddsa-jcs-2022", clock=clock
        )["proof"]
        # DI §2.1: a dateTimeStamp; whole seconds in UTC.
        assert proof["created"] == format_datetime(NOW + timedelta(seconds=7))

    def test_options_become_proof_members(self) -> None:
        proof = _sign(
            expires=NOW + timedelta(minutes=5),
            challenge="n-0S6_WzA2Mj",
            domain="https://verifier.example",
            proof_purpose="authentication",
        )["proof"]
        assert proof["expires"] == format_datetime(NOW + timedelta(minutes=5))
        assert proof["challenge"] == "n-0S6_WzA2Mj"
        assert proof["domain"] == "https://verifier.example"
        assert proof["proofPurpose"] == "authentication"
        assert proof["proofValue"].startswith("z")

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"suite": "eddsa-2022"}, "not supported"),
            ({"key": P256_KEY, "vm": P256_VM}, "Ed25519"),
            ({"vm": P256_VM}, "did:key"),
            ({"expires": NOW}, "after created"),
            ({"proof_purpose": "keyAgreement"}, "proof purpose"),
            ({"created": NOW.replace(tzinfo=None)}, "timezone-aware"),
        ],
    )
    def test_misuse_is_a_value_error(self, kwargs: dict[str, Any], match: str) -> None:
        with pytest.raises(ValueError, match=match):
            _sign(**kwargs)

    def test_a_second_proof_is_refused(self) -> None:
        # Proof sets (DI §4.3) are not supported.
        with pytest.raises(ValueError, match="proof sets"):
            _sign(_sign())


class TestShape:
    """DI §4.4 steps 2-4, §2.1: what a proof must look like."""

    async def test_document_without_proof(self, resolver: DIDResolver, clock: FixedClock) -> None:
        await _refused(copy.deepcopy(CREDENTIAL), resolver, clock, "malformed")

    @pytest.mark.parametrize("count", [1, 2])
    async def test_proof_set_is_refused(self, count: int, resolver: DIDResolver, clock: FixedClock) -> None:
        signed = _sign()
        signed["proof"] = [copy.deepcopy(signed["proof"]) for _ in range(count)]
        error = await _refused(signed, resolver, clock, "malformed")
        assert "not supported" in error.description

    async def test_proof_chain_is_refused(self, resolver: DIDResolver, clock: FixedClock) -> None:
        await _refused(_with_proof(previousProof="urn:uuid:1"), resolver, clock, "malformed")

    @pytest.mark.parametrize("proof", ["z3abc", 42, None])
    async def test_proof_must_be_an_object(
        self, proof: Any, resolver: DIDResolver, clock: FixedClock
    ) -> None:
        await _refused({**CREDENTIAL, "proof": proof}, resolver, clock, "malformed")

    async def test_document_must_be_an_object(self, resolver: DIDResolver, clock: FixedClock) -> None:
        await _refused([_sign()], resolver, clock, "malformed")  # type: ignore[arg-type]

    @pytest.mark.parametrize("member", ["type", "verificationMethod", "proofPurpose", "cryptosuite"])
    @pytest.mark.parametrize("value", [None, 42, ""])
    async def test_required_members_are_non_empty_strings(
        self, member: str, value: Any, resolver: DIDResolver, clock: FixedClock
    ) -> None:
        await _refused(_with_proof(**{member: value}), resolver, clock, "malformed")

    async def test_other_proof_types_are_wrong_proof_type(
        self, resolver: DIDResolver, clock: FixedClock
    ) -> None:
        await _refused(_with_proof(type="Ed25519Signature2020"), resolver, clock, "wrong_proof_type")

    @pytest.mark.parametrize("suite", ["eddsa-2022", "jcs-eddsa-2022", "EDDSA-JCS-2022"])
    async def test_unknown_cryptosuite(self, suite: str, resolver: DIDResolver, clock: FixedClock) -> None:
        await _refused(_with_proof(cryptosuite=suite), resolver, clock, "unsupported_cryptosuite")

    async def test_cryptosuite_outside_the_verifier_allowlist(
        self, resolver: DIDResolver, clock: FixedClock
    ) -> None:
        # SECURITY SEC-35: a registered suite the verifier did not allow.
        signed = _sign(key=P256_KEY, vm=P256_VM, suite="ecdsa-rdfc-2019")
        await _refused(
            signed,
            resolver,
            clock,
            "unsupported_cryptosuite",
            allowed_cryptosuites={"eddsa-rdfc-2022", "eddsa-jcs-2022"},
        )

    @pytest.mark.parametrize(
        "proof_value",
        [
            pytest.param(None, id="missing"),
            pytest.param(42, id="not-a-string"),
            pytest.param("u" + "A" * 86, id="base64url-multibase"),
            pytest.param("z0OIl" * 10, id="not-base58"),
            pytest.param("z" + "2" * 300, id="too-long"),
        ],
    )
    async def test_proof_value_must_be_base58btc_multibase(
        self, proof_value: Any, resolver: DIDResolver, clock: FixedClock
    ) -> None:
        await _refused(_with_proof(proofValue=proof_value), resolver, clock, "malformed")


class TestSignature:
    async def test_tampered_claim(self, resolver: DIDResolver, clock: FixedClock) -> None:
        signed = _sign()
        signed["credentialSubject"]["alumniOf"] = "Evil U"
        await _refused(signed, resolver, clock, "bad_signature", SignatureError)

    @pytest.mark.parametrize("suite", ["eddsa-jcs-2022", "eddsa-rdfc-2022"])
    async def test_tampered_proof_value(self, suite: str, resolver: DIDResolver, clock: FixedClock) -> None:
        signed = _sign(suite=suite)
        raw = bytearray(multibase.decode(signed["proof"]["proofValue"]))
        raw[10] ^= 0x01
        signed["proof"]["proofValue"] = multibase.encode(bytes(raw))
        await _refused(signed, resolver, clock, "bad_signature", SignatureError)

    async def test_truncated_proof_value(self, resolver: DIDResolver, clock: FixedClock) -> None:
        signed = _sign()
        signed["proof"]["proofValue"] = multibase.encode(multibase.decode(signed["proof"]["proofValue"])[:63])
        await _refused(signed, resolver, clock, "bad_signature", SignatureError)

    async def test_signature_by_another_key(self, resolver: DIDResolver, clock: FixedClock) -> None:
        # The proof names #other, but ED_KEY signed: the resolved key does not verify it.
        await _refused(_sign(vm=f"{ISSUER}#other"), resolver, clock, "bad_signature", SignatureError)

    async def test_proof_moved_to_another_verification_method(
        self, resolver: DIDResolver, clock: FixedClock
    ) -> None:
        other = generate(KeyType.ED25519)
        signed = _with_proof(verificationMethod=verification_method_id(did_key(other.public_key)))
        await _refused(signed, resolver, clock, "bad_signature", SignatureError)


class TestVerificationMethod:
    """CID 1.0 "Retrieve Verification Method"; DI §5.9, §5.10."""

    async def test_key_only_under_authentication_cannot_assert(
        self, resolver: DIDResolver, clock: FixedClock
    ) -> None:
        # SECURITY SEC-27 (c): a login key signing a credential.
        signed = _sign(key=LOGIN_KEY, vm=f"{ISSUER}#login")
        await _refused(signed, resolver, clock, "wrong_purpose")

    async def test_key_only_under_authentication_can_authenticate(
        self, resolver: DIDResolver, clock: FixedClock
    ) -> None:
        signed = _sign(PRESENTATION, key=LOGIN_KEY, vm=f"{ISSUER}#login", proof_purpose="authentication")
        verified = await _verify(signed, resolver, clock, expected_purpose="authentication")
        assert verified.proof_purpose == "authentication"

    async def test_unknown_fragment(self, resolver: DIDResolver, clock: FixedClock) -> None:
        await _refused(_sign(vm=f"{ISSUER}#missing"), resolver, clock, "unknown_key")

    @pytest.mark.parametrize(
        "vm",
        [
            "did:example:nobody#key-1",
            "did:unknownmethod:abc#key-1",
            "https://vc.example/issuers/5678#key-1",
            "did:example:issuer",
        ],
    )
    async def test_unusable_verification_method_url(
        self, vm: str, resolver: DIDResolver, clock: FixedClock
    ) -> None:
        await _refused(_with_proof(verificationMethod=vm), resolver, clock, "unknown_key")

    async def test_p256_key_with_an_eddsa_suite(self, resolver: DIDResolver, clock: FixedClock) -> None:
        signed = _with_proof(verificationMethod=f"{ISSUER}#p256")
        await _refused(signed, resolver, clock, "wrong_key_type")
        # The same through did:key.
        signed = _sign(key=P256_KEY, vm=P256_VM, suite="ecdsa-rdfc-2019")
        signed["proof"]["cryptosuite"] = "eddsa-jcs-2022"
        await _refused(signed, resolver, clock, "wrong_key_type")


class TestProofPurpose:
    """DI §2.2, §4.4 step 5, §5.11 (SECURITY SEC-26)."""

    async def test_authentication_proof_is_not_an_assertion(
        self, resolver: DIDResolver, clock: FixedClock
    ) -> None:
        signed = _sign(proof_purpose="authentication")
        await _refused(signed, resolver, clock, "wrong_purpose")

    async def test_assertion_proof_is_not_an_authentication(
        self, resolver: DIDResolver, clock: FixedClock
    ) -> None:
        await _refused(
            _sign(PRESENTATION), resolver, clock, "wrong_purpose", expected_purpose="authentication"
        )

    async def test_expected_purpose_must_be_a_proof_purpose(
        self, resolver: DIDResolver, clock: FixedClock
    ) -> None:
        with pytest.raises(ValueError, match="proof purpose"):
            await _verify(_sign(), resolver, clock, expected_purpose="keyAgreement")


class TestChallengeAndDomain:
    """DI §4.4 steps 6-7 (SECURITY SEC-23/24)."""

    CHALLENGE = "c-7f3e"
    DOMAIN = "https://sts.example.com"

    def _presentation(self, **options: Any) -> dict[str, Any]:
        return _sign(PRESENTATION, proof_purpose="authentication", **options)

    async def test_matching_challenge_and_domain_verify(
        self, resolver: DIDResolver, clock: FixedClock
    ) -> None:
        signed = self._presentation(challenge=self.CHALLENGE, domain=self.DOMAIN)
        await _verify(
            signed,
            resolver,
            clock,
            expected_purpose="authentication",
            challenge=self.CHALLENGE,
            domain=self.DOMAIN,
        )

    @pytest.mark.parametrize("proof_challenge", [None, "c-other", "C-7F3E"])
    async def test_challenge_mismatch(
        self, proof_challenge: str | None, resolver: DIDResolver, clock: FixedClock
    ) -> None:
        signed = self._presentation(challenge=proof_challenge, domain=self.DOMAIN)
        await _refused(
            signed,
            resolver,
            clock,
            "challenge_mismatch",
            expected_purpose="authentication",
            challenge=self.CHALLENGE,
            domain=self.DOMAIN,
        )

    async def test_challenge_must_be_a_string(self, resolver: DIDResolver, clock: FixedClock) -> None:
        signed = self._presentation()
        signed["proof"]["challenge"] = ["c-7f3e"]
        await _refused(signed, resolver, clock, "malformed", expected_purpose="authentication")

    @pytest.mark.parametrize(
        "proof_domain",
        [
            pytest.param(None, id="missing"),
            pytest.param("https://other-sts.example", id="other"),
            pytest.param(["https://sts.example.com", "https://evil.example"], id="superset"),
        ],
    )
    async def test_domain_mismatch(self, proof_domain: Any, resolver: DIDResolver, clock: FixedClock) -> None:
        signed = self._presentation(challenge=self.CHALLENGE)
        if proof_domain is not None:
            signed["proof"]["domain"] = proof_domain
        await _refused(
            signed,
            resolver,
            clock,
            "domain_mismatch",
            expected_purpose="authentication",
            challenge=self.CHALLENGE,
            domain=self.DOMAIN,
        )

    async def test_domain_as_a_one_element_set_matches(
        self, resolver: DIDResolver, clock: FixedClock
    ) -> None:
        # DI §4.4 step 6: a single string is the set containing it.
        signed = self._presentation()
        signed["proof"]["domain"] = [self.DOMAIN]
        with pytest.raises(SignatureError):  # the domain check passes; the edit breaks the signature
            await _verify(signed, resolver, clock, expected_purpose="authentication", domain=self.DOMAIN)

    @pytest.mark.parametrize("proof_domain", [42, [], [1]])
    async def test_domain_shape(self, proof_domain: Any, resolver: DIDResolver, clock: FixedClock) -> None:
        signed = self._presentation()
        signed["proof"]["domain"] = proof_domain
        await _refused(signed, resolver, clock, "malformed", expected_purpose="authentication")

    async def test_proof_challenge_without_verifier_challenge_is_not_checked(
        self, resolver: DIDResolver, clock: FixedClock
    ) -> None:
        # DI §4.4 step 7 only applies "if challenge was given".
        await _verify(
            self._presentation(challenge="anything"), resolver, clock, expected_purpose="authentication"
        )


class TestTime:
    """DI §2.1 created / expires against the verifier's clock (SECURITY SEC-34)."""

    SKEW = DEFAULT_MAX_CLOCK_SKEW

    async def test_created_in_the_future_beyond_skew(self, resolver: DIDResolver, clock: FixedClock) -> None:
        signed = _sign(created=NOW + self.SKEW + timedelta(seconds=1))
        await _refused(signed, resolver, clock, "not_yet_valid")

    async def test_created_in_the_future_within_skew(self, resolver: DIDResolver, clock: FixedClock) -> None:
        await _verify(_sign(created=NOW + self.SKEW), resolver, clock)

    async def test_created_one_hour_ahead_with_zero_skew(
        self, resolver: DIDResolver, clock: FixedClock
    ) -> None:
        signed = _sign(created=NOW + timedelta(hours=1))
        await _refused(signed, resolver, clock, "not_yet_valid", max_clock_skew=timedelta(0))

    async def test_expired_beyond_skew(self, resolver: DIDResolver, clock: FixedClock) -> None:
        signed = _sign(created=NOW - timedelta(hours=1), expires=NOW - self.SKEW - timedelta(seconds=1))
        await _refused(signed, resolver, clock, "expired")

    async def test_expires_boundary_is_still_valid(self, resolver: DIDResolver, clock: FixedClock) -> None:
        signed = _sign(created=NOW - timedelta(hours=1), expires=NOW - self.SKEW)
        await _verify(signed, resolver, clock)
        clock.advance(1)
        await _refused(signed, resolver, clock, "expired")

    @pytest.mark.parametrize("member", ["created", "expires"])
    @pytest.mark.parametrize(
        "value",
        ["2023-02-24T23:36:38", "2023-02-30T00:00:00Z", "Sat 25 Feb 2023 07:16:31 PM CST", 1677281798],
    )
    async def test_time_must_be_a_date_time_stamp(
        self, member: str, value: Any, resolver: DIDResolver, clock: FixedClock
    ) -> None:
        await _refused(_with_proof(**{member: value}), resolver, clock, "malformed")

    async def test_negative_skew_is_misuse(self, resolver: DIDResolver, clock: FixedClock) -> None:
        with pytest.raises(ValueError, match="skew"):
            await _verify(_sign(), resolver, clock, max_clock_skew=timedelta(seconds=-1))


class TestProofValueEncoding:
    """DI §2.1 proofValue: base58-btc multibase (CID 1.0 §2.4), decoded on the hot path."""

    @given(st.binary(min_size=1, max_size=100))
    def test_decodes_what_multibase_encodes(self, raw: bytes) -> None:
        assert _proof_bytes({"proofValue": multibase.encode(raw, "z")}) == raw

    @given(st.text(min_size=1, max_size=20).filter(lambda t: not set(t) <= set(_B58_ALPHABET.decode())))
    def test_refuses_characters_outside_the_alphabet(self, text: str) -> None:
        with pytest.raises(VerificationError) as info:
            _proof_bytes({"proofValue": "z" + text})
        assert info.value.reason == "malformed"
