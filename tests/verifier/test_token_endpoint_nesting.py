"""Deeply nested subject tokens at the token endpoint (uvicorn on 127.0.0.1): refused with 400
``invalid_request`` (RFC 8693 §2.2.2: an unacceptable subject token; RFC 6749 §5.2), never a
5xx, and nothing written but the ``token_exchange.denied`` audit event (SECURITY NEG-INV 1-3,
SEC-53 for the token endpoint)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from did_agents.credentials.verify import build_presentation, sign_presentation
from did_agents.exchange import JWT_TOKEN_TYPE, VP_TOKEN_TYPE
from tests.exchange.harness import ISSUER, b64
from tests.verifier.conftest import Live

HOLE = "__nested__"


def nest(document: dict[str, Any], depth: int, *, arrays: bool = False) -> str:
    """``document`` as JSON with ``depth`` levels of objects (or arrays) where ``HOLE`` was."""
    open_, close = ("[", "]") if arrays else ('{"n":', "}")
    return json.dumps(document).replace(json.dumps(HOLE), open_ * depth + '"x"' + close * depth)


def refused(live: Live, body: str, reason: str) -> httpx.Response:
    before = live.h.db.row_counts()
    denied_before = len(live.h.events("token_exchange.denied"))
    response = live.post_token(body)
    assert response.status_code == 400, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.json()["error"] == "invalid_request"
    after = live.h.db.row_counts()
    assert {t: after[t] - before[t] for t in after if after[t] != before[t]} == {"audit_events": 1}
    denied = live.h.events("token_exchange.denied")
    assert len(denied) == denied_before + 1
    assert denied[-1].event.reason == reason
    return response


@pytest.mark.parametrize("depth", [40, 5_000, 20_000])
def test_deeply_nested_vp_is_400(live: Live, depth: int) -> None:
    w = live.w
    vp = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "holder": w.ordering.did,
        "verifiableCredential": [{"credentialSubject": HOLE}],
        "proof": {
            "type": "DataIntegrityProof",
            "cryptosuite": "eddsa-rdfc-2022",
            "challenge": live.challenge(),
            "domain": ISSUER,
        },
    }
    response = refused(live, live.form((nest(vp, depth), VP_TOKEN_TYPE)), "too_large")
    assert "nested" in response.json()["error_description"]


def test_deeply_nested_vp_jwt_payload_is_400(live: Live) -> None:
    w = live.w
    header = b64(json.dumps({"alg": "EdDSA", "typ": "vp+jwt", "kid": w.ordering.vm}).encode())
    claims = {"iss": w.ordering.did, "nonce": live.challenge(), "aud": ISSUER, "vp": HOLE}
    token = f"{header}.{b64(nest(claims, 5_000).encode())}.{b64(b'x' * 64)}"
    refused(live, live.form((token, JWT_TOKEN_TYPE)), "too_large")


@pytest.mark.parametrize("depth", [20, 26])
def test_signed_json_ld_vp_nested_within_the_bounds_is_400(live: Live, depth: int) -> None:
    """A holder-signed eddsa-rdfc-2022 (JSON-LD) presentation whose credential nests arrays as deep
    as the JSON bounds allow (JSON-LD expansion recurses into them): the presentation verifies,
    the unsigned credential does not, and the answer is a 400 refusal, not a 5xx."""
    w = live.w
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    credential: dict[str, Any] = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "issuer": w.org.did,
        "credentialSubject": {"id": w.ordering.did, "name": value},
    }
    signed = sign_presentation(
        build_presentation(w.ordering.did, [credential]),
        key=w.ordering.key,
        verification_method=w.ordering.vm,
        challenge=live.challenge(),
        domain=ISSUER,
        suite="eddsa-rdfc-2022",
        clock=live.h.clock,
    )
    assert isinstance(signed, dict)
    response = refused(live, live.form((json.dumps(signed), VP_TOKEN_TYPE)), "chain_signature")
    assert "missing_proof" in response.json()["error_description"]
