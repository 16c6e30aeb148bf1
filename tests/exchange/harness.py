"""An in-process verifier over the Urban Bites world (tests/delegation/urban_bites.py).

Real keys, real signed credentials and presentations, a real database (SQLite
or PostgreSQL through the ``db`` fixture), a real key store and the real
:class:`~did_agents.exchange.TokenExchange`; only the status-list publisher is
the world's in-memory one.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from did_agents import multibase
from did_agents.audit import AuditLog, AuditQuery, AuditRecord
from did_agents.credentials.verify import build_presentation, sign_presentation
from did_agents.errors import DIDAgentsError
from did_agents.exchange import (
    JWT_TOKEN_TYPE,
    VP_TOKEN_TYPE,
    AccessTokenSigner,
    ExchangeConfig,
    StatusListSource,
    TokenExchange,
    TokenResponse,
    sign_actor_token,
)
from did_agents.exchange.request import GRANT_TYPE_TOKEN_EXCHANGE
from did_agents.keystore import KeyStore, RawKey
from did_agents.policy import Policy
from did_agents.storage.database import Database
from tests.delegation.urban_bites import MCP, Party, UrbanBites

__all__ = ["ISSUER", "MCP", "Harness", "Presented", "decode_jwt"]

ISSUER = "https://verifier.urbanbites.example"


def decode_jwt(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")
    return (
        json.loads(multibase.b64url_decode(header)),
        json.loads(multibase.b64url_decode(payload)),
    )


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class Presented:
    """A subject token and its RFC 8693 type."""

    def __init__(self, token: str, token_type: str, challenge: str) -> None:
        self.token = token
        self.token_type = token_type
        self.challenge = challenge


class Harness:
    def __init__(
        self,
        db: Database,
        tmp_path: Path,
        *,
        suite: str = "eddsa-jcs-2022",
        policy: Policy | None = None,
        status_ttl: timedelta = timedelta(seconds=60),
        require_actor_token: bool = False,
    ) -> None:
        self.db = db
        self.w = UrbanBites(suite)
        self.clock = self.w.clock
        keystore = KeyStore.create(tmp_path / "keystore.json", RawKey.generate(), clock=self.clock)
        self.keystore = keystore
        self.signer = AccessTokenSigner.open(keystore)
        self.status = StatusListSource(self.w.fetch, clock=self.clock, ttl=status_ttl)
        self.policy = policy or self.w.policy()
        self.exchange = TokenExchange(
            database=db,
            policy=self.policy,
            signer=self.signer,
            resolver=self.w.resolver,
            status_source=self.status,
            clock=self.clock,
            config=ExchangeConfig(issuer=ISSUER, domain=ISSUER, require_actor_token=require_actor_token),
        )

    def with_policy(self, policy: Policy) -> Harness:
        self.exchange.policy = policy
        return self

    # -- presenting ------------------------------------------------------------------------

    def challenge(self) -> str:
        return asyncio.run(self.exchange.issue_challenge()).nonce

    def present(
        self,
        holder: Party,
        credentials: Sequence[Mapping[str, Any] | str],
        *,
        challenge: str | None = None,
        domain: str = ISSUER,
        jose: bool = False,
    ) -> Presented:
        """A presentation by ``holder``, bound to a fresh challenge unless one is given."""
        nonce = challenge or self.challenge()
        signer = holder
        vp = build_presentation(holder.did, list(credentials))
        secured = sign_presentation(
            vp,
            key=signer.key,
            verification_method=signer.vm,
            challenge=nonce,
            domain=domain,
            suite="jose" if jose else ("eddsa-jcs-2022" if self.w.suite == "jose" else self.w.suite),  # type: ignore[arg-type]
            clock=self.clock,
        )
        if isinstance(secured, str):
            return Presented(secured, JWT_TOKEN_TYPE, nonce)
        return Presented(json.dumps(secured), VP_TOKEN_TYPE, nonce)

    def actor_token(self, agent: Party, **kw: Any) -> str:
        kw.setdefault("audience", ISSUER)
        return sign_actor_token(
            agent.key, agent=agent.did, verification_method=agent.vm, clock=self.clock, **kw
        )

    @staticmethod
    def form(
        presented: Presented,
        *,
        resource: str | None = MCP,
        scope: str | None = "orders:read orders:create",
        actor_token: str | None = None,
        extra: Sequence[tuple[str, str]] = (),
    ) -> bytes:
        fields: list[tuple[str, str]] = [
            ("grant_type", GRANT_TYPE_TOKEN_EXCHANGE),
            ("subject_token", presented.token),
            ("subject_token_type", presented.token_type),
        ]
        if resource is not None:
            fields.append(("resource", resource))
        if scope is not None:
            fields.append(("scope", scope))
        if actor_token is not None:
            fields += [("actor_token", actor_token), ("actor_token_type", JWT_TOKEN_TYPE)]
        fields += list(extra)
        return urlencode(fields).encode()

    def send(self, body: bytes, content_type: str = "application/x-www-form-urlencoded") -> TokenResponse:
        return asyncio.run(self.exchange.exchange(body, content_type=content_type))

    def exchange_for(self, presented: Presented, **kw: Any) -> TokenResponse:
        return self.send(self.form(presented, **kw))

    # -- the shared negative invariant (SECURITY NEG-INV 1-3) -------------------------------

    def events(self, type_: str | None = None) -> list[AuditRecord]:
        with self.db.read() as conn:
            return AuditLog(conn, self.clock).query(AuditQuery(type=type_, limit=1000))

    def refused(
        self,
        body: bytes,
        error: type[DIDAgentsError],
        reason: str,
        *,
        code: str = "invalid_request",
        content_type: str = "application/x-www-form-urlencoded",
    ) -> DIDAgentsError:
        """Send ``body``; it must be refused with ``error``/``reason``/``code`` and write exactly one
        ``token_exchange.denied`` event (with that reason) and nothing else."""
        before = self.db.row_counts()
        denied_before = len(self.events("token_exchange.denied"))
        with pytest.raises(error) as caught:
            self.send(body, content_type)
        exc = caught.value
        assert exc.reason == reason, (exc.reason, exc.description)
        assert exc.error == code
        assert exc.status_code < 500
        after = self.db.row_counts()
        assert after.pop("audit_events") == before.pop("audit_events") + 1
        after.pop("audit_chain_head", None)
        before.pop("audit_chain_head", None)
        assert after == before  # no token, no jti, no credential, no status allocation
        denied = self.events("token_exchange.denied")
        assert len(denied) == denied_before + 1
        event = denied[-1].event
        assert event.reason == reason
        assert event.decision == "denied"
        text = json.dumps(event.details)
        assert "eyJ" not in text  # never a raw token (NEG-INV 3)
        return exc
