"""The verifier app on a real uvicorn server over the Urban Bites world."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI

from did_agents.credentials.verify import build_presentation, sign_presentation
from did_agents.exchange import JWT_TOKEN_TYPE, VP_TOKEN_TYPE
from did_agents.exchange.request import GRANT_TYPE_TOKEN_EXCHANGE
from did_agents.storage.database import Database
from did_agents.storage.operators import OperatorRepository
from tests.delegation.urban_bites import MCP, Party
from tests.exchange.harness import ISSUER, Harness
from tests.servers import run_server
from verifier.app import create_app
from verifier.settings import VerifierSettings


@dataclass
class Live:
    h: Harness
    app: FastAPI
    url: str
    client: httpx.Client
    operator_token: str

    @property
    def w(self) -> Any:
        return self.h.w

    def challenge(self) -> str:
        response = self.client.post("/challenges")
        assert response.status_code == 201
        assert response.headers["cache-control"] == "no-store"
        body = response.json()
        assert body["domain"] == ISSUER
        nonce: str = body["challenge"]
        return nonce

    def subject_token(
        self, holder: Party, credentials: list[Any], *, jose: bool = False, challenge: str | None = None
    ) -> tuple[str, str]:
        vp = build_presentation(holder.did, credentials)
        secured = sign_presentation(
            vp,
            key=holder.key,
            verification_method=holder.vm,
            challenge=challenge or self.challenge(),
            domain=ISSUER,
            suite="jose" if jose else "eddsa-jcs-2022",
            clock=self.h.clock,
        )
        if isinstance(secured, str):
            return secured, JWT_TOKEN_TYPE
        return json.dumps(secured), VP_TOKEN_TYPE

    @staticmethod
    def form(token: tuple[str, str], *, scope: str = "orders:read orders:create", **extra: str) -> str:
        fields = {
            "grant_type": GRANT_TYPE_TOKEN_EXCHANGE,
            "subject_token": token[0],
            "subject_token_type": token[1],
            "resource": MCP,
            "scope": scope,
            **extra,
        }
        return urlencode(fields)

    def post_token(self, body: str) -> httpx.Response:
        return self.client.post(
            "/oauth/token", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )


def build_app(h: Harness, **settings: Any) -> FastAPI:
    return create_app(
        VerifierSettings(base_url=ISSUER, **settings),
        database=h.db,
        keystore=h.keystore,
        policy=h.policy,
        clock=h.clock,
        resolver=h.w.resolver,
        status_source=h.status,
    )


@pytest.fixture
def live(db: Database, tmp_path: Path) -> Iterator[Live]:
    h = Harness(db, tmp_path)
    app = build_app(h)
    with db.transaction() as conn:
        _, token = OperatorRepository(conn).create("mcp-server", "auditor", now=h.clock.now())
    with run_server(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield Live(h, app, url, client, token)
