"""The verified-credential cache (did_agents/exchange/credential_cache.py): a hit only when
the same bytes, the same key material and the same time verdict hold."""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from did_agents.clock import FixedClock, format_datetime
from did_agents.credentials.verify import VerificationResult, issue_credential, verify_credential
from did_agents.did.document import DIDDocument
from did_agents.did.resolver import DIDResolver
from did_agents.exchange.credential_cache import VerifiedCredentialCache
from did_agents.keys import PrivateKey, generate

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ORG = "did:web:issuer.cache.example"
VM = f"{ORG}#key-1"


class _Web:
    """A did:web method whose document the test changes (rotation)."""

    def __init__(self, key: PrivateKey) -> None:
        self.key = key.public_key
        self.relationship = "assertionMethod"
        self.fetches = 0

    async def resolve(self, did: str) -> DIDDocument:
        self.fetches += 1
        method = {
            "id": VM,
            "type": "Multikey",
            "controller": ORG,
            "publicKeyMultibase": self.key.to_multikey(),
        }
        return DIDDocument({"id": ORG, "verificationMethod": [method], self.relationship: [VM]})


class World:
    def __init__(self) -> None:
        self.key = generate()
        self.clock = FixedClock(T0)
        self.web = _Web(self.key)
        # ttl 0: every resolution asks the did:web method (the document may change any time).
        self.resolver = DIDResolver(methods={"web": self.web}, clock=self.clock, ttl=timedelta(0))
        self.cache = VerifiedCredentialCache()

    def credential(self, *, suite: str = "eddsa-jcs-2022", **members: Any) -> dict[str, Any] | str:
        unsigned = {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "id": "urn:uuid:2d1f3c4e-1111-4a8e-9c55-0d7e1f2a3b4c",
            "type": ["VerifiableCredential"],
            "issuer": ORG,
            "validFrom": format_datetime(T0 - timedelta(days=1)),
            "credentialSubject": {"id": "did:example:subject"},
            **members,
        }
        return issue_credential(unsigned, key=self.key, verification_method=VM, suite=suite, clock=self.clock)  # type: ignore[arg-type]

    def verify(self, credential: Any) -> VerificationResult:
        return asyncio.run(self.cache(credential, resolver=self.resolver, clock=self.clock))


@pytest.fixture
def w() -> World:
    return World()


@pytest.mark.parametrize("suite", ["eddsa-jcs-2022", "eddsa-rdfc-2022", "jose"])
def test_a_repeated_credential_is_verified_once(w: World, suite: str) -> None:
    credential = w.credential(suite=suite)
    first = w.verify(credential)
    second = w.verify(copy.deepcopy(credential))  # equal content, another object
    assert first.verified and second is first
    assert (w.cache.misses, w.cache.hits) == (1, 1)


def test_a_hit_gives_the_same_verdict_as_verify_credential(w: World) -> None:
    credential = w.credential()
    w.verify(credential)
    cached = w.verify(credential)
    fresh = asyncio.run(verify_credential(credential, resolver=w.resolver, clock=w.clock))
    assert (cached.verified, cached.document, cached.format, cached.issuer, cached.verification_method) == (
        fresh.verified,
        fresh.document,
        fresh.format,
        fresh.issuer,
        fresh.verification_method,
    )


def test_changed_content_misses(w: World) -> None:
    credential = w.credential()
    assert isinstance(credential, dict)
    assert w.verify(credential).verified
    tampered = copy.deepcopy(credential)
    tampered["credentialSubject"]["id"] = "did:example:other"
    result = w.verify(tampered)
    assert not result.verified and "bad_signature" in result.codes
    assert w.cache.hits == 0


def test_numbers_of_another_type_are_other_content(w: World) -> None:
    credential = w.credential(
        **{"@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/did-agents/v1"]},
        credentialSubject={"id": "did:example:subject", "maxDepth": 1},
    )
    assert isinstance(credential, dict)
    assert w.verify(credential).verified
    other = copy.deepcopy(credential)
    other["credentialSubject"]["maxDepth"] = 1.0  # equal in Python, other JSON
    w.verify(other)
    assert w.cache.hits == 0


def test_a_refusal_is_never_cached(w: World) -> None:
    credential = w.credential()
    assert isinstance(credential, dict)
    credential["proof"]["proofValue"] = credential["proof"]["proofValue"][:-2] + "11"
    assert not w.verify(credential).verified
    assert not w.verify(credential).verified
    assert (w.cache.misses, w.cache.hits, len(w.cache)) == (2, 0, 0)


