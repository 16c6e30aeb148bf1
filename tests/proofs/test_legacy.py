"""did_agents.proofs.legacy against credentials and presentations made by SpruceID didkit at test time.

didkit runs in a child process (``didkit_issuer.py``): its runtime crashes the
interpreter at exit. The reverse direction (didkit verifying what we make) does
not apply: we issue only VCDM 2.0 (Data Integrity, VC-JOSE), which didkit 0.3.3
does not understand, and we never issue VCDM 1.1.
"""

from __future__ import annotations

import base64
import copy
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from did_agents import jws
from did_agents.clock import FixedClock
from did_agents.did import key as did_key
from did_agents.did.resolver import DIDResolver
from did_agents.errors import (
    DIDAgentsError,
    InputTooLargeError,
    MalformedError,
    SignatureError,
    VerificationError,
)
from did_agents.keys import KeyType, PrivateKey, generate
from did_agents.proofs import legacy

pytestmark = [pytest.mark.anyio, pytest.mark.interop]

CHALLENGE = "c-2f6f0b1e"
DOMAIN = "https://sts.example.com"
T0 = datetime(2026, 12, 1, 9, 0, 0, tzinfo=UTC)  # after proof.created 2026-06-01, before expiry 2027-01-01
V1 = "https://www.w3.org/2018/credentials/v1"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def dk() -> dict[str, Any]:
    """Everything didkit issued for this module (one child process)."""
    plan = {"p256_jwk": json.dumps(generate(KeyType.P256).to_jwk())}
    done = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("didkit_issuer.py"))],
        input=json.dumps(plan),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


@pytest.fixture
def resolver() -> DIDResolver:
    return DIDResolver()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


def refused(exc: pytest.ExceptionInfo[DIDAgentsError], cls: type[DIDAgentsError], reason: str) -> None:
    assert type(exc.value) is cls, f"{type(exc.value).__name__}: {exc.value}"
    assert exc.value.reason == reason


def b64(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


async def verify_vp(
    vp: Any, resolver: DIDResolver, clock: FixedClock, **kwargs: Any
) -> legacy.VerifiedLegacy:
    args = {"challenge": CHALLENGE, "domain": DOMAIN, **kwargs}
    return await legacy.verify_legacy_presentation(vp, resolver=resolver, clock=clock, **args)


# -- didkit credentials verify --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("vc_2018", "Ed25519Signature2018"), ("vc_2020", "Ed25519Signature2020"), ("vc_jwt", "jwt-1.1")],
)
async def test_didkit_credentials_verify(
    name: str, fmt: str, dk: dict[str, Any], resolver: DIDResolver, clock: FixedClock
) -> None:
    verified = await legacy.verify_legacy_credential(dk[name], resolver=resolver, clock=clock)
    assert verified.format == fmt
    assert verified.issuer == dk["issuer"]["did"]
    assert verified.verification_method.id == dk["issuer"]["vm"]
    assert verified.document["credentialSubject"] == {"id": dk["holder"]["did"]}


async def test_didkit_es256_vc_jwt_verifies(
    dk: dict[str, Any], resolver: DIDResolver, clock: FixedClock
) -> None:
    verified = await legacy.verify_jwt_credential(dk["vc_jwt_es256"], resolver=resolver, clock=clock)
    assert verified.verification_method.public_key.key_type is KeyType.P256


async def test_vcdm11_jwt_decoding_rebuilds_the_credential(
    dk: dict[str, Any], resolver: DIDResolver, clock: FixedClock
) -> None:
    # VCDM 1.1 §6.3.1 "JWT decoding": iss→issuer, nbf→issuanceDate, exp→expirationDate, jti→id, sub→subject id.
    verified = await legacy.verify_jwt_credential(dk["vc_jwt"], resolver=resolver, clock=clock)
    assert verified.document == dk["credential"]


