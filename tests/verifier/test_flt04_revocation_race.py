"""SECURITY FLT-04: a revocation (here: a suspension) racing an exchange on the co-hosted issuer.

A token is minted only if its mint transaction committed before the suspension
committed; the audit log orders them the same way. The deterministic case puts
the suspension exactly between the chain's status check (rule 5) and the mint,
through the co-hosted status source; the randomized case suspends at random
moments from another thread.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from starlette.concurrency import run_in_threadpool

from did_agents.audit import AuditLog, AuditQuery, AuditRecord
from did_agents.credentials.verify import build_presentation, sign_presentation
from did_agents.did import key as did_key
from did_agents.did.document import DIDDocument
from did_agents.did.resolver import DIDResolver
from did_agents.exchange import VP_TOKEN_TYPE, StatusListSource
from did_agents.exchange.request import GRANT_TYPE_TOKEN_EXCHANGE
from did_agents.issuance.agents import offboard_agent, resume_agent, suspend_agent
from did_agents.issuance.context import Actor
from did_agents.keys import PrivateKey
from did_agents.storage.database import Database
from did_agents.storage.tokens import TokenRepository
from tests.issuer.conftest import BASE_URL, ORG_DID, Harness, make_harness
from tests.servers import run_server
from verifier.app import _issuer_status, with_verifier
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
OPERATOR = Actor("operator:alice", "admin")

LocalStatus = Callable[[str], Awaitable[Mapping[str, Any] | str | None]]


@pytest.fixture
def issuer(db: Database, tmp_path: Path) -> Iterator[Harness]:
    yield from make_harness(db, tmp_path)


class Cohosted:
    """The issuer with the verifier beside it (``did-agents serve``), an autonomous agent, and a
    hook in the co-hosted status source that runs after the list was read for rule 5."""

    def __init__(self, issuer: Harness, tmp_path: Path) -> None:
        (tmp_path / "policy.toml").write_text(POLICY)
        self.issuer = issuer
        org = issuer.issuer.organization

        class _OrgWeb:
            async def resolve(self, did: str) -> DIDDocument:
                return DIDDocument(org.did_document())

        self.after_status_read: Callable[[], Awaitable[None]] | None = None
        self._reads = 0
        local = _issuer_status(issuer.issuer)

        async def racing(url: str) -> Mapping[str, Any] | str | None:
            document = await local(url)
            # The agent's credential has two entries (revocation, suspension), read concurrently:
            # the hook runs once both lists are in hand, so both are stale afterwards.
            self._reads += 1
            if self._reads % 2 == 0 and self.after_status_read is not None:
                hook, self.after_status_read = self.after_status_read, None
                await hook()
            return document

        async def never(url: str) -> Mapping[str, Any] | str:
            raise AssertionError("co-hosted lists are not fetched")

        self.app = with_verifier(
            issuer.app,
            VerifierSettings(base_url=BASE_URL, data_dir=tmp_path),
            resolver=DIDResolver(methods={"web": _OrgWeb()}, clock=issuer.clock),
            status_source=StatusListSource(never, clock=issuer.clock, local=racing),
        )
        self.agent = issuer.onboard(kind="autonomous", delegators=[])
        self.key = PrivateKey.from_jwk(self.agent["privateKeyJwk"])

    def form(self, client: httpx.Client) -> str:
        did = self.agent["did"]
        nonce = client.post("/challenges").json()["challenge"]
        signed = sign_presentation(
            build_presentation(did, [self.agent["credential"]]),
            key=self.key,
            verification_method=did_key.verification_method_id(did),
            challenge=nonce,
            domain=BASE_URL,
            suite="eddsa-jcs-2022",
            clock=self.issuer.clock,
        )
        return urlencode(
            {
                "grant_type": GRANT_TYPE_TOKEN_EXCHANGE,
                "subject_token": json.dumps(signed),
                "subject_token_type": VP_TOKEN_TYPE,
                "resource": MCP,
                "scope": "orders:read",
            }
        )

    @staticmethod
    def post(client: httpx.Client, form: str) -> httpx.Response:
        return client.post(
            "/oauth/token", content=form, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )

    def suspend(self) -> None:
        suspend_agent(self.issuer.issuer, self.agent["id"], OPERATOR)

    def offboard(self) -> None:
        offboard_agent(self.issuer.issuer, self.agent["id"], OPERATOR)

    def resume(self) -> None:
        resume_agent(self.issuer.issuer, self.agent["id"], OPERATOR)

    def events(self) -> list[AuditRecord]:
        with self.issuer.db.read() as conn:
            return AuditLog(conn, self.issuer.clock).query(AuditQuery(limit=1000))


@pytest.mark.parametrize(("change", "reason"), [("suspend", "suspended"), ("offboard", "revoked")])
def test_flt04_a_status_change_committed_before_the_mint_wins(
    issuer: Harness, tmp_path: Path, change: str, reason: str
) -> None:
    world = Cohosted(issuer, tmp_path)
    act = world.suspend if change == "suspend" else world.offboard

    async def suspend_now() -> None:
        await run_in_threadpool(act)  # commits before the exchange reaches its mint

    with run_server(world.app) as url, httpx.Client(base_url=url, timeout=30) as client:
        assert world.post(client, world.form(client)).status_code == 200
        world.after_status_read = suspend_now
        refused = world.post(client, world.form(client))
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"] == "invalid_request"
    assert reason in refused.json()["error_description"]
    events = world.events()
    suspended = [e for e in events if e.event.type in ("agent.suspended", "agent.offboarded")]
    denied = [e for e in events if e.event.type == "token_exchange.denied"]
    granted = [e for e in events if e.event.type == "token_exchange.granted"]
    assert len(suspended) == 1 and len(denied) == 1 and len(granted) == 1
    assert denied[0].event.reason == reason
    assert granted[0].seq < suspended[0].seq < denied[0].seq
    with issuer.db.read() as conn:  # nothing minted for the refused request
        assert TokenRepository(conn).find(str(granted[0].event.details["jti"])) is not None
    assert issuer.db.row_counts()["access_tokens"] == 1


def test_flt04_outcomes_are_linearizable_under_racing_suspensions(issuer: Harness, tmp_path: Path) -> None:
    """Randomized: the suspension commits at a random moment of the exchange. Whatever the
    interleaving, a granted exchange is ordered before the suspension and a refused one after."""
    world = Cohosted(issuer, tmp_path)
    rng = random.Random(4)
    outcomes: list[str] = []
    with run_server(world.app) as url, httpx.Client(base_url=url, timeout=30) as client:
        for _ in range(12):
            form = world.form(client)
            delay = rng.uniform(0, 0.03)
            suspender = threading.Thread(target=lambda d=delay: (time.sleep(d), world.suspend()))
            suspender.start()
            response = world.post(client, form)
            suspender.join()
            body = response.json()
            assert response.status_code == 200 or "suspended" in body["error_description"], body
            outcomes.append("granted" if response.status_code == 200 else "refused")
            world.resume()
    events = [
        e
        for e in world.events()
        if e.event.type in ("agent.suspended", "token_exchange.granted", "token_exchange.denied")
    ]
    # Each round: one suspension and one exchange outcome, ordered as they committed.
    rounds = [events[i : i + 2] for i in range(0, len(events), 2)]
    assert len(rounds) == len(outcomes)
    for (first, second), outcome in zip(rounds, outcomes, strict=True):
        if outcome == "granted":
            assert (first.event.type, second.event.type) == ("token_exchange.granted", "agent.suspended")
        else:
            assert (first.event.type, second.event.type) == ("agent.suspended", "token_exchange.denied")
            assert second.event.reason == "suspended"
    assert issuer.db.row_counts()["access_tokens"] == outcomes.count("granted")