def test_a_key_rotated_out_of_the_did_document_misses(w: World) -> None:
    """CID 1.0 "Retrieve Verification Method": the key material is read again on every hit."""
    credential = w.credential()
    assert w.verify(credential).verified
    w.web.key = generate().public_key  # the issuer replaced #key-1
    result = w.verify(credential)
    assert not result.verified and "bad_signature" in result.codes
    assert w.cache.hits == 0


def test_a_key_moved_out_of_assertion_method_misses(w: World) -> None:
    credential = w.credential()
    assert w.verify(credential).verified
    w.web.relationship = "authentication"
    result = w.verify(credential)
    assert not result.verified and "wrong_purpose" in result.codes
    assert w.cache.hits == 0


def test_a_rotation_during_verification_is_not_recorded(w: World) -> None:
    """The key material before and after verifying must agree for the entry to be stored."""
    credential = w.credential()
    original = w.web.resolve

    async def rotating(did: str) -> DIDDocument:
        document = await original(did)
        if w.web.fetches == 2:  # the fetch inside verify_credential; the next one sees a new key
            w.web.key = generate().public_key
        return document

    w.web.resolve = rotating  # type: ignore[method-assign]
    assert w.verify(credential).verified
    assert len(w.cache) == 0


def test_the_entry_ends_at_valid_until(w: World) -> None:
    """VCDM 2.0 §4.9: after validUntil the credential is verified afresh (and is expired)."""
    credential = w.credential(validUntil=format_datetime(T0 + timedelta(minutes=5)))
    assert w.verify(credential).verified
    w.clock.advance(timedelta(minutes=4, seconds=59))
    assert w.verify(credential).verified and w.cache.hits == 1
    w.clock.advance(timedelta(seconds=1))
    w.verify(credential)
    assert w.cache.hits == 1 and w.cache.misses == 2


def test_the_entry_ends_at_the_proof_expiry(w: World) -> None:
    credential = w.credential()
    assert isinstance(credential, dict)
    # A proof with expires (DI §2.1), signed over the proof options.
    from did_agents.proofs import data_integrity

    unsecured = {k: v for k, v in credential.items() if k != "proof"}
    secured = data_integrity.add_proof(
        unsecured,
        key=w.key,
        verification_method=VM,
        cryptosuite="eddsa-jcs-2022",
        created=T0,
        expires=T0 + timedelta(minutes=2),
    )
    assert w.verify(secured).verified
    w.clock.advance(timedelta(minutes=2))
    w.verify(secured)
    assert w.cache.hits == 0 and w.cache.misses == 2


def test_the_entry_ends_at_the_jwt_exp(w: World) -> None:
    """RFC 7519 §4.1.4: a vc+jwt with exp is verified afresh from exp on."""
    from did_agents import jws

    claims = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "issuer": ORG,
        "credentialSubject": {"id": "did:example:subject"},
        "iat": int(T0.timestamp()),
        "exp": int((T0 + timedelta(minutes=3)).timestamp()),
    }
    token = jws.sign_compact(claims, w.key, typ="vc+jwt", kid=VM)
    assert w.verify(token).verified
    w.clock.advance(timedelta(minutes=3))
    w.verify(token)
    assert w.cache.hits == 0 and w.cache.misses == 2


def test_a_clock_stepping_back_misses(w: World) -> None:
    """SECURITY FLT-12: "not before" verdicts are kept only for later instants."""
    credential = w.credential()
    assert w.verify(credential).verified
    w.clock.advance(timedelta(seconds=-1))
    assert w.verify(credential).verified
    assert w.cache.hits == 0


def test_entries_age_out_after_the_ttl(w: World) -> None:
    w.cache = VerifiedCredentialCache(ttl=timedelta(seconds=30))
    credential = w.credential()
    w.verify(credential)
    w.clock.advance(timedelta(seconds=30))
    w.verify(credential)
    assert w.cache.hits == 0


def test_entries_are_bounded(w: World) -> None:
    w.cache = VerifiedCredentialCache(max_entries=2)
    credentials = [w.credential(id=f"urn:uuid:00000000-0000-4000-8000-00000000000{i}") for i in range(3)]
    for credential in credentials:
        w.verify(credential)
    assert len(w.cache) == 2
    w.verify(credentials[0])  # the oldest was evicted
    assert w.cache.hits == 0


def test_other_options_are_another_cache(w: World) -> None:
    """A cache narrowed to VC-JOSE does not answer a Data Integrity credential from memory."""
    w.cache = VerifiedCredentialCache(allowed_formats={"vc+jwt"})
    result = w.verify(w.credential())
    assert not result.verified and "unsupported_format" in result.codes
