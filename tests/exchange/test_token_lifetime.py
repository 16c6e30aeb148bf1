"""DESIGN §6: a token's ``exp`` is bounded by the resource policy's ``max_token_lifetime``, the
service's ``ExchangeConfig.max_token_lifetime`` and the chain's earliest ``validUntil``, whichever
is smallest; ``expires_in`` (RFC 6749 §5.1) says the same."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from did_agents.storage.tokens import TokenRepository
from tests.exchange.harness import Harness, decode_jwt


def smith_chain(h: Harness, **kw: object) -> list[object]:
    w = h.w
    return [w.smith_to_ordering(**kw), w.ordering_acc(), w.smith_role()]


def service_lifetime(h: Harness, seconds: int) -> None:
    h.exchange.config = replace(h.exchange.config, max_token_lifetime=timedelta(seconds=seconds))


def assert_lifetime(h: Harness, seconds: int, **chain: object) -> None:
    response = h.exchange_for(h.present(h.w.ordering, smith_chain(h, **chain)))
    _, claims = decode_jwt(response.access_token)
    assert claims["iat"] == int(h.clock.now().timestamp())
    assert claims["exp"] - claims["iat"] == seconds
    assert response.expires_in == seconds
    assert response.to_json()["expires_in"] == seconds
    with h.db.read() as conn:
        stored = TokenRepository(conn).find(claims["jti"])
    assert stored is not None
    assert int(stored.exp.timestamp()) == claims["exp"]


def test_defaults_give_300_seconds(h: Harness) -> None:
    assert_lifetime(h, 300)


def test_resource_policy_lifetime_bounds_exp(h: Harness) -> None:
    """The resource allows 60 s, the service 300 s (the default)."""
    h.with_policy(h.w.policy(extra="max_token_lifetime = 60"))
    assert_lifetime(h, 60)


def test_service_lifetime_bounds_exp(h: Harness) -> None:
    """The service allows 45 s, the resource 300 s (the default)."""
    service_lifetime(h, 45)
    assert_lifetime(h, 45)


@pytest.mark.parametrize(("resource", "service", "expected"), [(60, 120, 60), (120, 60, 60), (90, 90, 90)])
def test_the_smaller_lifetime_wins(h: Harness, resource: int, service: int, expected: int) -> None:
    h.with_policy(h.w.policy(extra=f"max_token_lifetime = {resource}"))
    service_lifetime(h, service)
    assert_lifetime(h, expected)


def test_chain_valid_until_below_both_lifetimes_wins(h: Harness) -> None:
    h.with_policy(h.w.policy(extra="max_token_lifetime = 60"))
    service_lifetime(h, 120)
    assert_lifetime(h, 30, valid_until=h.clock.now() + timedelta(seconds=30))


def test_lifetime_below_chain_valid_until_wins(h: Harness) -> None:
    h.with_policy(h.w.policy(extra="max_token_lifetime = 60"))
    assert_lifetime(h, 60, valid_until=h.clock.now() + timedelta(seconds=90))
