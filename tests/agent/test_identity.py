"""The agent SDK: key store, grants, sub-delegation (verified by verify_chain), token cache, auth flow."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from did_agents.agent import AccessGrant, AgentAuth, AgentIdentity, TokenCache, credential_document
from did_agents.agent.tokens import refusal_from_body
from did_agents.clock import FixedClock
from did_agents.errors import InvalidScopeError, InvalidTargetError, KeyStoreError, VerificationError
from did_agents.keystore import KeyStore, RawKey
from tests.delegation.urban_bites import MCP, T0, UrbanBites
from tests.servers import run_server

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_from_keystore_creates_once_then_loads_the_same_did(tmp_path: Path) -> None:
    raw = RawKey.generate()
    first = AgentIdentity.from_keystore(KeyStore.create(tmp_path / "ks.json", raw), "ordering")
    again = AgentIdentity.from_keystore(KeyStore.open(tmp_path / "ks.json", raw), "ordering", create=False)
    assert first.did == again.did and first.did.startswith("did:key:z6Mk")


def test_from_keystore_without_create_refuses_an_unknown_agent(tmp_path: Path) -> None:
    store = KeyStore.create(tmp_path / "ks.json", RawKey.generate())
    with pytest.raises(KeyStoreError):
        AgentIdentity.from_keystore(store, "nobody", create=False)


async def test_subdelegation_builds_a_chain_verify_chain_accepts() -> None:
    w = UrbanBites("eddsa-jcs-2022")
    ordering = AgentIdentity(
        w.ordering.key, clock=w.clock, suite="eddsa-jcs-2022", capability_credential=w.ordering_acc()
    )
    grant = ordering.accept([w.smith_role(), w.smith_to_ordering()])
    assert grant.user == w.smith.did and grant.covers(MCP)
    handed = ordering.delegate(w.payment.did, ["orders:read"], resource=MCP)
    payment = AgentIdentity(
        w.payment.key, clock=w.clock, suite="eddsa-jcs-2022", capability_credential=w.payment_acc()
    )
    payment_grant = payment.accept(handed)
    assert payment_grant.user == w.smith.did
    link = credential_document(handed[-1])
    assert link["issuer"] == w.ordering.did
    assert link["credentialSubject"]["parentCredential"]["id"] == credential_document(grant.leaf)["id"]
    result = await w.verify(payment.presentation_credentials(payment_grant), w.payment)
    assert result.agents == (w.ordering.did, w.payment.did)
    assert result.effective_scopes == frozenset({"orders:read"})


def test_subdelegation_never_outlives_its_parent() -> None:
    w = UrbanBites("eddsa-jcs-2022")
    ordering = AgentIdentity(
        w.ordering.key, clock=w.clock, suite="eddsa-jcs-2022", capability_credential=w.ordering_acc()
    )
    ordering.accept([w.smith_role(), w.smith_to_ordering()])  # valid 8 h
    link = credential_document(
        ordering.delegate(w.payment.did, ["orders:read"], resource=MCP, valid_for=timedelta(days=3))[-1]
    )
    assert link["validUntil"] == credential_document(w.smith_to_ordering())["validUntil"]


def test_no_grant_for_a_resource_is_refused() -> None:
    agent = AgentIdentity.generate()
    with pytest.raises(VerificationError) as info:
        agent.delegate("did:key:z6MkX", ["orders:read"], resource=MCP)
    assert info.value.reason == "no_grant"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b'{"error":"invalid_target","error_description":"x"}', InvalidTargetError),
        (b'{"error":"invalid_scope","error_description":"x"}', InvalidScopeError),
        (b'{"error":"invalid_request","error_description":"revoked"}', VerificationError),
        (b"not json", VerificationError),
    ],
)
def test_token_endpoint_errors_map_to_the_error_tree(body: bytes, error: type[Exception]) -> None:
    assert type(refusal_from_body(400, body)) is error


async def test_token_cache_reuses_until_the_margin_then_exchanges_again() -> None:
    clock = FixedClock(T0)
    cache = TokenCache(clock=clock, refresh_margin=timedelta(seconds=30))
    issued = iter(range(100))

    async def fetch() -> AccessGrant:
        return AccessGrant(f"t{next(issued)}", MCP, "orders:read", clock.now() + timedelta(seconds=300))

    assert (await cache.get(MCP, "s", fetch)).access_token == "t0"
    clock.advance(timedelta(seconds=269))
    assert (await cache.get(MCP, "s", fetch)).access_token == "t0"
    clock.advance(timedelta(seconds=2))
    assert (await cache.get(MCP, "s", fetch)).access_token == "t1"
    assert cache.exchanges == 2


async def test_a_refused_token_is_replaced_once_under_concurrency() -> None:
    clock = FixedClock(T0)
    cache = TokenCache(clock=clock)
    issued = iter(range(100))

    async def fetch() -> AccessGrant:
        await anyio.sleep(0)
        return AccessGrant(f"t{next(issued)}", MCP, "s", clock.now() + timedelta(seconds=300))

    await cache.get(MCP, "s", fetch)
    results: list[str] = []

    async def replace() -> None:
        results.append((await cache.get(MCP, "s", fetch, refused="t0")).access_token)

    async with anyio.create_task_group() as tg:
        for _ in range(10):
            tg.start_soon(replace)
    assert results == ["t1"] * 10
    assert cache.exchanges == 2


class _ScriptedAgent(AgentIdentity):
    """An agent whose exchanges hand out t0, t1, ... (the auth flow is under test, not the exchange)."""

    issued = 0

    async def access_token(self, verifier_url: str, resource: str, scope: str, **kw: Any) -> AccessGrant:
        async def fetch() -> AccessGrant:
            token = f"t{self.issued}"
            self.issued += 1
            return AccessGrant(token, resource, scope, self.clock.now() + timedelta(minutes=5))

        assert self.tokens is not None
        return await self.tokens.get(resource, scope, fetch, refused=kw.get("refused"))


async def _resource_server(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    auth = dict(scope["headers"]).get(b"authorization", b"")
    valid = {b"Bearer t1": 200}
    status = valid.get(auth, 401)
    if scope["path"] == "/forbidden" and status == 200:
        status = 403
    headers = [(b"content-type", b"application/json")]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer error="invalid_token"'))
    if status == 403:
        headers.append((b"www-authenticate", b'Bearer error="insufficient_scope", scope="orders:delete"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"{}"})


async def test_agent_auth_reexchanges_once_on_401_then_gives_up() -> None:
    agent = _ScriptedAgent.generate()
    assert isinstance(agent, _ScriptedAgent)
    auth = AgentAuth(agent, verifier_url="https://v.example", resource=MCP, scope="orders:read")
    with run_server(_resource_server) as base:
        async with httpx.AsyncClient(auth=auth) as client:
            first = await client.get(base + "/x")  # t0 refused → t1 accepted
            assert first.status_code == 200 and auth.reexchanges == 1
            second = await client.get(base + "/x")  # t1 cached
            assert second.status_code == 200 and auth.reexchanges == 1
            forbidden = await client.get(base + "/forbidden")
            assert forbidden.status_code == 403
            assert auth.last_refusal is not None and auth.last_refusal.scope == "orders:delete"
    assert agent.issued == 2
