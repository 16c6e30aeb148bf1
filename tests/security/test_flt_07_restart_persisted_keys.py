"""FLT-07 — restart with persisted keys (issuer), on SQLite and PostgreSQL.

Issue credentials and a hosted did:web document, spend a PoP challenge, then
start a second app from the same database and key store ("restart"). Pass: same
DID documents, pre-restart credentials verify, the spent challenge stays spent;
a missing, corrupt or group/world-readable key store refuses to start and no
new key is silently generated. (tests/issuer/test_organization.py covers missing
and corrupt stores at ``create_app``; tests/test_keystore.py the 0600 mode.)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anyio
import anyio.from_thread
import httpx
import pytest

from did_agents.credentials.verify import verify_credential
from did_agents.did import key as did_key
from did_agents.did.document import DIDDocument
from did_agents.did.resolver import DIDResolver
from did_agents.errors import KeyStoreError
from did_agents.keys import generate
from issuer.app import create_app
from issuer.settings import IssuerSettings
from tests.issuer.conftest import BASE_URL, CAPS, ORG_DID, Harness, SyncClient


def _restarted_settings(harness: Harness) -> IssuerSettings:
    url = harness.db.engine.url.render_as_string(hide_password=False)
    return harness.settings.model_copy(update={"database_url": url})


def test_restart_keeps_identity_documents_credentials_and_spent_challenges(harness: Harness) -> None:
    plain = harness.onboard()
    key = generate()
    hosted = harness.onboard(
        mode="did_web",
        publicKeyMultibase=key.public_key.to_multikey(),
        proof=harness.pop(key, harness.challenge()),
    )
    agent_key = generate()
    did = did_key.create(agent_key.public_key)
    spent_proof = harness.pop(agent_key, harness.challenge(), iss=did)
    harness.onboard(mode="did_key", did=did, proof=spent_proof)
    org_before = harness.client.get("/.well-known/did.json").json()
    hosted_before = harness.client.get(f"/agents/{hosted['id']}/did.json").json()

    for client in _restart(harness):
        assert client.get("/.well-known/did.json").json() == org_before
        assert client.get(f"/agents/{hosted['id']}/did.json").json() == hosted_before

        class _Web:
            async def resolve(self, wanted: str) -> DIDDocument:
                path = (
                    "/.well-known/did.json"
                    if wanted == ORG_DID
                    else "/" + "/".join(wanted.split(":")[3:]) + "/did.json"
                )
                return DIDDocument(json.loads(client.get(path).text))

        resolver = DIDResolver(methods={"web": _Web()}, clock=harness.clock)
        for credential in (plain["credential"], hosted["credential"]):
            result = anyio.run(
                lambda c=credential: verify_credential(c, resolver=resolver, clock=harness.clock)
            )
            assert result.verified, result.problems

        # The challenge spent before the restart stays spent (replay after restart fails).
        other = generate()
        replay = {
            "mode": "did_key",
            "did": did_key.create(other.public_key),
            "name": "x",
            "owner": "mailto:a@b.example",
            "kind": "delegated",
            "capabilities": CAPS,
            "proof": harness.pop(other, _nonce_of(spent_proof), iss=did_key.create(other.public_key)),
        }
        response = client.post("/agents", json=replay, headers=harness.admin)
        assert response.status_code == 400, response.text


def _nonce_of(token: str) -> str:
    from did_agents import multibase

    nonce: str = json.loads(multibase.b64url_decode(token.split(".")[1]))["nonce"]
    return nonce


def _restart(harness: Harness) -> Iterator[SyncClient]:
    app = create_app(_restarted_settings(harness))
    with anyio.from_thread.start_blocking_portal() as portal:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)
        try:
            yield SyncClient(portal, client)
        finally:
            portal.call(client.aclose)


@pytest.mark.parametrize("problem", ["missing", "corrupt", "mode 0644"])
def test_bad_key_store_refuses_to_start_and_no_key_is_generated(harness: Harness, problem: str) -> None:
    path = harness.settings.data_dir / "keystore.json"
    if problem == "missing":
        path.unlink()
    elif problem == "corrupt":
        path.write_bytes(path.read_bytes()[:-20] + b'garbage"}')
    else:
        path.chmod(0o644)
    before: Any = path.read_bytes() if path.exists() else None
    with pytest.raises(KeyStoreError):
        create_app(_restarted_settings(harness))
    assert (path.read_bytes() if path.exists() else None) == before
    assert sorted(
        p.name
        for p in harness.settings.data_dir.iterdir()
        if "keystore" in p.name and not p.name.endswith(".lock")
    ) == ([] if problem == "missing" else ["keystore.json"])
