"""did_agents.proofs.jose: VC-JOSE-COSE vc+jwt / vp+jwt, enveloped credentials, DID-keyed JWTs."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from did_agents import jws
from did_agents.clock import FixedClock
from did_agents.did import key as did_key
from did_agents.did.document import DIDDocument
from did_agents.did.resolver import DIDResolver
from did_agents.errors import DIDAgentsError, MalformedError, SignatureError, VerificationError
from did_agents.keys import KeyType, PrivateKey, generate
from did_agents.proofs import jose

pytestmark = pytest.mark.anyio

VECTORS = Path(__file__).parent.parent / "vectors" / "vc-jose-cose"
T0 = datetime(2026, 12, 1, 9, 0, 0, tzinfo=UTC)
NOW = int(T0.timestamp())
VERIFIER = "https://sts.example.com"
CHALLENGE = "c-2f6f0b1e"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Party:
    """A did:key identity."""

    def __init__(self, key_type: KeyType = KeyType.ED25519) -> None:
        self.key = generate(key_type)
        self.did = did_key.create(self.key.public_key)
        self.kid = did_key.verification_method_id(self.did)


ISSUER = Party()
ISSUER_P256 = Party(KeyType.P256)
HOLDER = Party()
MALLORY = Party()


class StaticWeb:
    """did:web documents served from memory (the resolver's MethodResolver extension point)."""

    def __init__(self, docs: dict[str, dict[str, Any]]) -> None:
        self.docs = docs

    async def resolve(self, did: str) -> DIDDocument:
        return DIDDocument(self.docs[did])


WEB_DID = "did:web:org.example"
WEB_KEY = generate()


def _web_doc(relationships: dict[str, list[str]]) -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/did/v1"],
        "id": WEB_DID,
        "verificationMethod": [
            {
                "id": WEB_DID + "#key-1",
                "type": "Multikey",
                "controller": WEB_DID,
                "publicKeyMultibase": WEB_KEY.public_key.to_multikey(),
            }
        ],
        **relationships,
    }


@pytest.fixture
def resolver() -> DIDResolver:
    return DIDResolver()


def web_resolver(**relationships: list[str]) -> DIDResolver:
    resolver = DIDResolver()
    resolver.register("web", StaticWeb({WEB_DID: _web_doc(relationships)}))
    return resolver


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


def credential(issuer: Any = ISSUER.did, **extra: Any) -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": "urn:uuid:0f3c7a4e-1111-4e55-9d4b-5d8f5c3b2a10",
        "type": ["VerifiableCredential"],
        "issuer": issuer,
        "validFrom": "2026-12-01T09:00:00Z",
        "credentialSubject": {"id": HOLDER.did},
        **extra,
    }


def presentation(holder: Any = HOLDER.did, vcs: list[str] = (), **extra: Any) -> dict[str, Any]:  # type: ignore[assignment]
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "holder": holder,
        "verifiableCredential": [
            {
                "@context": ["https://www.w3.org/ns/credentials/v2"],
                "type": "EnvelopedVerifiableCredential",
                "id": jose.ENVELOPED_VC_PREFIX + vc,
            }
            for vc in vcs
        ],
        **extra,
    }