@pytest.mark.parametrize(
    ("name", "fmt"), [("vp_2018", "Ed25519Signature2018"), ("vp_2020", "Ed25519Signature2020")]
)
async def test_didkit_presentations_verify_with_every_credential(
    name: str, fmt: str, dk: dict[str, Any], resolver: DIDResolver, clock: FixedClock
) -> None:
    verified = await verify_vp(dk[name], resolver, clock)
    assert verified.format == fmt
    assert verified.issuer == dk["holder"]["did"]
    assert [c.format for c in verified.credentials] == ["Ed25519Signature2018", "Ed25519Signature2020"]


async def test_didkit_vp_jwt_verifies_with_jwt_and_ld_credentials(
    dk: dict[str, Any], resolver: DIDResolver, clock: FixedClock
) -> None:
    verified = await verify_vp(dk["vp_jwt"], resolver, clock)
    assert verified.format == "jwt-1.1"
    assert verified.document["holder"] == dk["holder"]["did"]
    assert verified.document["id"] == "urn:uuid:7d2c1b0a-2222-4e55-9d4b-5d8f5c3b2a10"
    assert [c.format for c in verified.credentials] == ["jwt-1.1", "Ed25519Signature2020"]
    assert verified.credentials[0].document == dk["credential"]


async def test_embedded_credentials_are_verified_unlike_didkit(
    dk: dict[str, Any], resolver: DIDResolver, clock: FixedClock
) -> None:
    # The holder signed a presentation around a tampered credential; didkit's verify_presentation
    # reports no error, we refuse it.
    assert dk["didkit_verifies_vp_with_tampered_vc"]["errors"] == []
    with pytest.raises(SignatureError) as exc:
        await verify_vp(dk["vp_with_tampered_vc"], resolver, clock)
    refused(exc, SignatureError, "bad_signature")


# -- tampering with Linked Data proofs ------------------------------------------------------------------


MALLORY_DID = did_key.create(generate().public_key)


def _set(path: tuple[str, ...], value: Any) -> Any:
    def mutate(vc: dict[str, Any]) -> None:
        target = vc
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return mutate


def _delete(*path: str) -> Any:
    def mutate(vc: dict[str, Any]) -> None:
        target = vc
        for step in path[:-1]:
            target = target[step]
        del target[path[-1]]

    return mutate


def _append_type(vc: dict[str, Any]) -> None:
    vc["type"].append("AdminDelegation")


def _proof_set(vc: dict[str, Any]) -> None:
    vc["proof"] = [vc["proof"], vc["proof"]]


def _fragment_of_mallory(vc: dict[str, Any]) -> None:
    vc["proof"]["verificationMethod"] = vc["issuer"] + "#" + MALLORY_DID.removeprefix("did:key:")


#: SECURITY SEC-25 (tampering, undefined terms), SEC-26/27 (purpose, binding), SEC-29/30 (contexts),
#: SEC-32 (stripped proof), SEC-35 (suite), SEC-54 (proof sets).
LD_MUTATIONS: dict[str, tuple[Any, type[DIDAgentsError], str]] = {
    "subject": (_set(("credentialSubject", "id"), MALLORY_DID), SignatureError, "bad_signature"),
    "issuanceDate": (_set(("issuanceDate",), "2025-01-01T00:00:00Z"), SignatureError, "bad_signature"),
    "expirationDate": (_set(("expirationDate",), "2030-01-01T00:00:00Z"), SignatureError, "bad_signature"),
    "proof-created": (_set(("proof", "created"), "2026-06-02T00:00:00Z"), SignatureError, "bad_signature"),
    "undefined-term": (
        _set(("credentialSubject", "scopes"), ["tools:*"]),
        VerificationError,
        "undefined_term",
    ),
    "undefined-type": (_append_type, VerificationError, "undefined_term"),
    "issuer": (_set(("issuer",), MALLORY_DID), VerificationError, "wrong_issuer"),
    "proofPurpose": (_set(("proof", "proofPurpose"), "authentication"), VerificationError, "wrong_purpose"),
    "vm-of-another-did": (
        _set(("proof", "verificationMethod"), did_key.verification_method_id(MALLORY_DID)),
        VerificationError,
        "wrong_issuer",
    ),
    "vm-fragment-not-in-document": (_fragment_of_mallory, VerificationError, "unknown_key"),
    "no-proof": (_delete("proof"), VerificationError, "missing_proof"),
    "proof-set": (_proof_set, VerificationError, "unsupported_proof"),
    "proof-type-ecdsa": (
        _set(("proof", "type"), "EcdsaSecp256r1Signature2019"),
        VerificationError,
        "unsupported_proof_type",
    ),
    "proof-type-data-integrity": (
        _set(("proof", "type"), "DataIntegrityProof"),
        VerificationError,
        "unsupported_proof_type",
    ),
    "no-created": (_delete("proof", "created"), MalformedError, "malformed"),
    "context-v2": (
        _set(("@context",), ["https://www.w3.org/ns/credentials/v2"]),
        MalformedError,
        "malformed",
    ),
    "remote-context": (
        _set(("@context",), [V1, "https://attacker.example/context.jsonld"]),
        VerificationError,
        "unknown_context",
    ),
    "no-issuanceDate": (_delete("issuanceDate"), MalformedError, "malformed"),
}


