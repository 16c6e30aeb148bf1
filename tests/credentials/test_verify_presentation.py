"""verify_presentation: holder proof, challenge/domain binding, every embedded credential."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from did_agents.clock import FixedClock
from did_agents.credentials.verify import (
    VerificationResult,
    build_presentation,
    issue_credential,
    sign_presentation,
    verify_presentation,
)
from did_agents.did.resolver import DIDResolver
from did_agents.proofs import data_integrity, jose
from tests.credentials.conftest import Party, delegation, make_party

pytestmark = pytest.mark.anyio

CHALLENGE = "n-0S6_WzA2Mj"
DOMAIN = "https://verifier.example"


def _signed_delegation(user: Party, agent: Party, suite: str = "eddsa-jcs-2022") -> Any:
    return issue_credential(delegation(user, agent), key=user.key, verification_method=user.vm, suite=suite)  # type: ignore[arg-type]


def _vp(agent: Party, credentials: list[Any], suite: str = "eddsa-jcs-2022", **kw: Any) -> Any:
    args: dict[str, Any] = {"challenge": CHALLENGE, "domain": DOMAIN, "suite": suite}
    args.update(kw)
    return sign_presentation(
        build_presentation(agent.did, credentials), key=agent.key, verification_method=agent.vm, **args
    )


async def _verify(vp: Any, resolver: DIDResolver, clock: FixedClock, **kw: Any) -> VerificationResult:
    args: dict[str, Any] = {"challenge": CHALLENGE, "domain": DOMAIN}
    args.update(kw)
    return await verify_presentation(vp, resolver=resolver, clock=clock, **args)


@pytest.mark.parametrize("vp_suite", ["eddsa-rdfc-2022", "eddsa-jcs-2022", "jose"])
@pytest.mark.parametrize("vc_suite", ["eddsa-rdfc-2022", "eddsa-jcs-2022", "jose"])
async def test_presentation_verifies_with_every_embedded_credential(
    vp_suite: str, vc_suite: str, user: Party, agent: Party, resolver: DIDResolver, clock: FixedClock
) -> None:
    credential = _signed_delegation(user, agent, vc_suite)
    result = await _verify(_vp(agent, [credential], vp_suite), resolver, clock)
    assert result.verified, (result.problems, [c.problems for c in result.credentials])
    assert result.holder == agent.did
    assert result.format == ("vp+jwt" if vp_suite == "jose" else "data-integrity")
    assert len(result.credentials) == 1
    assert result.credentials[0].issuer == user.did
    assert result.credentials[0].format == ("vc+jwt" if vc_suite == "jose" else "data-integrity")


@pytest.mark.parametrize("suite", ["eddsa-jcs-2022", "jose"])
async def test_wrong_challenge_is_challenge_mismatch(
    suite: str, user: Party, agent: Party, resolver: DIDResolver, clock: FixedClock
) -> None:
    # SECURITY SEC-23: the verifier's nonce.
    vp = _vp(agent, [_signed_delegation(user, agent)], suite, challenge="another-nonce")
    result = await _verify(vp, resolver, clock)
    assert result.codes == ("challenge_mismatch",)


@pytest.mark.parametrize("suite", ["eddsa-jcs-2022", "jose"])
async def test_other_domain_is_domain_mismatch(
    suite: str, user: Party, agent: Party, resolver: DIDResolver, clock: FixedClock
) -> None:
    # SECURITY SEC-24: a presentation made for another verifier.
    vp = _vp(agent, [_signed_delegation(user, agent)], suite, domain="https://other-sts.example")
    result = await _verify(vp, resolver, clock)
    assert result.codes == ("domain_mismatch",)


async def test_assertion_proof_on_a_presentation_is_wrong_purpose(
    user: Party, agent: Party, resolver: DIDResolver, clock: FixedClock
) -> None:
    # SECURITY SEC-26: VP proofs need authentication.
    vp = data_integrity.add_proof(
        build_presentation(agent.did, [_signed_delegation(user, agent)]),
        key=agent.key,
        verification_method=agent.vm,
        cryptosuite="eddsa-jcs-2022",
        proof_purpose="assertionMethod",
        challenge=CHALLENGE,
        domain=DOMAIN,
    )
    result = await _verify(vp, resolver, clock)
    assert result.codes == ("wrong_purpose",)


async def test_holder_other_than_the_signer_is_holder_mismatch(
    user: Party, agent: Party, resolver: DIDResolver, clock: FixedClock
) -> None:
    # SECURITY SEC-33: proof by MALLORY while holder = AGENT.
    mallory = make_party()
    vp = data_integrity.add_proof(
        build_presentation(agent.did, [_signed_delegation(user, agent)]),
        key=mallory.key,
        verification_method=mallory.vm,
        cryptosuite="eddsa-jcs-2022",
        proof_purpose="authentication",
        challenge=CHALLENGE,
        domain=DOMAIN,
    )
    result = await _verify(vp, resolver, clock)
    assert result.codes == ("holder_mismatch",)


async def test_missing_holder_is_refused_unless_allowed(
    user: Party, agent: Party, resolver: DIDResolver, clock: FixedClock
) -> None:
    presentation = build_presentation(agent.did, [_signed_delegation(user, agent)])
    del presentation["holder"]
    vp = data_integrity.add_proof(
        presentation,
        key=agent.key,
        verification_method=agent.vm,
        cryptosuite="eddsa-jcs-2022",
        proof_purpose="authentication",
        challenge=CHALLENGE,
        domain=DOMAIN,
    )
    result = await _verify(vp, resolver, clock)
    assert result.codes == ("missing_property",)
    relaxed = await _verify(vp, resolver, clock, require_holder=False)
    assert relaxed.verified and relaxed.holder == agent.did


async def test_one_bad_credential_fails_the_presentation_and_is_reported_nested(
    user: Party, agent: Party, resolver: DIDResolver, clock: FixedClock
) -> None:
    good = _signed_delegation(user, agent)
    bad = copy.deepcopy(_signed_delegation(user, agent))
    bad["credentialSubject"]["maxDepth"] = 5  # tampered (SEC-25)
    result = await _verify(_vp(agent, [good, bad]), resolver, clock)
    assert result.codes == ("invalid_credential",)
    assert [c.verified for c in result.credentials] == [True, False]
    assert result.credentials[1].codes == ("bad_signature",)


async def test_stripped_proof_in_an_embedded_credential_is_missing_proof(
    user: Party, agent: Party, resolver: DIDResolver, clock: FixedClock
) -> None:
    # SECURITY SEC-32: the VP proof does not vouch for an unsigned credential.
    stripped = _signed_delegation(user, agent)
    del stripped["proof"]
    result = await _verify(_vp(agent, [stripped]), resolver, clock)
    assert result.codes == ("invalid_credential",)
    assert result.credentials[0].codes == ("missing_proof",)


async def test_too_many_credentials_is_too_large_before_signature_work(
    user: Party, agent: Party, resolver: DIDResolver, clock: FixedClock
) -> None:
    # SECURITY SEC-42: a cap on credentials per presentation.
    credential = _signed_delegation(user, agent)
    vp = _vp(agent, [credential] * 5)
    result = await _verify(vp, resolver, clock, max_credentials=4)
    assert result.codes == ("too_large",)
    assert result.credentials == ()


async def test_unsigned_presentation_is_missing_proof(
    user: Party, agent: Party, resolver: DIDResolver, clock: FixedClock
) -> None:
    result = await _verify(build_presentation(agent.did, [_signed_delegation(user, agent)]), resolver, clock)
    assert result.codes == ("missing_proof",)


async def test_presentation_data_model_is_validated(
    user: Party, agent: Party, resolver: DIDResolver, clock: FixedClock
) -> None:
    vp = _vp(agent, [_signed_delegation(user, agent)])
    vp["type"] = ["CredentialManagerPresentation"]
    result = await _verify(vp, resolver, clock)
    assert result.codes == ("invalid_type",)


async def test_vp_jwt_must_name_its_holder(
    user: Party, agent: Party, resolver: DIDResolver, clock: FixedClock
) -> None:
    from did_agents import jws

    payload = build_presentation(agent.did, [_signed_delegation(user, agent)])
    del payload["holder"]
    token = jws.sign_compact(
        {**payload, "nonce": CHALLENGE, "aud": DOMAIN}, agent.key, typ="vp+jwt", kid=agent.vm
    )
    result = await _verify(token, resolver, clock)
    assert result.codes == ("holder_mismatch",)


async def test_credential_jwt_given_as_presentation_is_malformed(
    user: Party, agent: Party, resolver: DIDResolver, clock: FixedClock
) -> None:
    token = _signed_delegation(user, agent, "jose")
    result = await _verify(token, resolver, clock)
    assert result.codes == ("malformed",)


async def test_challenge_and_domain_are_required_arguments(
    agent: Party, resolver: DIDResolver, clock: FixedClock
) -> None:
    with pytest.raises(ValueError, match="challenge"):
        await verify_presentation({}, resolver=resolver, clock=clock, challenge="", domain=DOMAIN)


def test_sign_presentation_refuses_a_key_of_another_did(user: Party, agent: Party) -> None:
    with pytest.raises(ValueError, match="holder"):
        sign_presentation(
            build_presentation(agent.did, []),
            key=user.key,
            verification_method=user.vm,
            challenge=CHALLENGE,
            domain=DOMAIN,
        )


def test_build_presentation_envelopes_jwt_credentials(user: Party, agent: Party) -> None:
    token = _signed_delegation(user, agent, "jose")
    presentation = build_presentation(agent.did, [token])
    entry = presentation["verifiableCredential"][0]
    assert entry["type"] == "EnvelopedVerifiableCredential"
    assert jose.parse_enveloped(entry) == token


@pytest.mark.parametrize(("key_type", "suite"), [("ed25519", "eddsa-rdfc-2022"), ("p256", "ecdsa-rdfc-2019")])
async def test_presentation_suite_defaults_to_the_key_types_rdfc_suite(
    key_type: str, suite: str, resolver: DIDResolver, clock: FixedClock
) -> None:
    holder = make_party(key_type)
    vp = sign_presentation(
        build_presentation(holder.did, []),
        key=holder.key,
        verification_method=holder.vm,
        challenge=CHALLENGE,
        domain=DOMAIN,
    )
    assert vp["proof"]["cryptosuite"] == suite
    assert (await _verify(vp, resolver, clock)).verified
