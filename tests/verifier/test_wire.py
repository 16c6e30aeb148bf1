"""The verifier over HTTP (uvicorn on 127.0.0.1): token endpoint, errors, JWKS, metadata,
introspection and the W3C VC API verification routes."""

from __future__ import annotations

import json

import jwt
import pytest

from did_agents.exchange import VP_TOKEN_TYPE
from did_agents.exchange.request import GRANT_TYPE_TOKEN_EXCHANGE
from tests.delegation.urban_bites import MCP
from tests.exchange.harness import ISSUER
from tests.verifier.conftest import Live


def chain(live: Live) -> list[object]:
    w = live.w
    return [w.smith_to_ordering(), w.ordering_acc(), w.smith_role()]


def test_urban_bites_over_http(live: Live) -> None:
    response = live.post_token(live.form(live.subject_token(live.w.ordering, chain(live))))
    assert response.status_code == 200, response.text
    # RFC 6749 §5.1
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    body = response.json()
    assert set(body) == {"access_token", "issued_token_type", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer"


def test_minted_tokens_validate_with_pyjwt_against_our_jwks(live: Live) -> None:
    """Interop: PyJWT checks the signature with the key from GET /.well-known/jwks.json."""
    token = live.post_token(live.form(live.subject_token(live.w.ordering, chain(live)))).json()[
        "access_token"
    ]
    jwks = live.client.get("/.well-known/jwks.json")
    assert jwks.status_code == 200
    key_set = jwt.PyJWKSet.from_dict(jwks.json())
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in key_set.keys if k.key_id == kid)
    claims = jwt.decode(
        token,
        key=key,
        algorithms=["EdDSA"],
        audience=MCP,
        issuer=ISSUER,
        options={"verify_exp": False, "verify_iat": False, "require": ["exp", "iat", "sub", "jti"]},
    )
    assert claims["sub"] == live.w.smith.did
    assert claims["act"] == {"sub": live.w.ordering.did}
    assert jwt.get_unverified_header(token)["typ"] == "at+jwt"


def test_jwks_keeps_the_retired_key_after_rotation(live: Live) -> None:
    """SECURITY FLT-08: tokens signed before a rotation still verify while the old key is published."""
    signer = live.h.signer
    old = signer.active_kid
    # The app has its own signer over the same key store; rotate it there.
    app_signer = live.app.state.verifier.exchange.signer
    new = app_signer.rotate()
    kids = {k["kid"] for k in live.client.get("/.well-known/jwks.json").json()["keys"]}
    assert {old, new} <= kids
    token = live.post_token(live.form(live.subject_token(live.w.ordering, chain(live)))).json()[
        "access_token"
    ]
    assert jwt.get_unverified_header(token)["kid"] == new
    app_signer.remove(old)
    kids = {k["kid"] for k in live.client.get("/.well-known/jwks.json").json()["keys"]}
    assert kids == {new}


def test_error_body_and_headers(live: Live) -> None:
    """RFC 6749 §5.2 / NEG-INV 1: JSON error, no-store, never 5xx."""
    response = live.post_token(live.form(live.subject_token(live.w.mallory, chain(live))))
    assert response.status_code == 400
    assert response.headers["cache-control"] == "no-store"
    assert set(response.json()) == {"error", "error_description"}
    assert response.json()["error"] == "invalid_request"


def test_get_is_not_allowed(live: Live) -> None:
    response = live.client.get("/oauth/token", params={"grant_type": GRANT_TYPE_TOKEN_EXCHANGE})
    assert response.status_code == 405
    assert response.json()["error"] == "invalid_request"