@pytest.mark.parametrize("label", sorted(LD_MUTATIONS))
@pytest.mark.parametrize("name", ["vc_2018", "vc_2020"])
async def test_tampered_ld_credentials_are_refused(
    name: str, label: str, dk: dict[str, Any], resolver: DIDResolver, clock: FixedClock
) -> None:
    mutate, cls, reason = LD_MUTATIONS[label]
    doc = copy.deepcopy(dk[name])
    mutate(doc)
    with pytest.raises(DIDAgentsError) as exc:
        await legacy.verify_legacy_credential(doc, resolver=resolver, clock=clock)
    refused(exc, cls, reason)


def _header(value: Any) -> str:
    return b64(value if isinstance(value, str) else json.dumps(value))


#: RFC 7797 / Ed25519Signature2018: only {"alg":"EdDSA","b64":false,"crit":["b64"]}, detached.
JWS_MUTATIONS: dict[str, tuple[Any, type[DIDAgentsError], str]] = {
    "flipped-signature": (lambda h, s: f"{h}..{_flip(s)}", SignatureError, "bad_signature"),
    "attached-payload": (lambda h, s: f"{h}.e30.{s}", MalformedError, "malformed"),
    "padding": (lambda h, s: f"{h}..{s}==", MalformedError, "malformed"),
    "not-a-string": (lambda h, s: ["x"], MalformedError, "malformed"),
    "alg-none": (
        lambda h, s: _header({"alg": "none", "b64": False, "crit": ["b64"]}) + "..",
        VerificationError,
        "alg_not_allowed",
    ),
    "alg-ES256": (
        lambda h, s: _header({"alg": "ES256", "b64": False, "crit": ["b64"]}) + ".." + s,
        VerificationError,
        "alg_not_allowed",
    ),
    "duplicate-member": (
        lambda h, s: _header('{"alg":"EdDSA","alg":"EdDSA","b64":false,"crit":["b64"]}') + ".." + s,
        MalformedError,
        "duplicate_member",
    ),
    "b64-true": (
        lambda h, s: _header({"alg": "EdDSA", "b64": True, "crit": ["b64"]}) + ".." + s,
        VerificationError,
        "header_not_allowed",
    ),
    "no-crit": (
        lambda h, s: _header({"alg": "EdDSA", "b64": False}) + ".." + s,
        VerificationError,
        "header_not_allowed",
    ),
    "extra-kid": (
        lambda h, s: _header({"alg": "EdDSA", "b64": False, "crit": ["b64"], "kid": "x"}) + ".." + s,
        VerificationError,
        "header_not_allowed",
    ),
    "jwk": (
        lambda h, s: (
            _header({"alg": "EdDSA", "b64": False, "crit": ["b64"], "jwk": {"kty": "OKP"}}) + ".." + s
        ),
        VerificationError,
        "header_not_allowed",
    ),
}


def _flip(signature: str) -> str:
    raw = bytearray(base64.urlsafe_b64decode(signature + "=="))
    raw[0] ^= 1
    return b64(bytes(raw))


