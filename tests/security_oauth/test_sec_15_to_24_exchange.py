"""SECURITY §B (SEC-15 … SEC-24): the RFC 8693 token-exchange protocol over HTTP, against the real
verifier on uvicorn (SQLite and PostgreSQL), each refusal checked with NEG-INV (``checks.refused``).
Library-level twins of several cases are in ``tests/exchange/test_refusals.py``; FLT-05 /
SEC-23(b) (50 concurrent copies) is ``tests/verifier/test_concurrency.py``.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import jwt

from did_agents.credentials.verify import build_presentation
from did_agents.exchange import ACCESS_TOKEN_TYPE, JWT_TOKEN_TYPE, VP_TOKEN_TYPE
from did_agents.exchange.request import GRANT_TYPE_TOKEN_EXCHANGE
from did_agents.proofs.data_integrity import add_proof
from did_agents.storage.challenges import ChallengeRepository
from tests.delegation.urban_bites import MCP, T0
from tests.exchange.harness import ISSUER, decode_jwt
from tests.security.world import di_sign, unsigned_d_ua
from tests.security_oauth.checks import actor_claims, actor_header, chain, forge, form, refused
from tests.servers import run_server
from tests.verifier.conftest import Live, build_app


def _vp(live: Live) -> tuple[str, str]:
    return live.subject_token(live.w.ordering, chain(live))


def _failures(live: Live, cases: dict[str, tuple[str, str, str]]) -> None:
    """name → (body, reason, error): every one refused with NEG-INV; all mismatches reported."""
    failures = []
    for name, (body, reason, error) in cases.items():
        try:
            refused(live, body, reason=reason, error=error)
        except AssertionError as exc:
            failures.append(f"{name}: {exc}")
    assert not failures, "\n".join(failures)


# -- SEC-15 -------------------------------------------------------------------------------------


def test_sec15_malformed_exchange_requests(live: Live) -> None:
    vp = _vp(live)
    actor = live.h.actor_token(live.w.ordering)
    base = [("grant_type", GRANT_TYPE_TOKEN_EXCHANGE), ("subject_token", vp[0]), ("resource", MCP)]
    from urllib.parse import urlencode

    cases = {
        "no-subject_token_type": (urlencode(base), "missing_parameter", "invalid_request"),
        "WRONG_TOKEN_TYPE": (
            urlencode([*base, ("subject_token_type", "WRONG_TOKEN_TYPE")]),
            "unsupported_token_type",
            "invalid_request",
        ),
        "actor_token-without-type": (
            urlencode([*base, ("subject_token_type", vp[1]), ("actor_token", actor)]),
            "missing_parameter",
            "invalid_request",
        ),
        "actor_token_type-without-token": (
            urlencode([*base, ("subject_token_type", vp[1]), ("actor_token_type", JWT_TOKEN_TYPE)]),
            "missing_parameter",
            "invalid_request",
        ),
        "subject_token-twice": (
            form(vp, extra=[("subject_token", vp[0])]),
            "repeated_parameter",
            "invalid_request",
        ),
        "refresh_token-requested": (
            form(vp, extra=[("requested_token_type", "urn:ietf:params:oauth:token-type:refresh_token")]),
            "unsupported_requested_token_type",
            "invalid_request",
        ),
    }
    _failures(live, cases)
    # JSON body instead of the form.
    body = json.dumps({"grant_type": GRANT_TYPE_TOKEN_EXCHANGE, "subject_token": vp[0]})
    refused(live, body, reason="unsupported_media_type", content_type="application/json")
    # GET with query parameters: 405, nothing written (the route never runs, so no audit event).
    before = live.h.db.row_counts()
    response = live.client.get(
        "/oauth/token", params={"grant_type": GRANT_TYPE_TOKEN_EXCHANGE, "subject_token": vp[0]}
    )
    assert response.status_code == 405
    assert response.json()["error"] == "invalid_request"
    assert response.headers["cache-control"] == "no-store"
    assert "access_token" not in response.text
    assert live.h.db.row_counts() == before
    # The presentation was never proven by these refusals: it still works.
    assert live.post_token(form(vp)).status_code == 200


# -- SEC-16 -------------------------------------------------------------------------------------


def test_sec16_without_actor_token_the_token_still_names_the_agent(live: Live) -> None:
    """Default configuration (actor_token optional, docs/architecture.md "Verifier"): the holder
    proof with our single-use challenge binds the agent, and the minted token is never act-less."""
    response = live.post_token(form(_vp(live)))
    assert response.status_code == 200, response.text
    _, claims = decode_jwt(response.json()["access_token"])
    assert claims["sub"] == live.w.smith.did
    assert claims["act"] == {"sub": live.w.ordering.did}


def test_sec16_required_actor_token_refuses_a_request_without_one(live: Live) -> None:
    """``DID_AGENTS_REQUIRE_ACTOR_TOKEN=true``: 400 invalid_request, as the catalog requires."""
    app = build_app(live.h, require_actor_token=True)
    with run_server(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        strict = Live(live.h, app, url, client, live.operator_token)
        refused(strict, form(_vp(strict)), reason="actor_token_required")
        ok = strict.post_token(form(_vp(strict), actor=live.h.actor_token(live.w.ordering)))
        assert ok.status_code == 200, ok.text


# -- SEC-17 / SEC-18 ----------------------------------------------------------------------------


def test_sec17_actor_is_not_the_delegatee(live: Live) -> None:
    w = live.w
    refused(live, form(_vp(live), actor=live.h.actor_token(w.mallory)), reason="agent_credential")
    root = w.smith_to_ordering()
    child = w.delegation(w.ordering, w.payment, ["orders:read"], parent=w.parent(root))
    vp = live.subject_token(w.payment, [root, child, w.ordering_acc(), w.payment_acc(), w.smith_role()])
    refused(live, form(vp, actor=live.h.actor_token(w.ordering)), reason="agent_credential")


def test_sec18_actor_token_replay_and_lifetime(live: Live) -> None:
    o = live.w.ordering
    now = int(T0.timestamp())
    actor = live.h.actor_token(o)
    assert live.post_token(form(_vp(live), actor=actor)).status_code == 200
    _failures(
        live,
        {
            "second-use": (form(_vp(live), actor=actor), "actor_token_replayed", "invalid_request"),
            "exp+24h": (
                form(_vp(live), actor=forge(actor_header(o), actor_claims(o, exp=now + 86400), o.key)),
                "actor_token_lifetime_too_long",
                "invalid_request",
            ),
            "no-jti": (
                form(_vp(live), actor=forge(actor_header(o), actor_claims(o, jti=None), o.key)),
                "actor_token_missing_claim",
                "invalid_request",
            ),
            "iat+1h": (
                form(
                    _vp(live),
                    actor=forge(actor_header(o), actor_claims(o, iat=now + 3600, exp=now + 3660), o.key),
                ),
                "actor_token_iat_in_future",
                "invalid_request",
            ),
        },
    )


# -- SEC-19 / SEC-20 ----------------------------------------------------------------------------


def test_sec19_target_refused(live: Live) -> None:
    vp = _vp(live)
    target = "invalid_target"
    _failures(
        live,
        {
            "MCP_B": (form(vp, resource="https://mcp-b.example.com/mcp"), "resource_not_configured", target),
            "fragment": (form(vp, resource=MCP + "#frag"), "resource_not_configured", target),
            "relative": (form(vp, resource="mcp-a"), "resource_not_configured", target),
            "two-resources": (
                form(vp, extra=[("resource", "https://mcp-b.example.com/mcp")]),
                "multiple_targets",
                target,
            ),
            "audience-star": (
                form(vp, resource=None, extra=[("audience", "*")]),
                "resource_not_configured",
                target,
            ),
            "resource-and-other-audience": (
                form(vp, extra=[("audience", "https://mcp-b.example.com/mcp")]),
                "resource_not_configured",
                target,
            ),
        },
    )


def test_sec20_scope_escalation(live: Live) -> None:
    scope = "invalid_scope"
    many = " ".join(f"orders:s{i}" for i in range(10_000))
    cases = {
        "extra-scope": ("orders:read orders:delete", "scope_not_granted"),
        "wildcard": ("orders:*", "wildcard_scope"),
        "upper-case": ("ORDERS:READ", "unknown_scope"),
        "nbsp-separator": ("orders:read\u00a0orders:create", "malformed_scope"),
        "10000-scopes": (many, "too_many_scopes"),
    }
    failures = []
    for name, (requested, reason) in cases.items():
        # Scope refusals come after the proof: each needs its own presentation.
        try:
            refused(live, form(_vp(live), scope=requested), reason=reason, error=scope)
        except AssertionError as exc:
            failures.append(f"{name}: {exc}")
    assert not failures, "\n".join(failures)
    # Empty scope: the chain's intersection, never wider.
    response = live.post_token(form(_vp(live), scope=None))
    assert response.status_code == 200, response.text
    assert set(response.json()["scope"].split()) == {"orders:read", "orders:create"}


# -- SEC-21 / SEC-22 ----------------------------------------------------------------------------


def test_sec21_client_supplied_act_and_may_act_are_ignored(live: Live) -> None:
    w = live.w
    o = w.ordering
    for smuggled in (
        {"act": {"sub": w.smith.did}},
        {"act": {"sub": "did:key:z6MkAdmin"}},
        {"may_act": {"sub": w.mallory.did}},
    ):
        actor = forge(actor_header(o), actor_claims(o, **smuggled), o.key)
        response = live.post_token(form(_vp(live), actor=actor))
        assert response.status_code == 200, response.text
        _, claims = decode_jwt(response.json()["access_token"])
        assert claims["act"] == {"sub": o.did}, smuggled
        assert "may_act" not in claims


def test_sec21_free_form_actor_chain_in_the_leaf_credential(live: Live) -> None:
    """A delegation credential carrying its own ``actorChain``: refused (an undefined term) or, if
    accepted, never copied — ``act`` comes from the verified links only."""
    w = live.w
    unsigned = unsigned_d_ua(w)
    unsigned["credentialSubject"]["actorChain"] = [{"sub": w.mallory.did}]
    forged = di_sign(w, unsigned, w.smith)
    response = live.post_token(
        form(live.subject_token(w.ordering, [forged, w.ordering_acc(), w.smith_role()]))
    )
    if response.status_code == 200:
        _, claims = decode_jwt(response.json()["access_token"])
        assert claims["act"] == {"sub": w.ordering.did}
    else:
        assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_sec21_nested_act_holds_subjects_only(live: Live) -> None:
    w = live.w
    root = w.smith_to_ordering()
    child = w.delegation(
        w.ordering, w.payment, ["orders:read"], parent=w.parent(root), valid_until=T0 + timedelta(hours=4)
    )
    vp = live.subject_token(w.payment, [root, child, w.ordering_acc(), w.payment_acc(), w.smith_role()])
    response = live.post_token(form(vp, actor=live.h.actor_token(w.payment)))
    assert response.status_code == 200, response.text
    _, claims = decode_jwt(response.json()["access_token"])
    assert claims["act"] == {"sub": w.payment.did, "act": {"sub": w.ordering.did}}


def test_sec22_minted_token_invariants(live: Live) -> None:
    w = live.w
    before = live.h.db.row_counts()
    actor = live.h.actor_token(w.ordering)
    response = live.post_token(form(_vp(live), actor=actor, scope="orders:read"))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["issued_token_type"] == ACCESS_TOKEN_TYPE
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "orders:read"
    token = body["access_token"]
    header, claims = decode_jwt(token)
    jwks = live.client.get("/.well-known/jwks.json").json()
    signer = live.app.state.verifier.exchange.signer
    assert header == {"alg": "EdDSA", "typ": "at+jwt", "kid": signer.active_kid}
    key = next(k for k in jwt.PyJWKSet.from_dict(jwks).keys if k.key_id == header["kid"])
    verified = jwt.decode(
        token,
        key=key,
        algorithms=["EdDSA"],
        audience=MCP,
        issuer=ISSUER,
        options={"verify_exp": False, "verify_iat": False},
    )
    assert verified == claims
    assert claims["iss"] == ISSUER and claims["sub"] == w.smith.did
    assert claims["aud"] == MCP and isinstance(claims["aud"], str)
    assert claims["scope"] == "orders:read"
    assert claims["act"] == {"sub": w.ordering.did}
    actor_exp = decode_jwt(actor)[1]["exp"]
    assert claims["exp"] <= min(claims["iat"] + 300, int((T0 + timedelta(hours=8)).timestamp()))
    assert claims["exp"] - claims["iat"] == body["expires_in"]
    assert actor_exp > 0
    after = live.h.db.row_counts()
    assert after["access_tokens"] == before["access_tokens"] + 1
    assert after["audit_events"] == before["audit_events"] + 1
    assert after["replay_cache"] == before["replay_cache"] + 1
    granted = live.h.events("token_exchange.granted")
    assert len(granted) == 1
    assert granted[0].event.details["jti"] == claims["jti"]
    assert token.split(".")[2] not in json.dumps(granted[0].event.details)
    second = live.post_token(form(_vp(live))).json()["access_token"]
    assert decode_jwt(second)[1]["jti"] != claims["jti"]


# -- SEC-23 / SEC-24 ----------------------------------------------------------------------------


def test_sec23_presentation_replay_and_foreign_challenges(live: Live) -> None:
    w = live.w
    h = live.h
    vp = _vp(live)
    assert live.post_token(form(vp, actor=h.actor_token(w.ordering))).status_code == 200
    refused(live, form(vp, actor=h.actor_token(w.ordering)), reason="challenge_spent")
    refused(
        live,
        form(live.subject_token(w.ordering, chain(live), challenge="never-issued-0123456789")),
        reason="challenge_unknown",
    )
    old = live.challenge()
    h.clock.advance(timedelta(minutes=5, seconds=1))
    refused(
        live, form(live.subject_token(w.ordering, chain(live), challenge=old)), reason="challenge_expired"
    )
    now = h.clock.now()
    with h.db.transaction() as conn:
        # The issuer's proof-of-possession challenge (same database when co-hosted), and one
        # bound to another verifier domain.
        pop = (
            ChallengeRepository(conn)
            .issue(
                purpose="possession",
                domain=ISSUER,
                ttl=timedelta(minutes=5),
                now=now,
                client_id=w.ordering.did,
            )
            .nonce
        )
        other = (
            ChallengeRepository(conn)
            .issue(
                purpose="presentation", domain="https://other-sts.example", ttl=timedelta(minutes=5), now=now
            )
            .nonce
        )
    for nonce in (pop, other):
        refused(
            live,
            form(live.subject_token(w.ordering, chain(live), challenge=nonce)),
            reason="challenge_mismatch",
        )


def _signed_vp(live: Live, **proof_options: Any) -> tuple[str, str]:
    w = live.w
    vp = build_presentation(w.ordering.did, chain(live))
    signed = add_proof(
        vp,
        key=w.ordering.key,
        verification_method=w.ordering.vm,
        cryptosuite="eddsa-jcs-2022",
        proof_purpose="authentication",
        challenge=live.challenge(),
        clock=live.h.clock,
        **proof_options,
    )
    return json.dumps(signed), VP_TOKEN_TYPE


def test_sec24_presentation_bound_to_another_verifier(live: Live) -> None:
    refused(
        live,
        form(_signed_vp(live, domain="https://other-sts.example")),
        reason="presentation_domain_mismatch",
    )
    refused(live, form(_signed_vp(live)), reason="presentation_domain_mismatch")
    # domain as a list [ours, evil]: signed by the attacker's own tooling.
    w = live.w
    vp = build_presentation(w.ordering.did, chain(live))
    signed = di_sign(
        w,
        vp,
        w.ordering,
        purpose="authentication",
        challenge=live.challenge(),
        domain=[ISSUER, "https://evil.example"],
    )
    refused(live, form((json.dumps(signed), VP_TOKEN_TYPE)), reason="presentation_domain_mismatch")
