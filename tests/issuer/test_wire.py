"""End-to-end tests against a real uvicorn server on 127.0.0.1 (SQLite and PostgreSQL).

The organization DID stays ``did:web:issuer.example``; the tests' resolver and
status fetcher map ``https://issuer.example`` to the server's loopback URL, so
everything the verifier reads (DID document, status lists) crosses the wire.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from sqlalchemy import func, select

from did_agents.credentials.verify import VerificationResult, verify_credential
from did_agents.did.document import DIDDocument
from did_agents.did.resolver import DIDResolver
from did_agents.storage.database import Database
from did_agents.storage.schema import agents, status_allocations
from tests.issuer.conftest import BASE_URL, CAPS, ORG_DID, Harness, make_harness
from tests.servers import run_server


@pytest.fixture
def served(db: Database, tmp_path: Path) -> Iterator[tuple[Harness, str]]:
    for harness in make_harness(db, tmp_path):
        with run_server(harness.app) as url:
            yield harness, url


class _WebOverHTTP:
    def __init__(self, url: str) -> None:
        self.url = url

    async def resolve(self, did: str) -> DIDDocument:
        assert did.startswith(ORG_DID)
        rest = did.removeprefix(ORG_DID)
        path = "/.well-known/did.json" if not rest else "/".join(rest.split(":")) + "/did.json"
        async with httpx.AsyncClient() as client:
            response = await client.get(self.url + path)
        response.raise_for_status()
        return DIDDocument(json.loads(response.text))


def _verify(harness: Harness, url: str, credential: Any) -> VerificationResult:
    async def fetch_status(status_url: str) -> dict[str, Any]:
        async with httpx.AsyncClient() as client:
            response = await client.get(url + status_url.removeprefix(BASE_URL))
        response.raise_for_status()
        body: dict[str, Any] = json.loads(response.text)
        return body

    resolver = DIDResolver(methods={"web": _WebOverHTTP(url)}, clock=harness.clock, ttl=timedelta(0))
    return anyio.run(
        lambda: verify_credential(
            credential, resolver=resolver, clock=harness.clock, status_resolver=fetch_status
        )
    )


def test_agent_lifecycle_over_http(served: tuple[Harness, str]) -> None:
    harness, url = served
    with httpx.Client(base_url=url, headers=harness.admin) as client:
        body = {
            "name": "ordering agent",
            "owner": "mailto:team@urbanbites.example",
            "kind": "delegated",
            "capabilities": CAPS,
        }
        created = client.post("/agents", json=body)
        assert created.status_code == 201, created.text
        agent_id = created.json()["id"]
        fetched = client.get(f"/agents/{agent_id}").json()
        credential = fetched["credential"]
        assert _verify(harness, url, credential).verified

        assert client.post(f"/agents/{agent_id}/suspend").status_code == 200
        assert _verify(harness, url, credential).codes == ("suspended",)

        assert client.post(f"/agents/{agent_id}/resume").status_code == 200
        assert _verify(harness, url, credential).verified

        assert client.delete(f"/agents/{agent_id}").status_code == 200
        assert "revoked" in _verify(harness, url, credential).codes


def test_hosted_did_web_agent_is_deactivated_on_offboarding(served: tuple[Harness, str]) -> None:
    from did_agents.keys import generate

    harness, url = served
    key = generate()
    agent = harness.onboard(
        mode="did_web",
        publicKeyMultibase=key.public_key.to_multikey(),
        proof=harness.pop(key, harness.challenge()),
    )
    with httpx.Client(base_url=url, headers=harness.admin) as client:
        assert client.get(f"/agents/{agent['id']}/did.json").json()["verificationMethod"]
        assert client.delete(f"/agents/{agent['id']}").status_code == 200
        document = client.get(f"/agents/{agent['id']}/did.json").json()
    assert document["deactivated"] is True and "verificationMethod" not in document


def test_parallel_onboardings_never_share_a_status_index(served: tuple[Harness, str]) -> None:
    harness, url = served
    count = 40
    body = {
        "name": "agent",
        "owner": "mailto:team@urbanbites.example",
        "kind": "autonomous",
        "capabilities": CAPS,
        "format": "eddsa-jcs-2022",
    }

    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=url, headers=harness.admin, timeout=60) as client:
            return await asyncio.gather(*(client.post("/agents", json=body) for _ in range(count)))

    responses = anyio.run(run)
    assert [r.status_code for r in responses] == [201] * count, [
        r.text for r in responses if r.status_code != 201
    ][:3]
    entries = [
        (s["statusListCredential"], s["statusListIndex"])
        for r in responses
        for s in r.json()["credential"]["credentialStatus"]
    ]
    assert len(entries) == len(set(entries)) == 2 * count
    with harness.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(agents)).scalar_one() == count
        assert conn.execute(select(func.count()).select_from(status_allocations)).scalar_one() == 2 * count


def test_parallel_suspensions_lose_no_bit(served: tuple[Harness, str]) -> None:
    harness, url = served
    created = [harness.onboard(format="eddsa-jcs-2022") for _ in range(12)]

    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=url, headers=harness.admin, timeout=60) as client:
            return await asyncio.gather(*(client.post(f"/agents/{a['id']}/suspend") for a in created))

    assert [r.status_code for r in anyio.run(run)] == [200] * len(created)
    for agent in created:
        assert _verify(harness, url, agent["credential"]).codes == ("suspended",)
