"""Issuer test harness: a migrated database (SQLite and PostgreSQL, from
``tests.db_fixtures``), a key store with the organization's key, two operators,
and the app behind an in-process ``httpx.ASGITransport`` client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio.from_thread
import httpx
import pytest

from did_agents import jws
from did_agents.clock import FixedClock
from did_agents.did import key as did_key
from did_agents.did.document import DIDDocument
from did_agents.did.resolver import DIDResolver
from did_agents.issuance.context import Issuer, IssuerConfig
from did_agents.issuance.organization import init_organization
from did_agents.keys import PrivateKey, generate
from did_agents.keystore import KeyStore, RawKey
from did_agents.storage.database import Database
from did_agents.storage.operators import OperatorRepository
from issuer.app import create_app
from issuer.settings import IssuerSettings

BASE_URL = "https://issuer.example"
ORG_DID = "did:web:issuer.example"
CAPS = [{"resource": "https://mcp.urbanbites.example/mcp", "scopes": ["orders:read", "orders:create"]}]
ROLES = {"staff": [{"resource": "https://mcp.urbanbites.example/mcp", "scopes": ["orders:read"]}]}


class SyncClient:
    """A blocking facade over ``httpx.AsyncClient(transport=ASGITransport(app))``."""

    def __init__(self, portal: Any, client: httpx.AsyncClient) -> None:
        self._portal = portal
        self._client = client

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        response: httpx.Response = self._portal.call(lambda: self._client.request(method, url, **kwargs))
        return response

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)


@dataclass
class Harness:
    issuer: Issuer
    app: Any
    client: SyncClient
    db: Database
    clock: FixedClock
    admin: dict[str, str]
    auditor: dict[str, str]
    settings: IssuerSettings

    def challenge(self, did: str | None = None) -> str:
        response = self.client.post(
            "/agents/challenges", json={"did": did} if did else {}, headers=self.admin
        )
        assert response.status_code == 201, response.text
        nonce: str = response.json()["challenge"]
        return nonce

    def pop(
        self, key: PrivateKey, nonce: str, *, iss: str | None = None, aud: str = ORG_DID, **extra: Any
    ) -> str:
        """A proof-of-possession JWS as an agent would sign it."""
        now = int(self.clock.now().timestamp())
        claims: dict[str, Any] = {"aud": aud, "nonce": nonce, "iat": now, "exp": now + 120, **extra}
        if iss is not None:
            claims["iss"] = iss
        kid = did_key.verification_method_id(iss) if iss and iss.startswith("did:key:") else "#key"
        return jws.sign_compact(claims, key, typ="did-agents-pop+jwt", kid=kid)

    def onboard(self, **overrides: Any) -> dict[str, Any]:
        body = {
            "mode": "generate",
            "name": "ordering agent",
            "owner": "mailto:team@urbanbites.example",
            "kind": "delegated",
            "capabilities": CAPS,
            **overrides,
        }
        response = self.client.post("/agents", json=body, headers=self.admin)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    def resolver(self) -> DIDResolver:
        """Resolves did:key offline and this issuer's did:web DIDs through the app."""
        harness = self

        class _Web:
            async def resolve(self, did: str) -> DIDDocument:
                path = (
                    "/.well-known/did.json"
                    if did == ORG_DID
                    else "/" + "/".join(did.split(":")[3:]) + "/did.json"
                )
                return DIDDocument(json.loads(harness.client.get(path).text))

        return DIDResolver(methods={"web": _Web()}, clock=self.clock)

    async def fetch_status(self, url: str) -> dict[str, Any]:
        assert url.startswith(BASE_URL)
        response = self.client.get(url.removeprefix(BASE_URL))
        assert response.status_code == 200, response.text
        body: dict[str, Any] = json.loads(response.text)
        return body


def make_harness(db: Database, tmp_path: Path, **settings: Any) -> Iterator[Harness]:
    clock = FixedClock(datetime(2026, 12, 1, 9, 0, 0, tzinfo=UTC))
    raw = RawKey.generate()
    keystore = KeyStore.create(tmp_path / "keystore.json", raw, clock=clock)
    organization = init_organization(db, keystore, BASE_URL, clock=clock)
    issuer = Issuer(db, keystore, organization, clock=clock, config=IssuerConfig(role_capabilities=ROLES))
    with db.transaction() as conn:
        repo = OperatorRepository(conn)
        _, admin_token = repo.create("alice", "admin", now=clock.now())
        _, auditor_token = repo.create("audrey", "auditor", now=clock.now())
    config = IssuerSettings(
        base_url=BASE_URL,
        data_dir=tmp_path,
        keystore_key=raw.to_base64url(),
        role_capabilities=ROLES,
        **settings,
    )
    app = create_app(config, issuer=issuer)
    with anyio.from_thread.start_blocking_portal() as portal:
        transport = httpx.ASGITransport(app=app)
        client = httpx.AsyncClient(transport=transport, base_url=BASE_URL)
        try:
            yield Harness(
                issuer=issuer,
                app=app,
                client=SyncClient(portal, client),
                db=db,
                clock=clock,
                admin={"Authorization": f"Bearer {admin_token}"},
                auditor={"Authorization": f"Bearer {auditor_token}"},
                settings=config,
            )
        finally:
            portal.call(client.aclose)


@pytest.fixture
def harness(db: Database, tmp_path: Path) -> Iterator[Harness]:
    yield from make_harness(db, tmp_path)


@pytest.fixture
def agent_key() -> PrivateKey:
    return generate()
