"""``POST /presentations/verify`` with our single-use challenges (SECURITY SEC-23; VC DM 2.0
"Replay Attack"): a challenge from ``POST /challenges`` answers once; a caller's own
challenge is verified and never recorded."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx

from did_agents.storage.challenges import ChallengeRepository
from tests.exchange.harness import ISSUER
from tests.verifier.conftest import Live


def _verify(live: Live, vp: Any, challenge: str) -> httpx.Response:
    return live.client.post(
        "/presentations/verify",
        json={"verifiablePresentation": vp, "options": {"challenge": challenge, "domain": ISSUER}},
    )


def _presentation(live: Live, challenge: str) -> Any:
    w = live.w
    token, _ = live.subject_token(w.inventory, [w.inventory_acc()], challenge=challenge)
    return json.loads(token)


def _codes(response: httpx.Response) -> list[str]:
    return [p["code"] for p in response.json()["problems"]]


def test_our_challenge_answers_once(live: Live) -> None:
    nonce = live.challenge()
    vp = _presentation(live, nonce)
    first = _verify(live, vp, nonce)
    assert first.status_code == 200, first.text
    replayed = _verify(live, vp, nonce)
    assert replayed.status_code == 422
    assert _codes(replayed) == ["challenge_spent"]
    with live.h.db.read() as conn:
        stored = ChallengeRepository(conn).find(nonce)
    assert stored is not None and stored.spent_at is not None
    # ...and it is spent for the token endpoint too.
    refused = live.post_token(live.form((json.dumps(vp), "urn:did-agents:params:oauth:token-type:vp")))
    assert refused.status_code == 400
    assert "challenge" in refused.json()["error_description"]


def test_a_callers_own_challenge_is_not_recorded(live: Live) -> None:
    vp = _presentation(live, "caller-chosen-nonce-123")
    before = live.h.db.row_counts()
    for _ in range(2):
        response = _verify(live, vp, "caller-chosen-nonce-123")
        assert response.status_code == 200, response.text
    after = live.h.db.row_counts()
    assert after == before  # no challenge row created or spent


def test_a_presentation_that_does_not_verify_leaves_our_challenge_unspent(live: Live) -> None:
    nonce = live.challenge()
    vp = _presentation(live, nonce)
    forged = {**vp, "proof": {**vp["proof"], "proofValue": vp["proof"]["proofValue"][:-3] + "111"}}
    refused = _verify(live, forged, nonce)
    assert refused.status_code == 422
    assert "challenge_spent" not in _codes(refused)
    assert _verify(live, vp, nonce).status_code == 200


def test_an_expired_challenge_of_ours_is_refused(live: Live) -> None:
    nonce = live.challenge()
    vp = _presentation(live, nonce)
    live.h.clock.advance(timedelta(minutes=6))
    refused = _verify(live, vp, nonce)
    assert refused.status_code == 422
    assert _codes(refused) == ["challenge_expired"]


def test_our_challenge_for_another_domain_is_refused(live: Live) -> None:
    nonce = live.challenge()
    vp = _presentation(live, nonce)
    refused = live.client.post(
        "/presentations/verify",
        json={
            "verifiablePresentation": vp,
            "options": {"challenge": nonce, "domain": "https://other.example"},
        },
    )
    assert refused.status_code == 422
    assert _codes(refused) == ["challenge_mismatch"]
