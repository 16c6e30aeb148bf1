"""verify_credential / issue_credential: every format, every refusal as a Problem code."""

from __future__ import annotations

import copy
import json
import time
from datetime import timedelta
from typing import Any

import pytest

from did_agents.clock import FixedClock
from did_agents.credentials.verify import (
    Problem,
    VerificationResult,
    issue_credential,
    verify_credential,
)
from did_agents.did.resolver import DIDResolver
from did_agents.errors import MalformedError, VerificationError
from did_agents.proofs import data_integrity
from tests.credentials.conftest import NOW, Party, delegation, make_party

pytestmark = pytest.mark.anyio

SUITES = [
    ("eddsa-rdfc-2022", "ed25519", "data-integrity"),
    ("eddsa-jcs-2022", "ed25519", "data-integrity"),
    ("ecdsa-rdfc-2019", "p256", "data-integrity"),
    ("jose", "ed25519", "vc+jwt"),
    ("jose", "p256", "vc+jwt"),
]


async def _verify(credential: Any, resolver: DIDResolver, clock: FixedClock, **kw: Any) -> VerificationResult:
    return await verify_credential(credential, resolver=resolver, clock=clock, **kw)


@pytest.mark.parametrize(("suite", "key_type", "fmt"), SUITES)
async def test_issued_credential_verifies_in_every_suite(
    suite: str, key_type: str, fmt: str, agent: Party, resolver: DIDResolver, clock: FixedClock
) -> None:
    issuer = make_party(key_type)
    signed = issue_credential(
        delegation(issuer, agent), key=issuer.key, verification_method=issuer.vm, suite=suite
    )  # type: ignore[arg-type]
    result = await _verify(signed, resolver, clock)
    assert result.verified, result.problems
    assert result.format == fmt
    assert result.issuer == issuer.did
    assert result.verification_method == issuer.vm
    assert result.document is not None and result.document["credentialSubject"]["id"] == agent.did
    json.dumps(result.to_json())  # JSON-ready


def _tamper_scopes(signed: Any) -> Any:
    if isinstance(signed, str):
        from did_agents import multibase

        head, payload, sig = signed.split(".")
        body = json.loads(multibase.b64url_decode(payload))
        body["credentialSubject"]["capabilities"][0]["scopes"] = ["orders:*"]
        return ".".join([head, multibase.b64url_encode(json.dumps(body).encode()), sig])
    tampered = copy.deepcopy(signed)
    tampered["credentialSubject"]["capabilities"][0]["scopes"] = ["orders:*"]
    return tampered


@pytest.mark.parametrize(("suite", "key_type", "fmt"), SUITES)
async def test_tampered_credential_is_a_bad_signature(
    suite: str, key_type: str, fmt: str, user: Party, agent: Party, resolver: DIDResolver, clock: FixedClock
) -> None:
    # SECURITY SEC-25: scopes widened after signing.
    issuer = make_party(key_type)
    signed = issue_credential(
        delegation(issuer, agent), key=issuer.key, verification_method=issuer.vm, suite=suite
    )  # type: ignore[arg-type]
    result = await _verify(_tamper_scopes(signed), resolver, clock)
    assert not result.verified
    assert result.codes == ("bad_signature",)
    assert result.format == fmt


async def test_oversized_input_is_too_large_before_any_work(
    user: Party, agent: Party, resolver: DIDResolver, clock: FixedClock
) -> None:
    credential = delegation(user, agent)
    credential["credentialSubject"]["padding"] = ["x" * 1000] * 2000  # ~2 MB
    started = time.perf_counter()
    result = await _verify(credential, resolver, clock)
    assert result.codes == ("too_large",)
    assert time.perf_counter() - started < 0.5


async def test_deep_nesting_is_too_large(
    user: Party, agent: Party, resolver: DIDResolver, clock: FixedClock
) -> None:
    credential = delegation(user, agent)
    deep: Any = "x"
    for _ in range(10_000):
        deep = [deep]
    credential["credentialSubject"]["deep"] = deep
    result = await _verify(credential, resolver, clock)
    assert result.codes == ("too_large",)


async def test_oversized_jwt_is_too_large(resolver: DIDResolver, clock: FixedClock) -> None:
    result = await _verify("a" * 2_000_000, resolver, clock)
    assert result.codes == ("too_large",)


async def test_input_that_is_neither_object_nor_jwt_is_malformed(
    resolver: DIDResolver, clock: FixedClock
) -> None:
    result = await _verify(42, resolver, clock)  # type: ignore[arg-type]
    assert result.codes == ("malformed",)
    result = await _verify("not-a-jwt", resolver, clock)
    assert result.codes == ("malformed",)