@pytest.mark.parametrize("label", sorted(JWS_MUTATIONS))
async def test_ed25519_2018_accepts_only_its_own_detached_jws(
    label: str, dk: dict[str, Any], resolver: DIDResolver, clock: FixedClock
) -> None:
    build, cls, reason = JWS_MUTATIONS[label]
    doc = copy.deepcopy(dk["vc_2018"])
    header, _, signature = doc["proof"]["jws"].split(".")
    doc["proof"]["jws"] = build(header, signature)
    with pytest.raises(DIDAgentsError) as exc:
        await legacy.verify_legacy_credential(doc, resolver=resolver, clock=clock)
    refused(exc, cls, reason)


async def test_ed25519_2020_proof_value_must_be_base58btc(
    dk: dict[str, Any], resolver: DIDResolver, clock: FixedClock
) -> None:
    doc = copy.deepcopy(dk["vc_2020"])
    doc["proof"]["proofValue"] = "u" + b64(b"\x00" * 64)
    with pytest.raises(MalformedError):
        await legacy.verify_legacy_credential(doc, resolver=resolver, clock=clock)


async def test_proof_type_swap_is_refused(
    dk: dict[str, Any], resolver: DIDResolver, clock: FixedClock
) -> None:
    doc = copy.deepcopy(dk["vc_2018"])
    doc["proof"]["type"] = "Ed25519Signature2020"
    with pytest.raises(DIDAgentsError):
        await legacy.verify_legacy_credential(doc, resolver=resolver, clock=clock)


# -- time -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["vc_2018", "vc_2020", "vc_jwt"])
async def test_expired_credentials_are_refused(name: str, dk: dict[str, Any], resolver: DIDResolver) -> None:
    # VCDM 1.1 §4.8 expirationDate (and JWT exp) 2027-01-01, with 60 s of leeway.
    await legacy.verify_legacy_credential(
        dk[name], resolver=resolver, clock=FixedClock(datetime(2027, 1, 1, 0, 0, 59, tzinfo=UTC))
    )
    with pytest.raises(VerificationError) as exc:
        await legacy.verify_legacy_credential(
            dk[name], resolver=resolver, clock=FixedClock(datetime(2027, 1, 1, 0, 1, tzinfo=UTC))
        )
    refused(exc, VerificationError, "expired")


@pytest.mark.parametrize("name", ["vc_2018", "vc_2020", "vc_jwt"])
async def test_credentials_before_issuance_are_refused(
    name: str, dk: dict[str, Any], resolver: DIDResolver
) -> None:
    with pytest.raises(VerificationError) as exc:
        await legacy.verify_legacy_credential(
            dk[name], resolver=resolver, clock=FixedClock(datetime(2025, 12, 31, 23, 58, tzinfo=UTC))
        )
    refused(exc, VerificationError, "not_yet_valid")


@pytest.mark.parametrize("name", ["vc_2018", "vc_2020"])
async def test_proof_created_in_the_future_is_refused(
    name: str, dk: dict[str, Any], resolver: DIDResolver
) -> None:
    # SECURITY SEC-34: proof.created (2026-06-01) later than now + skew.
    with pytest.raises(VerificationError) as exc:
        await legacy.verify_legacy_credential(
            dk[name], resolver=resolver, clock=FixedClock(datetime(2026, 5, 31, 23, 58, tzinfo=UTC))
        )
    refused(exc, VerificationError, "not_yet_valid")


# -- presentations ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["vp_2018", "vp_2020", "vp_jwt"])
async def test_presentation_challenge_must_match(
    name: str, dk: dict[str, Any], resolver: DIDResolver, clock: FixedClock
) -> None:
    # SECURITY SEC-23.
    with pytest.raises(VerificationError) as exc:
        await verify_vp(dk[name], resolver, clock, challenge="another")
    refused(exc, VerificationError, "wrong_challenge")


@pytest.mark.parametrize(
    ("name", "reason"),
    [("vp_2018", "wrong_domain"), ("vp_2020", "wrong_domain"), ("vp_jwt", "wrong_audience")],
)
async def test_presentation_domain_must_match(
    name: str, reason: str, dk: dict[str, Any], resolver: DIDResolver, clock: FixedClock
) -> None:
    # SECURITY SEC-24.
    with pytest.raises(VerificationError) as exc:
        await verify_vp(dk[name], resolver, clock, domain="https://other-sts.example")
    refused(exc, VerificationError, reason)