def decode(segment: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw_token(header: dict[str, Any], payload: dict[str, Any], signer: PrivateKey) -> str:
    """A token with any header at all (jws.sign_compact refuses to write key headers)."""
    signing_input = b64(json.dumps(header).encode()) + "." + b64(json.dumps(payload).encode())
    return signing_input + "." + b64(signer.sign(signing_input.encode()))


def refused(exc: pytest.ExceptionInfo[DIDAgentsError], cls: type[DIDAgentsError], reason: str) -> None:
    assert type(exc.value) is cls, f"{type(exc.value).__name__}: {exc.value}"
    assert exc.value.reason == reason


def forge_vc(payload: dict[str, Any], signer: PrivateKey = ISSUER.key, **header: Any) -> str:
    """A vc+jwt built without sign_vc_jwt's guard rails."""
    header.setdefault("typ", "vc+jwt")
    header.setdefault("kid", ISSUER.kid)
    typ, kid = header.pop("typ"), header.pop("kid")
    return jws.sign_compact(payload, signer, typ=typ, kid=kid, extra_headers=header or None)


# -- §3.1.1 vc+jwt ----------------------------------------------------------------------------------


def test_vc_jwt_payload_is_the_credential_itself() -> None:
    # VC-JOSE-COSE §3.1.1: "The unsecured verifiable credential is the unencoded JWS payload."
    vc = credential()
    header, payload, _ = jose.sign_vc_jwt(vc, ISSUER.key, kid=ISSUER.kid).split(".")
    assert decode(payload) == vc
    assert decode(header) == {"alg": "EdDSA", "typ": "vc+jwt", "kid": ISSUER.kid}


@pytest.mark.parametrize("issuer", [ISSUER, ISSUER_P256], ids=["EdDSA", "ES256"])
async def test_vc_jwt_round_trip(issuer: Party, resolver: DIDResolver, clock: FixedClock) -> None:
    vc = credential(issuer.did)
    verified = await jose.verify_vc_jwt(
        jose.sign_vc_jwt(vc, issuer.key, kid=issuer.kid), resolver=resolver, clock=clock
    )
    assert verified.document == vc
    assert verified.header["alg"] == issuer.key.alg
    assert verified.verification_method.id == issuer.kid


async def test_vc_jwt_issuer_object_with_id(resolver: DIDResolver, clock: FixedClock) -> None:
    vc = credential({"id": ISSUER.did, "name": "Urban Bites"})
    verified = await jose.verify_vc_jwt(
        jose.sign_vc_jwt(vc, ISSUER.key, kid=ISSUER.kid), resolver=resolver, clock=clock
    )
    assert verified.document["issuer"]["name"] == "Urban Bites"


async def test_vc_jwt_typ_application_form_is_accepted(resolver: DIDResolver, clock: FixedClock) -> None:
    # RFC 7515 §4.1.9: "vc+jwt" and "application/vc+jwt" name the same media type.
    token = forge_vc(credential(), typ="application/vc+jwt")
    assert (await jose.verify_vc_jwt(token, resolver=resolver, clock=clock)).document == credential()


@pytest.mark.parametrize("typ", [None, "JWT", "vp+jwt", "at+jwt", "VC+JWT", "application/vp+jwt"])
async def test_vc_jwt_requires_typ_vc_jwt(typ: str | None, resolver: DIDResolver, clock: FixedClock) -> None:
    with pytest.raises(VerificationError) as exc:
        await jose.verify_vc_jwt(forge_vc(credential(), typ=typ), resolver=resolver, clock=clock)
    refused(exc, VerificationError, "wrong_typ")


async def test_vc_jwt_signed_by_a_key_of_another_did_is_refused(
    resolver: DIDResolver, clock: FixedClock
) -> None:
    # SECURITY SEC-27a: the verification method must be the issuer's.
    token = forge_vc(credential(), signer=MALLORY.key, kid=MALLORY.kid)
    with pytest.raises(VerificationError) as exc:
        await jose.verify_vc_jwt(token, resolver=resolver, clock=clock)
    refused(exc, VerificationError, "wrong_issuer")


async def test_vc_jwt_kid_fragment_naming_another_key_is_refused(
    resolver: DIDResolver, clock: FixedClock
) -> None:
    # SECURITY SEC-27b: did:key:zIssuer#zMallory is not in the issuer's DID document.
    kid = ISSUER.did + "#" + MALLORY.did.removeprefix("did:key:")
    token = forge_vc(credential(), signer=MALLORY.key, kid=kid)
    with pytest.raises(VerificationError) as exc:
        await jose.verify_vc_jwt(token, resolver=resolver, clock=clock)
    refused(exc, VerificationError, "unknown_key")


@pytest.mark.parametrize(
    "kid",
    [
        None,
        "key-1",
        "ExHkBMW9fmbkvV266mRpuP2sUY_N_EWIN1lapUzO8ro",
        ISSUER.did,
        "https://org.example/keys/1#k",
    ],
)
async def test_vc_jwt_kid_must_be_a_did_url_with_fragment(
    kid: str | None, resolver: DIDResolver, clock: FixedClock
) -> None:
    # VC-JOSE-COSE §4.1.1: kid MUST be present when the key is a DID URL; it is our only key discovery.
    token = jws.sign_compact(credential(), ISSUER.key, typ="vc+jwt", kid=kid)
    with pytest.raises(VerificationError) as exc:
        await jose.verify_vc_jwt(token, resolver=resolver, clock=clock)
    refused(exc, VerificationError, "unknown_key")


async def test_vc_jwt_key_only_for_authentication_is_refused(clock: FixedClock) -> None:
    # SECURITY SEC-27c: the key must be authorized for assertionMethod.
    resolver = web_resolver(authentication=[WEB_DID + "#key-1"])
    token = forge_vc(credential(WEB_DID), signer=WEB_KEY, kid=WEB_DID + "#key-1")
    with pytest.raises(VerificationError) as exc:
        await jose.verify_vc_jwt(token, resolver=resolver, clock=clock)
    refused(exc, VerificationError, "wrong_purpose")


async def test_vc_jwt_did_web_assertion_key_is_accepted(clock: FixedClock) -> None:
    resolver = web_resolver(assertionMethod=[WEB_DID + "#key-1"])
    token = jose.sign_vc_jwt(credential(WEB_DID), WEB_KEY, kid=WEB_DID + "#key-1")
    assert (
        await jose.verify_vc_jwt(token, resolver=resolver, clock=clock)
    ).verification_method.type == "Multikey"


async def test_vc_jwt_header_key_is_never_used(resolver: DIDResolver, clock: FixedClock) -> None:
    # SECURITY SEC-04 at the credential layer.
    header = {"alg": "EdDSA", "typ": "vc+jwt", "kid": ISSUER.kid, "jwk": MALLORY.key.public_key.to_jwk()}
    token = raw_token(header, credential(), MALLORY.key)
    with pytest.raises(VerificationError) as exc:
        await jose.verify_vc_jwt(token, resolver=resolver, clock=clock)
    refused(exc, VerificationError, "header_not_allowed")


async def test_vc_jwt_alg_must_match_the_resolved_key(resolver: DIDResolver, clock: FixedClock) -> None:
    # The kid points at a P-256 key; a token claiming EdDSA (signed by whatever) is refused before crypto.
    token = forge_vc(credential(ISSUER_P256.did), signer=MALLORY.key, kid=ISSUER_P256.kid)
    with pytest.raises(VerificationError) as exc:
        await jose.verify_vc_jwt(token, resolver=resolver, clock=clock)
    refused(exc, VerificationError, "alg_key_mismatch")


async def test_vc_jwt_tampered_payload_is_refused(resolver: DIDResolver, clock: FixedClock) -> None:
    # SECURITY SEC-25.
    header, _, signature = jose.sign_vc_jwt(credential(), ISSUER.key, kid=ISSUER.kid).split(".")
    payload = b64(json.dumps(credential(credentialSubject={"id": MALLORY.did})).encode())
    with pytest.raises(SignatureError) as exc:
        await jose.verify_vc_jwt(f"{header}.{payload}.{signature}", resolver=resolver, clock=clock)
    refused(exc, SignatureError, "bad_signature")


@pytest.mark.parametrize("claim", ["vc", "vp"])
async def test_vc_jwt_vc_and_vp_claims_must_not_be_present(
    claim: str, resolver: DIDResolver, clock: FixedClock
) -> None:
    # VC-JOSE-COSE §3.1.3: "The JWT Claim Names vc and vp MUST NOT be present."
    with pytest.raises(MalformedError) as exc:
        await jose.verify_vc_jwt(forge_vc(credential(**{claim: {}})), resolver=resolver, clock=clock)
    refused(exc, MalformedError, "malformed")


async def test_vc_jwt_iss_must_match_issuer(resolver: DIDResolver, clock: FixedClock) -> None:
    # VC-JOSE-COSE §4.1.2: "iss value, if present, MUST match issuer value".
    ok = await jose.verify_vc_jwt(forge_vc(credential(iss=ISSUER.did)), resolver=resolver, clock=clock)
    assert ok.document["iss"] == ISSUER.did
    with pytest.raises(VerificationError) as exc:
        await jose.verify_vc_jwt(forge_vc(credential(iss=MALLORY.did)), resolver=resolver, clock=clock)
    refused(exc, VerificationError, "wrong_issuer")


async def test_vc_jwt_iss_must_match_issuer_object_id(resolver: DIDResolver, clock: FixedClock) -> None:
    token = forge_vc(credential({"id": ISSUER.did}, iss={"id": ISSUER.did}))
    with pytest.raises(VerificationError) as exc:
        await jose.verify_vc_jwt(token, resolver=resolver, clock=clock)
    refused(exc, VerificationError, "wrong_issuer")


@pytest.mark.parametrize(
    ("claims", "cls", "reason"),
    [
        ({"exp": NOW - 61}, VerificationError, "expired"),
        ({"nbf": NOW + 61}, VerificationError, "not_yet_valid"),
        ({"iat": NOW + 61}, VerificationError, "iat_in_future"),
        ({"exp": float(NOW + 600)}, MalformedError, "bad_claim_type"),
        ({"iat": True}, MalformedError, "bad_claim_type"),
    ],
)
async def test_vc_jwt_time_claims_are_honoured(
    claims: dict[str, Any], cls: type[DIDAgentsError], reason: str, resolver: DIDResolver, clock: FixedClock
) -> None:
    # VC-JOSE-COSE §3.1.3: iat/exp are the issuance and expiration time of the signature.
    with pytest.raises(cls) as exc:
        await jose.verify_vc_jwt(forge_vc(credential(**claims)), resolver=resolver, clock=clock)
    refused(exc, cls, reason)


async def test_vc_jwt_time_claims_within_leeway_are_accepted(
    resolver: DIDResolver, clock: FixedClock
) -> None:
    token = forge_vc(credential(exp=NOW - 59, iat=NOW + 59, nbf=NOW + 59))
    await jose.verify_vc_jwt(token, resolver=resolver, clock=clock)


async def test_vc_jwt_validity_period_is_left_to_the_credential_layer(
    resolver: DIDResolver, clock: FixedClock
) -> None:
    vc = credential(validUntil="2020-01-01T00:00:00Z")
    assert (await jose.verify_vc_jwt(forge_vc(vc), resolver=resolver, clock=clock)).document == vc


async def test_vc_jwt_payload_must_be_a_credential(resolver: DIDResolver, clock: FixedClock) -> None:
    with pytest.raises(MalformedError):
        await jose.verify_vc_jwt(forge_vc(presentation(issuer=ISSUER.did)), resolver=resolver, clock=clock)
    with pytest.raises(MalformedError):
        await jose.verify_vc_jwt(
            jws.sign_compact(b"not json", ISSUER.key, typ="vc+jwt", kid=ISSUER.kid),
            resolver=resolver,
            clock=clock,
        )


async def test_vc_jwt_without_issuer_is_malformed(resolver: DIDResolver, clock: FixedClock) -> None:
    vc = credential()
    del vc["issuer"]
    with pytest.raises(MalformedError):
        await jose.verify_vc_jwt(forge_vc(vc), resolver=resolver, clock=clock)


def test_sign_vc_jwt_refuses_misuse() -> None:
    with pytest.raises(ValueError):
        jose.sign_vc_jwt(credential(), MALLORY.key, kid=MALLORY.kid)  # kid not the issuer's
    with pytest.raises(ValueError):
        jose.sign_vc_jwt(credential(), ISSUER.key, kid=ISSUER.did)  # no fragment
    with pytest.raises(ValueError):
        jose.sign_vc_jwt(credential(vc={}), ISSUER.key, kid=ISSUER.kid)
    with pytest.raises(ValueError):
        jose.sign_vc_jwt(credential(proof={"type": "DataIntegrityProof"}), ISSUER.key, kid=ISSUER.kid)


# -- §3.1.2 vp+jwt and enveloped credentials ---------------------------------------------------------


def _vp(clock: FixedClock | None = None, **kwargs: Any) -> str:
    vc = jose.sign_vc_jwt(credential(), ISSUER.key, kid=ISSUER.kid)
    args: dict[str, Any] = {"kid": HOLDER.kid, "nonce": CHALLENGE, "aud": VERIFIER, "clock": clock}
    args.update(kwargs)
    return jose.sign_vp_jwt(presentation(vcs=[vc]), HOLDER.key, **args)


async def test_vp_jwt_round_trip_and_enveloped_credentials(resolver: DIDResolver, clock: FixedClock) -> None:
    verified = await jose.verify_vp_jwt(
        _vp(clock), resolver=resolver, clock=clock, challenge=CHALLENGE, domain=VERIFIER
    )
    assert verified.header == {"alg": "EdDSA", "typ": "vp+jwt", "kid": HOLDER.kid}
    assert verified.document["nonce"] == CHALLENGE
    assert verified.document["aud"] == VERIFIER
    assert verified.document["exp"] - verified.document["iat"] == 300
    assert verified.verification_method.id == HOLDER.kid
    (entry,) = verified.document["verifiableCredential"]
    inner = await jose.verify_vc_jwt(jose.parse_enveloped(entry), resolver=resolver, clock=clock)
    assert inner.document == credential()


async def test_vp_jwt_wrong_challenge_is_refused(resolver: DIDResolver, clock: FixedClock) -> None:
    # SECURITY SEC-23: the presentation must carry this verifier's challenge.
    with pytest.raises(VerificationError) as exc:
        await jose.verify_vp_jwt(
            _vp(clock), resolver=resolver, clock=clock, challenge="other", domain=VERIFIER
        )
    refused(exc, VerificationError, "wrong_challenge")


async def test_vp_jwt_without_nonce_is_refused(resolver: DIDResolver, clock: FixedClock) -> None:
    payload = {**presentation(), "aud": VERIFIER}
    token = jws.sign_compact(payload, HOLDER.key, typ="vp+jwt", kid=HOLDER.kid)
    with pytest.raises(VerificationError) as exc:
        await jose.verify_vp_jwt(token, resolver=resolver, clock=clock, challenge=CHALLENGE, domain=VERIFIER)
    refused(exc, VerificationError, "wrong_challenge")


async def test_vp_jwt_nonce_must_be_a_string(resolver: DIDResolver, clock: FixedClock) -> None:
    payload = {**presentation(), "aud": VERIFIER, "nonce": [CHALLENGE]}
    token = jws.sign_compact(payload, HOLDER.key, typ="vp+jwt", kid=HOLDER.kid)
    with pytest.raises(MalformedError) as exc:
        await jose.verify_vp_jwt(token, resolver=resolver, clock=clock, challenge=CHALLENGE, domain=VERIFIER)
    refused(exc, MalformedError, "bad_claim_type")


@pytest.mark.parametrize(
    "aud", ["https://other-sts.example", [VERIFIER, "https://evil"], [VERIFIER], VERIFIER + "/", None]
)
async def test_vp_jwt_domain_must_be_exactly_the_verifier(
    aud: Any, resolver: DIDResolver, clock: FixedClock
) -> None:
    # SECURITY SEC-24: other domain, missing domain, domain list.
    payload = {**presentation(), "nonce": CHALLENGE}
    if aud is not None:
        payload["aud"] = aud
    token = jws.sign_compact(payload, HOLDER.key, typ="vp+jwt", kid=HOLDER.kid)
    with pytest.raises(VerificationError) as exc:
        await jose.verify_vp_jwt(token, resolver=resolver, clock=clock, challenge=CHALLENGE, domain=VERIFIER)
    refused(exc, VerificationError, "wrong_audience")


async def test_vp_jwt_signed_by_someone_else_than_the_holder_is_refused(
    resolver: DIDResolver, clock: FixedClock
) -> None:
    # SECURITY SEC-33: VP proof by MALLORY while holder = HOLDER.
    payload = {**presentation(), "nonce": CHALLENGE, "aud": VERIFIER}
    token = jws.sign_compact(payload, MALLORY.key, typ="vp+jwt", kid=MALLORY.kid)
    with pytest.raises(VerificationError) as exc:
        await jose.verify_vp_jwt(token, resolver=resolver, clock=clock, challenge=CHALLENGE, domain=VERIFIER)
    refused(exc, VerificationError, "wrong_holder")


async def test_vp_jwt_without_holder_is_refused(resolver: DIDResolver, clock: FixedClock) -> None:
    payload = {**presentation(), "nonce": CHALLENGE, "aud": VERIFIER}
    del payload["holder"]
    token = jws.sign_compact(payload, HOLDER.key, typ="vp+jwt", kid=HOLDER.kid)
    with pytest.raises(VerificationError) as exc:
        await jose.verify_vp_jwt(token, resolver=resolver, clock=clock, challenge=CHALLENGE, domain=VERIFIER)
    refused(exc, VerificationError, "wrong_holder")


async def test_vp_jwt_iss_must_be_the_holder(resolver: DIDResolver, clock: FixedClock) -> None:
    payload = {**presentation(), "nonce": CHALLENGE, "aud": VERIFIER, "iss": MALLORY.did}
    token = jws.sign_compact(payload, HOLDER.key, typ="vp+jwt", kid=HOLDER.kid)
    with pytest.raises(VerificationError) as exc:
        await jose.verify_vp_jwt(token, resolver=resolver, clock=clock, challenge=CHALLENGE, domain=VERIFIER)
    refused(exc, VerificationError, "wrong_issuer")


async def test_vp_jwt_key_only_for_assertion_is_refused(clock: FixedClock) -> None:
    # SECURITY SEC-26: a presentation needs an authentication key.
    resolver = web_resolver(assertionMethod=[WEB_DID + "#key-1"])
    token = jose.sign_vp_jwt(
        presentation(WEB_DID), WEB_KEY, kid=WEB_DID + "#key-1", nonce=CHALLENGE, aud=VERIFIER
    )
    with pytest.raises(VerificationError) as exc:
        await jose.verify_vp_jwt(token, resolver=resolver, clock=clock, challenge=CHALLENGE, domain=VERIFIER)
    refused(exc, VerificationError, "wrong_purpose")


async def test_vc_jwt_presented_as_vp_jwt_is_refused(resolver: DIDResolver, clock: FixedClock) -> None:
    token = jose.sign_vc_jwt(credential(HOLDER.did), HOLDER.key, kid=HOLDER.kid)
    with pytest.raises(VerificationError) as exc:
        await jose.verify_vp_jwt(token, resolver=resolver, clock=clock, challenge=CHALLENGE, domain=VERIFIER)
    refused(exc, VerificationError, "wrong_typ")


async def test_vp_jwt_expires(resolver: DIDResolver, clock: FixedClock) -> None:
    token = _vp(clock)
    clock.advance(timedelta(minutes=5, seconds=60))
    with pytest.raises(VerificationError) as exc:
        await jose.verify_vp_jwt(token, resolver=resolver, clock=clock, challenge=CHALLENGE, domain=VERIFIER)
    refused(exc, VerificationError, "expired")


async def test_vp_jwt_payload_must_be_a_presentation(resolver: DIDResolver, clock: FixedClock) -> None:
    payload = {**credential(), "holder": HOLDER.did, "nonce": CHALLENGE, "aud": VERIFIER}
    token = jws.sign_compact(payload, HOLDER.key, typ="vp+jwt", kid=HOLDER.kid)
    with pytest.raises(MalformedError):
        await jose.verify_vp_jwt(token, resolver=resolver, clock=clock, challenge=CHALLENGE, domain=VERIFIER)


async def test_vp_jwt_needs_a_challenge_and_a_domain(resolver: DIDResolver, clock: FixedClock) -> None:
    with pytest.raises(ValueError):
        await jose.verify_vp_jwt(_vp(), resolver=resolver, clock=clock, challenge="", domain=VERIFIER)


def test_sign_vp_jwt_refuses_misuse() -> None:
    with pytest.raises(ValueError):
        jose.sign_vp_jwt(presentation(), MALLORY.key, kid=MALLORY.kid, nonce=CHALLENGE, aud=VERIFIER)
    with pytest.raises(ValueError):
        jose.sign_vp_jwt(presentation(nonce="x"), HOLDER.key, kid=HOLDER.kid, nonce=CHALLENGE, aud=VERIFIER)
    with pytest.raises(ValueError):
        jose.sign_vp_jwt(presentation(vp={}), HOLDER.key, kid=HOLDER.kid, nonce=CHALLENGE, aud=VERIFIER)


def test_parse_enveloped_returns_the_jwt() -> None:
    token = jose.sign_vc_jwt(credential(), ISSUER.key, kid=ISSUER.kid)
    entry = presentation(vcs=[token])["verifiableCredential"][0]
    assert jose.parse_enveloped(entry) == token
    assert jose.parse_enveloped({**entry, "type": ["EnvelopedVerifiableCredential"]}) == token


@pytest.mark.parametrize(
    ("mutation", "reason"),
    [
        ({"type": "VerifiableCredential"}, "malformed"),
        ({"@context": ["https://www.w3.org/2018/credentials/v1"]}, "malformed"),
        ({"@context": None}, "malformed"),
        ({"id": "https://example.org/vc.jwt"}, "malformed"),
        ({"id": "data:application/vc+sd-jwt,eyJ.eyJ.sig~"}, "unsupported_envelope"),
        ({"id": "data:application/vc+cose;base64,0oRDoQEm"}, "unsupported_envelope"),
        ({"id": "data:application/vc+jwt,not-a-jwt"}, "malformed"),
        ({"id": 7}, "malformed"),
    ],
)
def test_parse_enveloped_refuses_other_shapes(mutation: dict[str, Any], reason: str) -> None:
    entry = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": "EnvelopedVerifiableCredential",
        "id": "data:application/vc+jwt,a.b.c",
        **mutation,
    }
    with pytest.raises(MalformedError) as exc:
        jose.parse_enveloped(entry)
    refused(exc, MalformedError, reason)