async def test_data_model_violation_is_reported_with_its_reason(
    user: Party, agent: Party, resolver: DIDResolver, clock: FixedClock
) -> None:
    signed = issue_credential(
        delegation(user, agent), key=user.key, verification_method=user.vm, suite="eddsa-jcs-2022"
    )
    assert isinstance(signed, dict)
    signed["validFrom"] = "tomorrow"
    result = await _verify(signed, resolver, clock)
    assert result.codes == ("invalid_date",)


async def test_unsigned_credential_is_missing_proof(
    user: Party, agent: Party, resolver: DIDResolver, clock: FixedClock
) -> None:
    result = await _verify(delegation(user, agent), resolver, clock)
    assert result.codes == ("missing_proof",)
    assert result.issuer == user.did


@pytest.mark.parametrize("suite", ["eddsa-jcs-2022", "jose"])
@pytest.mark.parametrize(
    ("offset", "codes"),
    [
        (timedelta(hours=8) - timedelta(seconds=61), ()),  # inside the 60 s skew
        (timedelta(hours=8) + timedelta(seconds=59), ()),
        (timedelta(hours=8) + timedelta(seconds=60), ("expired",)),  # now - skew == validUntil
        (timedelta(hours=9), ("expired",)),
        (-timedelta(seconds=60), ()),  # now + skew == validFrom
        (-timedelta(seconds=61), ("not_yet_valid",)),
    ],
)
async def test_validity_period_against_the_clock_with_60s_skew(
    suite: str, offset: timedelta, codes: tuple[str, ...], user: Party, agent: Party, resolver: DIDResolver
) -> None:
    # VCDM §4.9, SECURITY SEC-34 (boundaries are deterministic).
    signed = issue_credential(delegation(user, agent), key=user.key, verification_method=user.vm, suite=suite)  # type: ignore[arg-type]
    result = await _verify(signed, resolver, FixedClock(NOW + offset))
    assert result.codes == codes


async def test_proof_by_a_key_not_controlled_by_the_issuer_is_issuer_mismatch(
    user: Party, agent: Party, resolver: DIDResolver, clock: FixedClock
) -> None:
    # SECURITY SEC-27 (a): issuer = USER, proof by MALLORY.
    mallory = make_party()
    forged = data_integrity.add_proof(
        delegation(user, agent), key=mallory.key, verification_method=mallory.vm, cryptosuite="eddsa-jcs-2022"
    )
    result = await _verify(forged, resolver, clock)
    assert result.codes == ("issuer_mismatch",)


async def test_jose_credential_signed_by_another_did_is_refused(
    user: Party, agent: Party, resolver: DIDResolver, clock: FixedClock
) -> None:
    from did_agents import jws

    mallory = make_party()
    token = jws.sign_compact(delegation(user, agent), mallory.key, typ="vc+jwt", kid=mallory.vm)
    result = await _verify(token, resolver, clock)
    assert result.codes == ("issuer_mismatch",)


async def test_authentication_proof_on_a_credential_is_wrong_purpose(
    user: Party, agent: Party, resolver: DIDResolver, clock: FixedClock
) -> None:
    # SECURITY SEC-26: VC proofs need assertionMethod.
    signed = data_integrity.add_proof(
        delegation(user, agent),
        key=user.key,
        verification_method=user.vm,
        cryptosuite="eddsa-rdfc-2022",
        proof_purpose="authentication",
    )
    result = await _verify(signed, resolver, clock)
    assert result.codes == ("wrong_purpose",)


@pytest.mark.parametrize("suite", ["eddsa-jcs-2022", "eddsa-rdfc-2022", "jose"])
async def test_unknown_context_url_is_refused_before_the_proof(
    suite: str, user: Party, agent: Party, resolver: DIDResolver, clock: FixedClock
) -> None:
    # VC-DATA-INTEGRITY §2.4.1: contexts come from a pinned local set; nothing is fetched.
    if suite == "jose":
        from did_agents import jws

        credential = delegation(user, agent)
        credential["@context"].append("https://evil.example/context")
        signed: Any = jws.sign_compact(credential, user.key, typ="vc+jwt", kid=user.vm)
    else:
        signed = issue_credential(
            delegation(user, agent), key=user.key, verification_method=user.vm, suite=suite
        )  # type: ignore[arg-type]
        signed["@context"].append("https://evil.example/context")
    result = await _verify(signed, resolver, clock)
    assert result.codes == ("unknown_context",)


@pytest.mark.parametrize(
    "inline", [{"@vocab": "https://evil.example/#"}, {"VerifiableCredential": "https://evil/#X"}]
)
async def test_inline_context_is_refused_by_default(
    inline: dict[str, str], user: Party, agent: Party, resolver: DIDResolver, clock: FixedClock
) -> None:
    # SECURITY SEC-29: an inline context can define every term or remap one.
    from did_agents import jws

    credential = delegation(user, agent)
    credential["@context"].append(inline)
    token = jws.sign_compact(credential, user.key, typ="vc+jwt", kid=user.vm)
    result = await _verify(token, resolver, clock)
    assert result.codes == ("unknown_context",)


