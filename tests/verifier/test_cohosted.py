"""``did-agents serve`` hosting: the verifier beside the real issuer in one ASGI app.

An autonomous agent onboarded by the issuer exchanges its capability credential;
suspending or offboarding it through the issuer stops the next exchange at once
(the co-hosted issuer's status lists are read from its database, not a cache).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from did_agents.credentials.verify import build_presentation, sign_presentation
from did_agents.did import key as did_key
from did_agents.did.document import DIDDocument
from did_agents.did.resolver import DIDResolver
from did_agents.exchange import VP_TOKEN_TYPE
from did_agents.exchange.request import GRANT_TYPE_TOKEN_EXCHANGE
from did_agents.keys import PrivateKey
from did_agents.storage.database import Database
from tests.issuer.conftest import BASE_URL, ORG_DID, Harness, make_harness
from tests.servers import run_server
from verifier.app import with_verifier
from verifier.settings import VerifierSettings

MCP = "https://mcp.urbanbites.example/mcp"
POLICY = f"""
version = 1

[[trusted_issuers]]
did = "{ORG_DID}"
scopes = ["orders:*"]

[[resources]]
url = "{MCP}"
"""


@pytest.fixture
def issuer(db: Database, tmp_path: Path) -> Iterator[Harness]:
    yield from make_harness(db, tmp_path)


def test_suspend_and_offboard_stop_exchanges_at_once(issuer: Harness, tmp_path: Path) -> None:
    (tmp_path / "policy.toml").write_text(POLICY)
    org = issuer.issuer.organization

    class _OrgWeb:
        async def resolve(self, did: str) -> DIDDocument:
            assert did == ORG_DID
            return DIDDocument(org.did_document())

    resolver = DIDResolver(methods={"web": _OrgWeb()}, clock=issuer.clock)
    app = with_verifier(issuer.app, VerifierSettings(base_url=BASE_URL, data_dir=tmp_path), resolver=resolver)
    assert app is not issuer.app
    agent = issuer.onboard(kind="autonomous", delegators=[])
    key = PrivateKey.from_jwk(agent["privateKeyJwk"])
    did = agent["did"]
    vm = did_key.verification_method_id(did)

    with run_server(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        # both services answer on one origin
        assert client.get("/.well-known/did.json").status_code == 200
        assert client.get("/.well-known/jwks.json").json()["keys"]

        def exchange() -> httpx.Response:
            nonce = client.post("/challenges").json()["challenge"]
            vp = build_presentation(did, [agent["credential"]])
            signed = sign_presentation(
                vp,
                key=key,
                verification_method=vm,
                challenge=nonce,
                domain=BASE_URL,
                suite="eddsa-jcs-2022",
                clock=issuer.clock,
            )
            form = urlencode(
                {
                    "grant_type": GRANT_TYPE_TOKEN_EXCHANGE,
                    "subject_token": json.dumps(signed),
                    "subject_token_type": VP_TOKEN_TYPE,
                    "resource": MCP,
                    "scope": "orders:read",
                }
            )
            return client.post(
                "/oauth/token", content=form, headers={"Content-Type": "application/x-www-form-urlencoded"}
            )

        first = exchange()
        assert first.status_code == 200, first.text
        suspended = client.post(f"/agents/{agent['id']}/suspend", headers=issuer.admin)
        assert suspended.status_code == 200, suspended.text
        refused = exchange()
        assert refused.status_code == 400
        assert refused.json()["error"] == "invalid_request"
        assert "suspended" in refused.json()["error_description"]
        assert client.post(f"/agents/{agent['id']}/resume", headers=issuer.admin).status_code == 200
        assert exchange().status_code == 200
        assert client.delete(f"/agents/{agent['id']}", headers=issuer.admin).status_code in (200, 204)
        offboarded = exchange()
        assert offboarded.status_code == 400
        assert "revoked" in offboarded.json()["error_description"]


def test_audit_events_are_read_from_the_issuer_and_written_to_the_verifier(
    issuer: Harness, tmp_path: Path
) -> None:
    """``GET /audit/events`` is the issuer's reader; ``POST /audit/events`` the verifier's MCP sink."""
    (tmp_path / "policy.toml").write_text(POLICY)
    app = with_verifier(issuer.app, VerifierSettings(base_url=BASE_URL, data_dir=tmp_path))
    event = {
        "type": "mcp.tool_call",
        "decision": "allowed",
        "reason": "scope_granted",
        "subject": "did:key:z6MkSmith",
        "actors": ["did:key:z6MkOrderingAgent"],
        "client_id": "did:key:z6MkOrderingAgent",
        "tool": "list_orders",
        "resource": MCP,
        "details": {"scopes": ["orders:read"]},
    }
    with run_server(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        posted = client.post("/audit/events", json=event, headers=issuer.auditor)
        assert posted.status_code == 201, posted.text
        listed = client.get("/audit/events", headers=issuer.auditor)
        assert listed.status_code == 200, listed.text
        calls = [e for e in listed.json()["items"] if e["type"] == "mcp.tool_call"]
        assert len(calls) == 1
        assert calls[0]["actors"] == ["did:key:z6MkOrderingAgent"]
        assert calls[0]["client_id"] == "did:key:z6MkOrderingAgent"