def test_parse_enveloped_refuses_non_objects() -> None:
    with pytest.raises(MalformedError):
        jose.parse_enveloped("data:application/vc+jwt,a.b.c")


# -- spec examples ----------------------------------------------------------------------------------


def test_spec_example_1_payload_is_the_credential() -> None:
    vector = json.loads((VECTORS / "example-1-vc-jwt.json").read_text())
    parsed = jws.parse_compact(vector["vc_jwt"])
    assert parsed.header == vector["protected_header"]
    assert json.loads(parsed.payload) == vector["credential"]


async def test_spec_example_1_is_refused_for_its_non_did_kid(
    resolver: DIDResolver, clock: FixedClock
) -> None:
    vector = json.loads((VECTORS / "example-1-vc-jwt.json").read_text())
    with pytest.raises(VerificationError) as exc:
        await jose.verify_vc_jwt(vector["vc_jwt"], resolver=resolver, clock=clock)
    refused(exc, VerificationError, "unknown_key")


def test_spec_example_2_enveloped_credential() -> None:
    vector = json.loads((VECTORS / "example-2-enveloped-vc.json").read_text())
    token = jose.parse_enveloped(vector["enveloped"])
    header, payload, _ = token.split(".")
    assert decode(header) == vector["inner_header"]
    assert decode(payload) == vector["inner_payload"]
    with pytest.raises(VerificationError) as exc:
        jws.parse_compact(token)  # ES384 is outside the allowlist
    refused(exc, VerificationError, "alg_not_allowed")