@pytest.mark.parametrize("suite", ["eddsa-jcs-2022", "jose"])
async def test_undefined_term_is_refused_for_json_suites(
    suite: str, user: Party, agent: Party, resolver: DIDResolver, clock: FixedClock
) -> None:
    # The JCS and JOSE proofs sign JSON; JSON-LD safe mode still refuses undefined terms.
    credential = delegation(user, agent)
    credential["credentialSubject"]["actorChain"] = ["did:key:z6MkAdmin"]
    signed = issue_credential(credential, key=user.key, verification_method=user.vm, suite=suite)  # type: ignore[arg-type]
    result = await _verify(signed, resolver, clock)
    assert result.codes == ("undefined_term",)
    relaxed = await _verify(signed, resolver, clock, check_terms=False)
    assert relaxed.verified


async def test_undefined_term_is_refused_for_rdfc_at_signing(user: Party, agent: Party) -> None:
    credential = delegation(user, agent)
    credential["credentialSubject"]["actorChain"] = ["did:key:z6MkAdmin"]
    with pytest.raises(VerificationError) as info:
        issue_credential(credential, key=user.key, verification_method=user.vm, suite="eddsa-rdfc-2022")
    assert info.value.reason == "undefined_term"


async def test_allowed_formats_narrow_what_is_accepted(
    user: Party, agent: Party, resolver: DIDResolver, clock: FixedClock
) -> None:
    token = issue_credential(delegation(user, agent), key=user.key, verification_method=user.vm, suite="jose")
    result = await _verify(token, resolver, clock, allowed_formats={"data-integrity"})
    assert result.codes == ("unsupported_format",)


async def test_allowed_cryptosuites_narrow_what_is_accepted(
    user: Party, agent: Party, resolver: DIDResolver, clock: FixedClock
) -> None:
    # SECURITY SEC-35.
    signed = issue_credential(
        delegation(user, agent), key=user.key, verification_method=user.vm, suite="eddsa-jcs-2022"
    )
    result = await _verify(signed, resolver, clock, allowed_cryptosuites={"eddsa-rdfc-2022"})
    assert result.codes == ("unsupported_cryptosuite",)


async def test_enveloped_credential_is_unwrapped_and_verified(
    user: Party, agent: Party, resolver: DIDResolver, clock: FixedClock
) -> None:
    from did_agents.credentials.verify import envelope_credential

    token = issue_credential(delegation(user, agent), key=user.key, verification_method=user.vm, suite="jose")
    assert isinstance(token, str)
    result = await _verify(envelope_credential(token), resolver, clock)
    assert result.verified and result.format == "vc+jwt"


async def test_presentation_jwt_is_not_a_credential(
    user: Party, agent: Party, resolver: DIDResolver, clock: FixedClock
) -> None:
    from did_agents.credentials.verify import build_presentation, sign_presentation

    vp = sign_presentation(
        build_presentation(agent.did, []),
        key=agent.key,
        verification_method=agent.vm,
        challenge="c",
        domain="https://v.example",
        suite="jose",
    )
    result = await _verify(vp, resolver, clock)
    assert result.codes == ("malformed",)


def test_issue_refuses_a_verification_method_of_another_did(user: Party, agent: Party) -> None:
    with pytest.raises(ValueError, match="issuer"):
        issue_credential(
            delegation(user, agent), key=agent.key, verification_method=agent.vm, suite="eddsa-jcs-2022"
        )


def test_issue_validates_the_data_model_first(user: Party, agent: Party) -> None:
    credential = delegation(user, agent)
    del credential["credentialSubject"]
    with pytest.raises(MalformedError) as info:
        issue_credential(credential, key=user.key, verification_method=user.vm, suite="jose")
    assert info.value.reason == "missing_property"


def test_issue_refuses_an_unknown_suite(user: Party, agent: Party) -> None:
    with pytest.raises(ValueError, match="unknown suite"):
        issue_credential(
            delegation(user, agent), key=user.key, verification_method=user.vm, suite="eddsa-2022"
        )  # type: ignore[arg-type]


def test_problem_codes_of_the_proof_modules_are_normalized() -> None:
    assert Problem.of(VerificationError("x", reason="wrong_challenge")).code == "challenge_mismatch"
    assert Problem.of(VerificationError("x", reason="wrong_audience")).code == "domain_mismatch"
    assert Problem.of(VerificationError("x", reason="bad_signature")).code == "bad_signature"


def test_result_to_json_shape(user: Party) -> None:
    result = VerificationResult(
        verified=False, document=None, format="vc+jwt", issuer=user.did, problems=(Problem("expired", "e"),)
    )
    assert result.to_json() == {
        "verified": False,
        "format": "vc+jwt",
        "issuer": user.did,
        "problems": [{"code": "expired", "message": "e"}],
        "document": None,
    }
