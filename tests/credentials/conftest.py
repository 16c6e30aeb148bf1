"""Shared fixtures for credential tests: keys, DIDs, a frozen clock, an offline resolver."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from did_agents import keys
from did_agents.clock import FixedClock
from did_agents.credentials.vocabulary import build_delegation_credential
from did_agents.did import key as did_key
from did_agents.did.resolver import DIDResolver
from did_agents.keys import PrivateKey

NOW = datetime(2026, 12, 1, 9, 0, 0, tzinfo=UTC)
MCP = "https://mcp.urbanbites.example/mcp"


@dataclass(frozen=True)
class Party:
    key: PrivateKey
    did: str
    vm: str


def make_party(key_type: str = "ed25519") -> Party:
    key = keys.generate(key_type)
    did = did_key.create(key.public_key)
    return Party(key, did, did_key.verification_method_id(did))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def resolver(clock: FixedClock) -> DIDResolver:
    return DIDResolver(clock=clock)


@pytest.fixture
def user() -> Party:
    return make_party()


@pytest.fixture
def agent() -> Party:
    return make_party()


def delegation(issuer: Party, subject: Party, **overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "issuer": issuer.did,
        "agent": subject.did,
        "capabilities": [{"resource": MCP, "scopes": ["orders:read", "orders:create"]}],
        "valid_from": NOW,
        "valid_until": NOW + timedelta(hours=8),
        "max_depth": 1,
    }
    args.update(overrides)
    return build_delegation_credential(**args)
