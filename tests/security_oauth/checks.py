"""NEG-INV checks over HTTP for the token endpoint and the MCP servers, and attack-token builders.

``refused`` sends one request to the real verifier (uvicorn, ``tests/verifier/conftest.py``
``Live``) and checks SECURITY NEG-INV 1-3 and 5: the status and OAuth error, a JSON body of
exactly ``error`` + ``error_description``, ``Cache-Control: no-store``, no ``access_token``,
no stack trace, every table's row count unchanged except exactly one new audit event, which is
``token_exchange.denied`` with the expected machine reason and holds no raw token.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import httpx2
import pytest

from did_agents import multibase
from did_agents.exchange import JWT_TOKEN_TYPE
from did_agents.exchange.request import GRANT_TYPE_TOKEN_EXCHANGE
from did_agents.keys import PrivateKey
from tests.delegation.urban_bites import MCP, T0, Party
from tests.exchange.harness import ISSUER
from tests.verifier.conftest import Live

__all__ = [
    "FORM",
    "SECRETS",
    "ConnectGuard",
    "actor_claims",
    "assert_mcp_401",
    "b64",
    "chain",
    "forge",
    "form",
    "leaked_secrets",
    "refused",
    "remember_secret",
    "rpc",
]

FORM = "application/x-www-form-urlencoded"
#: Token fragments that must never appear in a log record (filled by the tests, FLT-13).
SECRETS: list[str] = []
#: Loggers of the *client* side of a test (the SUT is the verifier, the kit and the MCP server).
_CLIENT_LOGGERS = ("httpx", "httpcore", "httpx2", "mcp.client")
_MIN_SECRET = 16


def b64(data: bytes) -> str:
    return multibase.b64url_encode(data)


def remember_secret(token: str) -> None:
    """Register the parts of a token (JWS segments, proof values) that must never be logged."""
    if token.lstrip().startswith("{"):
        try:
            document = json.loads(token)
        except ValueError:
            return
        proof = document.get("proof") if isinstance(document, dict) else None
        for p in proof if isinstance(proof, list) else [proof]:
            if isinstance(p, dict) and isinstance(p.get("proofValue"), str):
                SECRETS.append(p["proofValue"])
        return
    for segment in token.split("."):
        if len(segment) >= _MIN_SECRET:
            SECRETS.append(segment)


def leaked_secrets(records: Iterable[logging.LogRecord]) -> list[tuple[str, str]]:
    leaks = []
    for record in records:
        if record.name.startswith(_CLIENT_LOGGERS):
            continue
        text = record.getMessage() + (record.exc_text or "")
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        for secret in SECRETS:
            if secret in text:
                leaks.append((record.name, secret[:24]))
    return leaks


def chain(live: Live) -> list[Any]:
    """D_UA (smith → ordering agent) with the credentials the chain needs."""
    w = live.w
    return [w.smith_to_ordering(), w.ordering_acc(), w.smith_role()]


def form(
    subject: tuple[str, str] | None,
    *,
    actor: str | None = None,
    resource: str | None = MCP,
    scope: str | None = "orders:read",
    extra: Iterable[tuple[str, str]] = (),
) -> str:
    fields: list[tuple[str, str]] = [("grant_type", GRANT_TYPE_TOKEN_EXCHANGE)]
    if subject is not None:
        fields += [("subject_token", subject[0]), ("subject_token_type", subject[1])]
    if actor is not None:
        fields += [("actor_token", actor), ("actor_token_type", JWT_TOKEN_TYPE)]
    if resource is not None:
        fields.append(("resource", resource))
    if scope is not None:
        fields.append(("scope", scope))
    fields += list(extra)
    return urlencode(fields)


def forge(
    header: Mapping[str, Any] | str,
    claims: Mapping[str, Any] | str,
    key: PrivateKey | None,
    *,
    signature: bytes | None = None,
) -> str:
    """A compact JWS with any header and payload (dicts, or raw JSON text) signed by ``key``
    (or carrying ``signature`` as is)."""
    h = header if isinstance(header, str) else json.dumps(header)
    c = claims if isinstance(claims, str) else json.dumps(claims)
    signing_input = b64(h.encode()) + "." + b64(c.encode())
    if signature is None:
        assert key is not None
        signature = key.sign(signing_input.encode())
    return signing_input + "." + b64(signature)


def actor_header(agent: Party, **extra: Any) -> dict[str, Any]:
    return {"alg": "EdDSA", "typ": "actor+jwt", "kid": agent.vm, **extra}


def actor_claims(agent: Party, **over: Any) -> dict[str, Any]:
    now = int(T0.timestamp())
    claims: dict[str, Any] = {
        "iss": agent.did,
        "sub": agent.did,
        "aud": ISSUER,
        "iat": now,
        "exp": now + 60,
        "jti": f"jti-{time.monotonic_ns()}",
    }
    claims.update(over)
    return {k: v for k, v in claims.items() if v is not None}


def _presented_tokens(body: str | bytes) -> list[str]:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        pairs = parse_qsl(text, keep_blank_values=True)
    except ValueError:
        return []
    return [v for k, v in pairs if k in {"subject_token", "actor_token"}]


def refused(
    live: Live,
    body: str | bytes,
    *,
    reason: str,
    error: str = "invalid_request",
    status: int = 400,
    content_type: str = FORM,
    max_seconds: float = 1.0,
) -> httpx.Response:
    """NEG-INV 1-3, 5 for one token-endpoint request (module docstring)."""
    for token in _presented_tokens(body):
        remember_secret(token)
    db = live.h.db
    before = db.row_counts()
    denied_before = len(live.h.events("token_exchange.denied"))
    started = time.monotonic()
    response = live.client.post("/oauth/token", content=body, headers={"Content-Type": content_type})
    elapsed = time.monotonic() - started
    assert response.status_code == status, (reason, response.status_code, response.text)
    assert elapsed < max_seconds, (reason, elapsed)
    document = response.json()
    assert set(document) == {"error", "error_description"}, document
    assert document["error"] == error, (reason, document)
    assert "access_token" not in response.text
    assert "Traceback" not in response.text
    assert response.headers["cache-control"] == "no-store"
    after = db.row_counts()
    assert after.pop("audit_events") == before.pop("audit_events") + 1, reason
    assert after == before, (reason, before, after)  # nothing minted, stored or allocated
    denied = live.h.events("token_exchange.denied")
    assert len(denied) == denied_before + 1
    event = denied[-1].event
    assert (event.reason, event.decision) == (reason, "denied"), (event.reason, document)
    recorded = json.dumps(event.details) + json.dumps([event.subject, event.client_id, event.resource])
    for token in _presented_tokens(body):
        for part in token.split("."):
            if len(part) >= _MIN_SECRET:
                assert part not in recorded, "a raw token in the audit event"
    assert "subject_token_digest" in event.details or event.reason in _BEFORE_TOKENS, event.details
    return response


#: Refusals decided before any token was read (the form itself): no digest to record.
_BEFORE_TOKENS = frozenset(
    {
        "missing_parameter",
        "unsupported_token_type",
        "repeated_parameter",
        "unsupported_media_type",
        "unsupported_requested_token_type",
        "multiple_targets",
        "malformed_form",
        "unsupported_grant_type",
    }
)


# -- MCP -----------------------------------------------------------------------------------------


def rpc(
    url: str,
    token: str | None,
    method: str = "tools/call",
    params: Mapping[str, Any] | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> httpx2.Response:
    """One raw JSON-RPC POST to an MCP endpoint (below the MCP client, for header-level attacks)."""
    sent = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
        remember_secret(token)
    sent.update(headers or {})
    if params is None:
        params = {"name": "list_menu", "arguments": {}}
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": dict(params)}
    return httpx2.post(url, headers=sent, content=json.dumps(body).encode(), timeout=10, **extra)


RESOURCE_METADATA = "https://mcp.urbanbites.example/.well-known/oauth-protected-resource/mcp"


def assert_mcp_401(response: httpx2.Response, what: object = "") -> None:
    """MCP authorization §Token Handling / RFC 6750 §3.1: 401 invalid_token naming the metadata."""
    assert response.status_code == 401, (what, response.status_code, response.text[:200])
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer "), challenge
    assert 'error="invalid_token"' in challenge, (what, challenge)
    assert f'resource_metadata="{RESOURCE_METADATA}"' in challenge, challenge
    assert "Traceback" not in response.text


class ConnectGuard:
    """Allow connections only to the servers of the test (the verifier, PostgreSQL); record the rest.
    Name lookups of anything but loopback are recorded and refused too."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, allowed: set[tuple[str, int]]) -> None:
        self.allowed = allowed
        self.attempts: list[Any] = []
        real_connect = socket.socket.connect
        real_getaddrinfo = socket.getaddrinfo

        def connect(sock: socket.socket, address: Any) -> Any:
            if isinstance(address, tuple) and (address[0], address[1]) in self.allowed:
                return real_connect(sock, address)
            self.attempts.append(address)
            raise ConnectionRefusedError("socket guard")

        def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
            if host in {"127.0.0.1", "localhost", "::1"} or (host, args[0] if args else None) in self.allowed:
                return real_getaddrinfo(host, *args, **kwargs)
            self.attempts.append(("lookup", host))
            raise socket.gaierror("socket guard")

        monkeypatch.setattr(socket.socket, "connect", connect)
        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
