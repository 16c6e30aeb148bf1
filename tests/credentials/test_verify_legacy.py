"""VCDM 1.1 credentials from existing wallets (didkit 0.3.3) through the one verification entry point."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from did_agents.clock import FixedClock
from did_agents.credentials.verify import (
    build_presentation,
    sign_presentation,
    verify_credential,
    verify_presentation,
)
from did_agents.did.resolver import DIDResolver
from tests.credentials.conftest import Party

pytestmark = pytest.mark.anyio

VECTORS = json.loads((Path(__file__).parent.parent / "vectors" / "didkit" / "vcdm11.json").read_text("utf-8"))


@pytest.mark.parametrize(("name", "fmt"), [("vc_ed25519_2018", "ldp-1.1"), ("vc_jwt", "jwt-1.1")])
async def test_didkit_credentials_verify(
    name: str, fmt: str, resolver: DIDResolver, clock: FixedClock
) -> None:
    result = await verify_credential(VECTORS[name], resolver=resolver, clock=clock)
    assert result.verified, result.problems
    assert result.format == fmt
    assert result.issuer == VECTORS["issuer"]
    assert result.document is not None and result.document["credentialSubject"]["id"] == VECTORS["holder"]


async def test_tampered_didkit_credential_is_refused(resolver: DIDResolver, clock: FixedClock) -> None:
    tampered = copy.deepcopy(VECTORS["vc_ed25519_2018"])
    tampered["expirationDate"] = "2099-01-01T00:00:00Z"
    result = await verify_credential(tampered, resolver=resolver, clock=clock)
    assert not result.verified
    assert result.codes == ("bad_signature",)


async def test_legacy_formats_can_be_switched_off(resolver: DIDResolver, clock: FixedClock) -> None:
    result = await verify_credential(
        VECTORS["vc_jwt"], resolver=resolver, clock=clock, allowed_formats={"data-integrity", "vc+jwt"}
    )
    assert result.codes == ("unsupported_format",)


async def test_didkit_presentation_verifies_with_its_credential(
    resolver: DIDResolver, clock: FixedClock
) -> None:
    result = await verify_presentation(
        VECTORS["vp_ed25519_2018"],
        resolver=resolver,
        clock=clock,
        challenge=VECTORS["challenge"],
        domain=VECTORS["domain"],
    )
    assert result.verified, result.problems
    assert result.format == "ldp-1.1"
    assert result.holder == VECTORS["holder"]
    assert [c.issuer for c in result.credentials] == [VECTORS["issuer"]]


async def test_didkit_presentation_for_another_challenge_is_refused(
    resolver: DIDResolver, clock: FixedClock
) -> None:
    result = await verify_presentation(
        VECTORS["vp_ed25519_2018"],
        resolver=resolver,
        clock=clock,
        challenge="other",
        domain=VECTORS["domain"],
    )
    assert result.codes == ("challenge_mismatch",)


async def test_vcdm11_credential_inside_a_vcdm2_presentation(
    agent: Party, resolver: DIDResolver, clock: FixedClock
) -> None:
    vp = sign_presentation(
        build_presentation(agent.did, [VECTORS["vc_ed25519_2018"], VECTORS["vc_jwt"]]),
        key=agent.key,
        verification_method=agent.vm,
        challenge="n",
        domain="https://v.example",
        suite="eddsa-rdfc-2022",
    )
    result: Any = await verify_presentation(
        vp, resolver=resolver, clock=clock, challenge="n", domain="https://v.example"
    )
    assert [c.format for c in result.credentials] == ["ldp-1.1", "jwt-1.1"]
    # A VCDM 1.1 JWT is not application/vc+jwt: its envelope lies about it.
    assert result.credentials[0].verified
    assert result.credentials[1].codes == ("malformed",)
    alone = sign_presentation(
        build_presentation(agent.did, [VECTORS["vc_ed25519_2018"]]),
        key=agent.key,
        verification_method=agent.vm,
        challenge="n",
        domain="https://v.example",
    )
    ok = await verify_presentation(
        alone, resolver=resolver, clock=clock, challenge="n", domain="https://v.example"
    )
    assert ok.verified, ok.problems
    assert result.codes == ("invalid_credential",)


async def test_vcdm11_status_fails_closed_when_status_is_checked(
    user: Party, resolver: DIDResolver, clock: FixedClock
) -> None:
    from did_agents import jws

    credential = {
        "@context": ["https://www.w3.org/2018/credentials/v1"],
        "type": ["VerifiableCredential"],
        "issuer": user.did,
        "issuanceDate": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": user.did},
        "credentialStatus": {"id": "https://issuer.example/status/1#7", "type": "StatusList2021Entry"},
    }
    token = jws.sign_compact(
        {"vc": credential, "iss": user.did, "nbf": 1767225600}, user.key, typ="JWT", kid=user.vm
    )

    async def lists(url: str) -> Any:
        raise AssertionError("no status list is fetched for VCDM 1.1")

    unchecked = await verify_credential(token, resolver=resolver, clock=clock)
    assert unchecked.verified and unchecked.format == "jwt-1.1"
    checked = await verify_credential(token, resolver=resolver, clock=clock, status_resolver=lists)
    assert checked.codes == ("unsupported_status",)