async def test_presentation_signed_for_assertion_is_refused(
    dk: dict[str, Any], resolver: DIDResolver, clock: FixedClock
) -> None:
    # SECURITY SEC-26.
    with pytest.raises(VerificationError) as exc:
        await verify_vp(dk["vp_signed_for_assertion"], resolver, clock)
    refused(exc, VerificationError, "wrong_purpose")


async def test_presentation_holder_must_be_the_prover(
    dk: dict[str, Any], resolver: DIDResolver, clock: FixedClock
) -> None:
    # SECURITY SEC-33.
    vp = copy.deepcopy(dk["vp_2020"])
    vp["holder"] = dk["issuer"]["did"]
    with pytest.raises(VerificationError) as exc:
        await verify_vp(vp, resolver, clock)
    refused(exc, VerificationError, "wrong_holder")
    del vp["holder"]
    with pytest.raises(VerificationError) as exc:
        await verify_vp(vp, resolver, clock)
    refused(exc, VerificationError, "wrong_holder")


async def test_credential_presented_as_presentation_is_refused(
    dk: dict[str, Any], resolver: DIDResolver, clock: FixedClock
) -> None:
    with pytest.raises(MalformedError):
        await verify_vp(dk["vc_2020"], resolver, clock)
    with pytest.raises(MalformedError):
        await verify_vp(dk["vc_jwt"], resolver, clock)  # a vc claim, not a vp claim


async def test_presentation_as_credential_is_refused(
    dk: dict[str, Any], resolver: DIDResolver, clock: FixedClock
) -> None:
    with pytest.raises(MalformedError):
        await legacy.verify_legacy_credential(dk["vp_jwt"], resolver=resolver, clock=clock)
    with pytest.raises(MalformedError):
        await legacy.verify_legacy_credential(dk["vp_2020"], resolver=resolver, clock=clock)


async def test_presentation_needs_challenge_and_domain(
    dk: dict[str, Any], resolver: DIDResolver, clock: FixedClock
) -> None:
    with pytest.raises(ValueError):
        await verify_vp(dk["vp_2020"], resolver, clock, challenge="")


# -- VC-JWT 1.1 decoding rules, with tokens we forge ---------------------------------------------------------


class Signer:
    def __init__(self) -> None:
        self.key: PrivateKey = generate()
        self.did = did_key.create(self.key.public_key)
        self.kid = did_key.verification_method_id(self.did)


ISSUER, HOLDER, MALLORY = Signer(), Signer(), Signer()
NBF = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())


def vc_claims(**changes: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": ISSUER.did,
        "nbf": NBF,
        "jti": "urn:uuid:1",
        "sub": HOLDER.did,
        "vc": {
            "@context": [V1],
            "type": ["VerifiableCredential"],
            "credentialSubject": {"id": HOLDER.did},
        },
    }
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def jwt(
    claims: dict[str, Any], signer: Signer = ISSUER, *, typ: str | None = None, kid: str | None = ""
) -> str:
    return jws.sign_compact(claims, signer.key, typ=typ, kid=signer.kid if kid == "" else kid)


async def test_vc_jwt_minimal_claims_decode(resolver: DIDResolver, clock: FixedClock) -> None:
    verified = await legacy.verify_jwt_credential(jwt(vc_claims()), resolver=resolver, clock=clock)
    assert verified.document == {
        "@context": [V1],
        "type": ["VerifiableCredential"],
        "credentialSubject": {"id": HOLDER.did},
        "issuer": ISSUER.did,
        "issuanceDate": "2026-01-01T00:00:00Z",
        "id": "urn:uuid:1",
    }


async def test_vc_jwt_typ_JWT_is_accepted(resolver: DIDResolver, clock: FixedClock) -> None:
    # VCDM 1.1 §6.3.1: "typ, if present, MUST be set to JWT".
    await legacy.verify_jwt_credential(jwt(vc_claims(), typ="JWT"), resolver=resolver, clock=clock)