# -- DID-keyed JWTs (actor tokens) ----------------------------------------------------------------------


def _actor(signer: Party = HOLDER, **claims: Any) -> str:
    body = {"iss": signer.did, "sub": signer.did, "aud": VERIFIER, "iat": NOW, "exp": NOW + 60, "jti": "j1"}
    body.update(claims)
    return jws.sign_compact(
        {k: v for k, v in body.items() if v is not None}, signer.key, typ="actor+jwt", kid=signer.kid
    )


async def test_verify_did_jwt_resolves_the_key_from_kid(resolver: DIDResolver) -> None:
    verified = await jose.verify_did_jwt(_actor(), resolver=resolver, typ="actor+jwt")
    assert verified.document["sub"] == HOLDER.did
    assert verified.verification_method.id == HOLDER.kid
    jws.validate_claims(verified.document, now=NOW, expected_iss=HOLDER.did, expected_aud=VERIFIER)


async def test_verify_did_jwt_iss_must_be_the_kid_did(resolver: DIDResolver) -> None:
    with pytest.raises(VerificationError) as exc:
        await jose.verify_did_jwt(_actor(iss=ISSUER.did), resolver=resolver, typ="actor+jwt")
    refused(exc, VerificationError, "wrong_issuer")


async def test_verify_did_jwt_iss_is_required(resolver: DIDResolver) -> None:
    with pytest.raises(MalformedError) as exc:
        await jose.verify_did_jwt(_actor(iss=None), resolver=resolver, typ="actor+jwt")
    refused(exc, MalformedError, "bad_claim_type")


