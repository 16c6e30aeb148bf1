"""Our issuer and verifier on real uvicorn servers, configured as the W3C suites expect.

The issuer runs with ``vc_api_open_issue=True`` (no operator token, as the
suites post without one); the verifier resolves ``did:key`` offline and the
issuer's ``did:web`` and status lists over HTTP from the issuer server. One
stack per test module (SQLite), so a module runs in about a second.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from did_agents.did.document import DIDDocument
from did_agents.did.resolver import DIDResolver
from did_agents.exchange import StatusListSource
from did_agents.keystore import KeyStore, RawKey
from did_agents.storage.database import Database
from tests.delegation.urban_bites import UrbanBites
from tests.issuer.conftest import BASE_URL, ORG_DID, Harness, make_harness
from tests.servers import run_server
from verifier.app import create_app as create_verifier
from verifier.settings import VerifierSettings

VERIFIER_URL = "https://verifier.example"


@dataclass
class Stack:
    """The two services as an external test suite sees them."""

    issuer: Harness
    issuer_url: str
    verifier_url: str
    client: httpx.Client

    def issue(
        self, credential: Mapping[str, Any], options: Mapping[str, Any] | None = None
    ) -> httpx.Response:
        body: dict[str, Any] = {"credential": dict(credential)}
        if options is not None:
            body["options"] = dict(options)
        return self.client.post(self.issuer_url + "/credentials/issue", json=body)

    def issued(
        self, credential: Mapping[str, Any], options: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        response = self.issue(credential, options)
        assert response.status_code == 201, response.text
        vc: dict[str, Any] = response.json()["verifiableCredential"]
        return vc

    def verify(self, credential: object, **options: Any) -> httpx.Response:
        """The suites' body: ``{"verifiableCredential", "options": {"checks": ["proof"], …}}``."""
        return self.client.post(
            self.verifier_url + "/credentials/verify",
            json={"verifiableCredential": credential, "options": {"checks": ["proof"], **options}},
        )

    def get(self, url: str) -> httpx.Response:
        """GET a URL the issuer published under its public base URL."""
        assert url.startswith(BASE_URL), url
        return self.client.get(self.issuer_url + url.removeprefix(BASE_URL))


def _verifier_app(db: Database, tmp: Path, issuer_url: str, harness: Harness) -> Any:
    client = httpx.AsyncClient(base_url=issuer_url, timeout=30)

    class _Web:
        async def resolve(self, did: str) -> DIDDocument:
            assert did == ORG_DID, did
            response = await client.get("/.well-known/did.json")
            return DIDDocument(json.loads(response.text))

    async def fetch(url: str) -> Mapping[str, Any] | str:
        if not url.startswith(BASE_URL + "/"):
            raise ValueError(f"not a status list of the issuer under test: {url[:80]}")
        response = await client.get(url.removeprefix(BASE_URL))
        response.raise_for_status()
        body: Mapping[str, Any] = json.loads(response.text)
        return body

    resolver = DIDResolver(methods={"web": _Web()}, clock=harness.clock)
    return create_verifier(
        VerifierSettings(base_url=VERIFIER_URL),
        database=db,
        keystore=KeyStore.create(tmp / "verifier-keystore.json", RawKey.generate(), clock=harness.clock),
        policy=UrbanBites("eddsa-jcs-2022").policy(),
        clock=harness.clock,
        resolver=resolver,
        status_source=StatusListSource(fetch, clock=harness.clock, ttl=timedelta(0)),
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("conformance")
    db = Database.connect(f"sqlite:///{tmp / 'db.sqlite'}", upgrade=True)
    with contextlib.contextmanager(make_harness)(db, tmp, vc_api_open_issue=True) as harness:
        with run_server(harness.app) as issuer_url:
            verifier = _verifier_app(db, tmp, issuer_url, harness)
            with run_server(verifier) as verifier_url, httpx.Client(timeout=30) as client:
                yield Stack(harness, issuer_url, verifier_url, client)
    db.dispose()