def _vc_jwt_refusals() -> list[tuple[str, str, type[DIDAgentsError], str]]:
    vc = vc_claims()["vc"]
    return [
        ("typ-vc+jwt", jwt(vc_claims(), typ="vc+jwt"), VerificationError, "wrong_typ"),
        ("iss-not-kid-did", jwt(vc_claims(iss=MALLORY.did)), VerificationError, "wrong_issuer"),
        ("signed-by-mallory", jwt(vc_claims(), MALLORY, kid=ISSUER.kid), SignatureError, "bad_signature"),
        ("mallory-own-kid", jwt(vc_claims(), MALLORY), VerificationError, "wrong_issuer"),
        ("no-iss", jwt(vc_claims(iss=None)), MalformedError, "bad_claim_type"),
        ("no-kid", jwt(vc_claims(), kid=None), VerificationError, "unknown_key"),
        ("kid-not-did-url", jwt(vc_claims(), kid="key-1"), VerificationError, "unknown_key"),
        (
            "vc-issuer-disagrees",
            jwt(vc_claims(vc={**vc, "issuer": MALLORY.did})),
            VerificationError,
            "claim_mismatch",
        ),
        ("jti-disagrees", jwt(vc_claims(vc={**vc, "id": "urn:uuid:2"})), VerificationError, "claim_mismatch"),
        ("sub-disagrees", jwt(vc_claims(sub=MALLORY.did)), VerificationError, "claim_mismatch"),
        (
            "nbf-disagrees",
            jwt(vc_claims(vc={**vc, "issuanceDate": "2025-01-01T00:00:00Z"})),
            VerificationError,
            "claim_mismatch",
        ),
        (
            "sub-with-subject-list",
            jwt(vc_claims(vc={**vc, "credentialSubject": [{"id": HOLDER.did}]})),
            MalformedError,
            "malformed",
        ),
        ("no-vc", jwt(vc_claims(vc=None)), MalformedError, "malformed"),
        ("vc-not-object", jwt(vc_claims(vc="x")), MalformedError, "malformed"),
        ("vc-and-vp", jwt(vc_claims(vp={})), MalformedError, "malformed"),
        ("exp-past", jwt(vc_claims(exp=int(T0.timestamp()) - 61)), VerificationError, "expired"),
        ("exp-float-past", jwt(vc_claims(exp=T0.timestamp() - 61.5)), VerificationError, "expired"),
        ("nbf-future", jwt(vc_claims(nbf=int(T0.timestamp()) + 61)), VerificationError, "not_yet_valid"),
        ("exp-bool", jwt(vc_claims(exp=True)), MalformedError, "bad_claim_type"),
        ("exp-string", jwt(vc_claims(exp="1798761600")), MalformedError, "bad_claim_type"),
        ("exp-huge-float", jwt(vc_claims(exp=1.7e308)), MalformedError, "bad_claim_type"),
        ("nbf-negative", jwt(vc_claims(nbf=-1.0)), MalformedError, "bad_claim_type"),
        (
            "not-a-credential",
            jwt(vc_claims(vc={**vc, "type": ["VerifiablePresentation"]})),
            MalformedError,
            "malformed",
        ),
        (
            "context-v2",
            jwt(vc_claims(vc={**vc, "@context": ["https://www.w3.org/ns/credentials/v2"]})),
            MalformedError,
            "malformed",
        ),
    ]


@pytest.mark.parametrize(
    ("token", "cls", "reason"), [c[1:] for c in _vc_jwt_refusals()], ids=[c[0] for c in _vc_jwt_refusals()]
)
async def test_vc_jwt_refusals(
    token: str, cls: type[DIDAgentsError], reason: str, resolver: DIDResolver, clock: FixedClock
) -> None:
    with pytest.raises(DIDAgentsError) as exc:
        await legacy.verify_jwt_credential(token, resolver=resolver, clock=clock)
    refused(exc, cls, reason)


