"""SECURITY FLT-05 / SEC-23(b): fifty concurrent copies of one request give exactly one token."""

from __future__ import annotations

import asyncio

import httpx

from tests.verifier.conftest import Live


def test_fifty_identical_requests_mint_one_token(live: Live) -> None:
    w = live.w
    token = live.subject_token(w.ordering, [w.smith_to_ordering(), w.ordering_acc(), w.smith_role()])
    actor = live.h.actor_token(w.ordering)
    body = live.form(token, actor_token=actor, actor_token_type="urn:ietf:params:oauth:token-type:jwt")
    before = live.h.db.row_counts()

    async def fire() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=50)
        async with httpx.AsyncClient(base_url=live.url, timeout=60, limits=limits) as client:
            return await asyncio.gather(
                *(
                    client.post(
                        "/oauth/token",
                        content=body,
                        headers={"Content-Type": "application/x-www-form-urlencoded"},
                    )
                    for _ in range(50)
                )
            )

    responses = asyncio.run(fire())
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [400] * 49, statuses
    reasons = {r.json()["error"] for r in responses if r.status_code == 400}
    assert reasons == {"invalid_request"}
    after = live.h.db.row_counts()
    assert after["access_tokens"] == before["access_tokens"] + 1
    assert after["replay_cache"] == before["replay_cache"] + 1
    assert after["audit_events"] == before["audit_events"] + 50
    assert len(live.h.events("token_exchange.granted")) == 1
    denied = live.h.events("token_exchange.denied")
    assert len(denied) == 49
    assert {e.event.reason for e in denied} <= {"challenge_spent", "actor_token_replayed"}
