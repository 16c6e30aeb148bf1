"""The token exchange of DESIGN §6 on the Urban Bites story: granted exchanges and what they mint."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from did_agents.audit import digest
from did_agents.errors import InvalidScopeError
from did_agents.storage.database import Database
from did_agents.storage.tokens import TokenRepository
from tests.exchange.harness import ISSUER, MCP, Harness, decode_jwt


def smith_chain(h: Harness) -> list[object]:
    w = h.w
    return [w.smith_to_ordering(), w.ordering_acc(), w.smith_role()]


def test_rfc8693_delegated_exchange_user_to_agent(h: Harness) -> None:
    """Smith delegates orders:read orders:create on the ordering MCP server to the ordering agent."""
    w = h.w
    presented = h.present(w.ordering, smith_chain(h))
    response = h.exchange_for(presented)
    body = response.to_json()
    # RFC 8693 §2.2.1
    assert body["issued_token_type"] == "urn:ietf:params:oauth:token-type:access_token"
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "orders:create orders:read"
    header, claims = decode_jwt(response.access_token)
    # RFC 9068 §2.1 / §2.2
    assert header == {"alg": "EdDSA", "typ": "at+jwt", "kid": h.signer.active_kid}
    assert claims["iss"] == ISSUER
    assert claims["sub"] == w.smith.did
    assert claims["aud"] == MCP
    assert claims["client_id"] == w.ordering.did
    assert claims["act"] == {"sub": w.ordering.did}  # RFC 8693 §4.1
    assert claims["scope"] == "orders:create orders:read"
    assert 0 < claims["exp"] - claims["iat"] <= 300
    assert body["expires_in"] == claims["exp"] - claims["iat"]
    assert len(claims["delegation"]["chain"]) == 1
    assert claims["delegation"]["digest"].startswith("sha256-")
    # persisted with its audit event
    with h.db.read() as conn:
        stored = TokenRepository(conn).find(claims["jti"])
    assert stored is not None and stored.sub == w.smith.did and stored.act == {"sub": w.ordering.did}
    granted = h.events("token_exchange.granted")
    assert len(granted) == 1
    event = granted[0].event
    assert event.subject == w.smith.did
    assert tuple(event.actors) == (w.ordering.did,)
    assert event.resource == MCP
    assert event.details["scope"] == "orders:create orders:read"
    assert event.details["subject_token_digest"] == digest(presented.token)


def test_exp_bounded_by_chain_valid_until(h: Harness) -> None:
    """DESIGN §6: exp ≤ the earliest validUntil in the chain."""
    w = h.w
    short = w.smith_to_ordering(valid_until=w.clock.now() + timedelta(seconds=90))
    response = h.exchange_for(h.present(w.ordering, [short, w.ordering_acc(), w.smith_role()]))
    _, claims = decode_jwt(response.access_token)
    assert claims["exp"] == int((w.clock.now() + timedelta(seconds=90)).timestamp())


def test_empty_scope_means_everything_delegated(h: Harness) -> None:
    response = h.exchange_for(h.present(h.w.ordering, smith_chain(h)), scope=None)
    assert response.scope == "orders:create orders:read"


def test_intersection_hr_agent_refused_scope_it_lacks(h: Harness) -> None:
    """The HR agent's capability credential lacks orders:delete; smith holds it and delegates it: refused."""
    w = h.w
    delegation = w.delegation(w.smith, w.hr, ["orders:read", "orders:delete"])
    presented = h.present(w.hr, [delegation, w.hr_acc(), w.smith_role()])
    h.refused(
        h.form(presented, scope="orders:delete"), InvalidScopeError, "scope_not_granted", code="invalid_scope"
    )


def test_union_mode_grants_what_the_user_holds(h: Harness) -> None:
    w = h.w
    h.with_policy(w.policy("union"))
    delegation = w.delegation(w.smith, w.hr, ["orders:read", "orders:delete"])
    response = h.exchange_for(
        h.present(w.hr, [delegation, w.hr_acc(), w.smith_role()]), scope="orders:delete"
    )
    assert response.scope == "orders:delete"


def test_subset_mode_limits_to_the_allowlist(h: Harness) -> None:
    w = h.w
    h.with_policy(w.policy("subset", extra='allowed_scopes = ["orders:read"]'))
    presented = h.present(w.ordering, smith_chain(h))
    h.refused(
        h.form(presented, scope="orders:create"), InvalidScopeError, "scope_not_granted", code="invalid_scope"
    )
    response = h.exchange_for(h.present(w.ordering, smith_chain(h)), scope="orders:read")
    assert response.scope == "orders:read"


def test_rfc8693_nested_act_for_sub_delegation(h: Harness) -> None:
    """The ordering agent sub-delegates orders:read to the payment agent: nested act, most recent outermost."""
    w = h.w
    root = w.smith_to_ordering()
    child = w.delegation(w.ordering, w.payment, ["orders:read"], parent=w.parent(root))
    presented = h.present(w.payment, [root, child, w.ordering_acc(), w.payment_acc(), w.smith_role()])
    response = h.exchange_for(presented, scope="orders:read")
    _, claims = decode_jwt(response.access_token)
    assert claims["sub"] == w.smith.did
    assert claims["client_id"] == w.payment.did
    assert claims["act"] == {"sub": w.payment.did, "act": {"sub": w.ordering.did}}
    assert claims["scope"] == "orders:read"
    assert len(claims["delegation"]["chain"]) == 2
    event = h.events("token_exchange.granted")[0].event
    assert tuple(event.actors) == (w.payment.did, w.ordering.did)


def test_autonomous_agent_is_its_own_subject(h: Harness) -> None:
    w = h.w
    response = h.exchange_for(h.present(w.inventory, [w.inventory_acc()]), scope="menu:read")
    _, claims = decode_jwt(response.access_token)
    assert claims["sub"] == w.inventory.did
    assert claims["client_id"] == w.inventory.did
    assert "act" not in claims
    assert "delegation" not in claims


def test_actor_token_accepted_and_names_the_leaf(h: Harness) -> None:
    w = h.w
    response = h.exchange_for(h.present(w.ordering, smith_chain(h)), actor_token=h.actor_token(w.ordering))
    _, claims = decode_jwt(response.access_token)
    assert claims["act"] == {"sub": w.ordering.did}


@pytest.mark.parametrize("suite", ["eddsa-rdfc-2022", "jose"])
def test_other_formats(db: Database, tmp_path: Path, suite: str) -> None:
    """Credentials in eddsa-rdfc-2022 or vc+jwt; with jose, the presentation is a vp+jwt."""
    h = Harness(db, tmp_path, suite=suite)
    w = h.w
    response = h.exchange_for(h.present(w.ordering, smith_chain(h), jose=suite == "jose"))
    _, claims = decode_jwt(response.access_token)
    assert claims["sub"] == w.smith.did and claims["act"] == {"sub": w.ordering.did}


def test_es256_tokens(db: Database, tmp_path: Path) -> None:
    from did_agents.exchange import AccessTokenSigner
    from did_agents.keystore import KeyStore, RawKey

    h = Harness(db, tmp_path)
    store = KeyStore.create(tmp_path / "p256.json", RawKey.generate())
    h.exchange.signer = AccessTokenSigner.open(store, algorithm="ES256")
    response = h.exchange_for(h.present(h.w.ordering, smith_chain(h)))
    header, _ = decode_jwt(response.access_token)
    assert header["alg"] == "ES256"
