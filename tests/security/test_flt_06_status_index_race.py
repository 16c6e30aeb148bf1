"""FLT-06 — status-index allocation race, on a real uvicorn server (SQLite and PostgreSQL).

200 concurrent credential issuances (agent onboardings) and 200 concurrent
revocations (offboardings of agents created beforehand) hit the same status
lists at once. Pass: every ``statusListIndex`` is unique, no bit update is lost
(every offboarded agent's credential reads revoked, every new one reads clear),
and the list credential is re-signed consistently (its proof verifies).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from did_agents.credentials.verify import verify_credential
from did_agents.did.document import DIDDocument
from did_agents.did.resolver import DIDResolver
from did_agents.status.bitstring import StatusList
from did_agents.storage.database import Database
from tests.issuer.conftest import BASE_URL, CAPS, ORG_DID, Harness, make_harness
from tests.servers import run_server

COUNT = 200


@pytest.fixture
def served(db: Database, tmp_path: Path) -> Iterator[tuple[Harness, str]]:
    for harness in make_harness(db, tmp_path):
        with run_server(harness.app) as url:
            yield harness, url


def _entries(credential: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (s["statusListCredential"], s["statusPurpose"], s["statusListIndex"])
        for s in credential["credentialStatus"]
    ]


def test_concurrent_issuance_and_revocation_on_one_list(served: tuple[Harness, str]) -> None:
    harness, url = served
    body = {
        "name": "a",
        "owner": "mailto:t@urbanbites.example",
        "kind": "autonomous",
        "capabilities": CAPS,
        "format": "eddsa-jcs-2022",
    }
    existing = [harness.onboard(format="eddsa-jcs-2022", kind="autonomous") for _ in range(COUNT)]

    async def storm() -> tuple[list[httpx.Response], list[httpx.Response]]:
        limits = httpx.Limits(max_connections=64)
        async with httpx.AsyncClient(
            base_url=url, headers=harness.admin, timeout=120, limits=limits
        ) as client:
            creations = [client.post("/agents", json=body) for _ in range(COUNT)]
            revocations = [client.delete(f"/agents/{a['id']}") for a in existing]
            results = await asyncio.gather(
                *(c for pair in zip(creations, revocations, strict=True) for c in pair)
            )
            return list(results[0::2]), list(results[1::2])

    created, revoked = anyio.run(storm)
    assert [r.status_code for r in created] == [201] * COUNT, [
        r.text for r in created if r.status_code != 201
    ][:2]
    assert [r.status_code for r in revoked] == [200] * COUNT, [
        r.text for r in revoked if r.status_code != 200
    ][:2]

    new_credentials = [r.json()["credential"] for r in created]
    old_credentials = [a["credential"] for a in existing]
    every_entry = [e for c in new_credentials + old_credentials for e in _entries(c)]
    assert len(every_entry) == len(set(every_entry)), "a status index was allocated twice"

    # One fetch per list; each list credential's proof must verify (re-signed consistently).
    lists: dict[str, StatusList] = {}

    class _Web:
        async def resolve(self, did: str) -> DIDDocument:
            assert did == ORG_DID
            return DIDDocument(json.loads(httpx.get(url + "/.well-known/did.json").text))

    resolver = DIDResolver(methods={"web": _Web()}, clock=harness.clock)
    for list_url in {e[0] for e in every_entry}:
        document = json.loads(httpx.get(url + list_url.removeprefix(BASE_URL)).text)
        result = anyio.run(lambda d=document: verify_credential(d, resolver=resolver, clock=harness.clock))
        assert result.verified, result.problems
        lists[list_url] = StatusList.decode(document["credentialSubject"]["encodedList"])

    for credential in old_credentials:
        for list_url, purpose, index in _entries(credential):
            if purpose == "revocation":
                assert lists[list_url].is_set(int(index)), f"lost revocation bit {index}"
    for credential in new_credentials:
        for list_url, _, index in _entries(credential):
            assert not lists[list_url].is_set(int(index)), f"fresh credential {index} reads set"