async def test_verify_did_jwt_typ_is_enforced(resolver: DIDResolver) -> None:
    # SECURITY SEC-36: a VC-JWT signed by the same DID is not an actor token.
    token = jose.sign_vc_jwt(credential(HOLDER.did, iss=HOLDER.did), HOLDER.key, kid=HOLDER.kid)
    with pytest.raises(VerificationError) as exc:
        await jose.verify_did_jwt(token, resolver=resolver, typ="actor+jwt")
    refused(exc, VerificationError, "wrong_typ")


async def test_verify_did_jwt_relationship_is_enforced(clock: FixedClock) -> None:
    resolver = web_resolver(assertionMethod=[WEB_DID + "#key-1"])
    token = jws.sign_compact({"iss": WEB_DID}, WEB_KEY, typ="actor+jwt", kid=WEB_DID + "#key-1")
    with pytest.raises(VerificationError) as exc:
        await jose.verify_did_jwt(token, resolver=resolver, typ="actor+jwt")
    refused(exc, VerificationError, "wrong_purpose")
    verified = await jose.verify_did_jwt(
        token, resolver=resolver, typ="actor+jwt", relationship="assertionMethod"
    )
    assert verified.document == {"iss": WEB_DID}


async def test_verify_did_jwt_refuses_a_header_key(resolver: DIDResolver) -> None:
    # SECURITY SEC-04: Mallory's key in the header, claiming to be HOLDER.
    header = {"alg": "EdDSA", "typ": "actor+jwt", "kid": HOLDER.kid, "jwk": MALLORY.key.public_key.to_jwk()}
    token = raw_token(header, {"iss": HOLDER.did, "sub": HOLDER.did}, MALLORY.key)
    with pytest.raises(VerificationError) as exc:
        await jose.verify_did_jwt(token, resolver=resolver, typ="actor+jwt")
    refused(exc, VerificationError, "header_not_allowed")