async def test_vc_jwt_fractional_numeric_dates_round_to_the_strict_side(
    resolver: DIDResolver, clock: FixedClock
) -> None:
    # didkit writes NumericDates as floats (1767225600.0); fractions round towards refusal.
    now = int(T0.timestamp())
    token = jwt(vc_claims(nbf=now + 59.5, exp=now - 59.5))
    with pytest.raises(VerificationError) as exc:
        await legacy.verify_jwt_credential(token, resolver=resolver, clock=clock)
    refused(exc, VerificationError, "expired")  # exp floors to now - 60: out of leeway


def vp_claims(**changes: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": HOLDER.did,
        "aud": DOMAIN,
        "nonce": CHALLENGE,
        "vp": {"@context": [V1], "type": ["VerifiablePresentation"], "verifiableCredential": []},
    }
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


async def test_vp_jwt_holder_is_taken_from_iss(resolver: DIDResolver, clock: FixedClock) -> None:
    verified = await verify_vp(jwt(vp_claims(), HOLDER), resolver, clock)
    assert verified.document["holder"] == HOLDER.did
    assert verified.credentials == ()


@pytest.mark.parametrize(
    ("claims", "signer", "cls", "reason"),
    [
        (vp_claims(nonce=None), HOLDER, VerificationError, "wrong_challenge"),
        (vp_claims(nonce=7), HOLDER, MalformedError, "bad_claim_type"),
        (vp_claims(aud=None), HOLDER, VerificationError, "wrong_audience"),
        (vp_claims(aud=[DOMAIN, "https://evil"]), HOLDER, VerificationError, "wrong_audience"),
        (vp_claims(aud=[DOMAIN]), HOLDER, VerificationError, "wrong_audience"),
        (vp_claims(iss=MALLORY.did), HOLDER, VerificationError, "wrong_issuer"),
        (
            vp_claims(vp={"@context": [V1], "type": ["VerifiablePresentation"], "holder": MALLORY.did}),
            HOLDER,
            VerificationError,
            "claim_mismatch",
        ),
        (vp_claims(exp=int(T0.timestamp()) - 61), HOLDER, VerificationError, "expired"),
        (
            vp_claims(vp={"@context": [V1], "type": ["VerifiablePresentation"], "verifiableCredential": [7]}),
            HOLDER,
            MalformedError,
            "malformed",
        ),
    ],
)
async def test_vp_jwt_refusals(
    claims: dict[str, Any],
    signer: Signer,
    cls: type[DIDAgentsError],
    reason: str,
    resolver: DIDResolver,
    clock: FixedClock,
) -> None:
    with pytest.raises(DIDAgentsError) as exc:
        await verify_vp(jwt(claims, signer), resolver, clock)
    refused(exc, cls, reason)


async def test_vp_jwt_embedded_credentials_are_verified(resolver: DIDResolver, clock: FixedClock) -> None:
    good = jwt(vc_claims())
    forged = jwt(vc_claims(), MALLORY, kid=ISSUER.kid)
    vp = {"@context": [V1], "type": ["VerifiablePresentation"], "verifiableCredential": [good]}
    verified = await verify_vp(jwt(vp_claims(vp=vp), HOLDER), resolver, clock)
    assert [c.issuer for c in verified.credentials] == [ISSUER.did]
    vp["verifiableCredential"] = [good, forged]
    with pytest.raises(SignatureError):
        await verify_vp(jwt(vp_claims(vp=vp), HOLDER), resolver, clock)


async def test_presentations_hold_a_bounded_number_of_credentials(
    resolver: DIDResolver, clock: FixedClock
) -> None:
    # DESIGN §10 / SECURITY SEC-42, SEC-54.
    vp = {
        "@context": [V1],
        "type": ["VerifiablePresentation"],
        "verifiableCredential": [jwt(vc_claims())] * (legacy.MAX_PRESENTED_CREDENTIALS + 1),
    }
    with pytest.raises(InputTooLargeError):
        await verify_vp(jwt(vp_claims(vp=vp), HOLDER), resolver, clock)


async def test_vp_jwt_without_expiry_is_accepted_once_bound(resolver: DIDResolver) -> None:
    # didkit's VP-JWTs carry no exp: the verifier's single-use challenge is what stops replay.
    late = FixedClock(T0 + timedelta(days=300))
    await verify_vp(jwt(vp_claims(), HOLDER), resolver, late)