def test_json_body_refused(live: Live) -> None:
    response = live.client.post("/oauth/token", json={"grant_type": GRANT_TYPE_TOKEN_EXCHANGE})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_body_limit(live: Live) -> None:
    before = live.h.db.row_counts()
    denied_before = len(live.h.events("token_exchange.denied"))
    response = live.client.post(
        "/oauth/token",
        content=b"x" * (600 * 1024),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413
    assert response.json()["error"] == "invalid_request"
    # A denied exchange like any other: one audit event, nothing else written.
    denied = live.h.events("token_exchange.denied")
    assert len(denied) == denied_before + 1 and denied[-1].event.reason == "too_large"
    after = live.h.db.row_counts()
    assert {t: after[t] - before[t] for t in after if after[t] != before[t]} == {"audit_events": 1}


def test_metadata_rfc8414(live: Live) -> None:
    body = live.client.get("/.well-known/oauth-authorization-server").json()
    assert body["issuer"] == ISSUER
    assert body["token_endpoint"] == ISSUER + "/oauth/token"
    assert body["jwks_uri"] == ISSUER + "/.well-known/jwks.json"
    assert body["introspection_endpoint"] == ISSUER + "/oauth/introspect"
    assert body["grant_types_supported"] == [GRANT_TYPE_TOKEN_EXCHANGE]
    assert VP_TOKEN_TYPE in body["subject_token_types_supported"]
    assert body["issued_token_types_supported"] == ["urn:ietf:params:oauth:token-type:access_token"]


def test_introspection_needs_authentication(live: Live) -> None:
    response = live.client.post("/oauth/introspect", data={"token": "x"})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Bearer")
    response = live.client.post(
        "/oauth/introspect", data={"token": "x"}, headers={"Authorization": "Bearer nope"}
    )
    assert response.status_code == 401


def test_introspection_rfc7662_with_act(live: Live) -> None:
    w = live.w
    root = w.smith_to_ordering()
    child = w.delegation(w.ordering, w.payment, ["orders:read"], parent=w.parent(root))
    token = live.subject_token(w.payment, [root, child, w.ordering_acc(), w.payment_acc(), w.smith_role()])
    access = live.post_token(live.form(token, scope="orders:read")).json()["access_token"]
    auth = {"Authorization": f"Bearer {live.operator_token}"}
    body = live.client.post("/oauth/introspect", data={"token": access}, headers=auth).json()
    assert body["active"] is True
    assert body["sub"] == w.smith.did
    assert body["act"] == {"sub": w.payment.did, "act": {"sub": w.ordering.did}}
    assert body["scope"] == "orders:read"
    assert body["client_id"] == w.payment.did
    # RFC 7662 §2.2: anything not active is just {"active": false}.
    assert live.client.post("/oauth/introspect", data={"token": access + "x"}, headers=auth).json() == {
        "active": False
    }
    live.h.clock.advance(600)
    assert live.client.post("/oauth/introspect", data={"token": access}, headers=auth).json() == {
        "active": False
    }


def test_vc_api_credentials_verify(live: Live) -> None:
    w = live.w
    # (An organization-issued credential: its status lists are the issuer's own.)
    good = live.client.post("/credentials/verify", json={"verifiableCredential": w.ordering_acc()})
    assert good.status_code == 200, good.text
    assert good.json()["verified"] is True
    bad_credential = w.ordering_acc()
    assert isinstance(bad_credential, dict)
    bad_credential["credentialSubject"]["name"] = "someone else"
    bad = live.client.post("/credentials/verify", json={"verifiableCredential": bad_credential})
    assert bad.status_code == 400
    assert bad.json()["verified"] is False
    assert bad.json()["errors"]
    malformed = live.client.post("/credentials/verify", json={"credential": {}})
    assert malformed.status_code == 400


def test_vc_api_credentials_verify_revoked(live: Live) -> None:
    w = live.w
    credential = w.ordering_acc()
    w.revoked.set(w.index_of(credential), True)
    response = live.client.post("/credentials/verify", json={"verifiableCredential": credential})
    assert response.status_code == 400
    assert "revoked" in [p["code"] for p in response.json()["problems"]]


def test_vc_api_presentations_verify(live: Live) -> None:
    w = live.w
    token, _ = live.subject_token(w.inventory, [w.inventory_acc()], challenge="abc123")
    vp = json.loads(token)
    ok = live.client.post(
        "/presentations/verify",
        json={"verifiablePresentation": vp, "options": {"challenge": "abc123", "domain": ISSUER}},
    )
    assert ok.status_code == 200, ok.text
    wrong = live.client.post(
        "/presentations/verify",
        json={"verifiablePresentation": vp, "options": {"challenge": "other", "domain": ISSUER}},
    )
    assert wrong.status_code == 422
    missing = live.client.post("/presentations/verify", json={"verifiablePresentation": vp})
    assert missing.status_code == 400


@pytest.mark.parametrize("jose", [True])
def test_vp_jwt_over_http(live: Live, jose: bool) -> None:
    response = live.post_token(live.form(live.subject_token(live.w.ordering, chain(live), jose=jose)))
    assert response.status_code == 200, response.text