async def test_verify_did_jwt_signed_by_another_key_of_the_claimed_did_is_refused(
    resolver: DIDResolver,
) -> None:
    # Mallory signs, names HOLDER's key: the signature does not verify with HOLDER's key.
    token = jws.sign_compact({"iss": HOLDER.did}, MALLORY.key, typ="actor+jwt", kid=HOLDER.kid)
    with pytest.raises(SignatureError) as exc:
        await jose.verify_did_jwt(token, resolver=resolver, typ="actor+jwt")
    refused(exc, SignatureError, "bad_signature")


class CountingWeb(StaticWeb):
    def __init__(self) -> None:
        super().__init__({WEB_DID: _web_doc({"assertionMethod": [WEB_DID + "#key-1"]})})
        self.calls = 0

    async def resolve(self, did: str) -> DIDDocument:
        self.calls += 1
        return await super().resolve(did)


async def test_wrong_typ_is_refused_before_any_did_resolution(clock: FixedClock) -> None:
    # DESIGN §10: cheap refusals first; a did:web resolution may cost a network fetch.
    web = CountingWeb()
    resolver = DIDResolver()
    resolver.register("web", web)
    token = forge_vc(credential(WEB_DID), signer=WEB_KEY, kid=WEB_DID + "#key-1", typ="at+jwt")
    with pytest.raises(VerificationError) as exc:
        await jose.verify_vc_jwt(token, resolver=resolver, clock=clock)
    refused(exc, VerificationError, "wrong_typ")
    assert web.calls == 0
    await jose.verify_vc_jwt(
        forge_vc(credential(WEB_DID), signer=WEB_KEY, kid=WEB_DID + "#key-1"), resolver=resolver, clock=clock
    )
    assert web.calls == 1
