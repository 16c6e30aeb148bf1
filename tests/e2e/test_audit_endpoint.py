"""The verifier's ``POST /audit/events`` and the kit's ``HTTPAuditSink`` end to end: the demo services
(issuer + verifier on uvicorn, SQLite data directory), a second MCP server on uvicorn whose audit hook
posts to the verifier, a tool call with the official MCP client, the event in the verifier's
hash-chained log and in ``did-agents audit``. Authentication: RFC 6750 §2.1 / §3.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from mcp.shared.exceptions import MCPError

from did_agents import jws
from did_agents.audit import AuditLog, AuditQuery
from did_agents.cli.main import run
from did_agents.clock import FixedClock
from did_agents.keys import generate
from did_agents.storage.operators import OperatorRepository
from examples.urban_bites.server import build_app
from examples.urban_bites.services import Services, start_services
from tests.mcp.conftest import T0, JWKSApp, make_kit, mcp_client, mint
from tests.servers import run_server
from verifier.mcp.audit_hook import AuditHook, HTTPAuditSink, MemoryAuditSink

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    with start_services(tmp_path_factory.mktemp("audit-http")) as running:
        yield running


def _event(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "mcp.tool_call",
        "decision": "denied",
        "reason": "insufficient_scope",
        "subject": "did:key:z6MkSmith",
        "actors": ["did:key:z6MkHRAgent"],
        "client_id": "did:key:z6MkHRAgent",
        "tool": "delete_order",
        "resource": "https://mcp.urbanbites.example/mcp",
        "details": {"scopes": ["orders:read"], "missing_scopes": ["orders:delete"], "jti": "j-1"},
    }
    body.update(overrides)
    return body


def _post(services: Services, body: Any, token: str | None, **headers: str) -> httpx.Response:
    sent = {"Content-Type": "application/json", **headers}
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(services.verifier_url + "/audit/events", content=content, headers=sent, timeout=10)


def _newest(services: Services) -> Any:
    with services.database.read() as conn:
        return AuditLog(conn, FixedClock(T0)).query(
            AuditQuery(type="mcp.tool_call", newest_first=True, limit=1)
        )


def test_auditor_token_appends_a_tool_call_to_the_hash_chain(services: Services) -> None:
    response = _post(services, _event(), services.auditor_token)
    assert response.status_code == 201, response.text
    seq = response.json()["seq"]
    [record] = _newest(services)
    assert record.seq == seq and record.hash == response.json()["hash"]
    assert (record.event.subject, record.event.actors, record.event.action) == (
        "did:key:z6MkSmith",
        ("did:key:z6MkHRAgent",),
        "delete_order",
    )
    assert record.event.details["reported_by"] == "operator:auditor"
    with services.database.read() as conn:
        assert AuditLog(conn, FixedClock(T0)).verify_chain().ok


def test_no_credentials_is_401_with_a_bearer_challenge(services: Services) -> None:
    """RFC 6750 §3.1: a request without authentication information gets no error code."""
    response = _post(services, _event(), None)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="did-agents"'


def test_unknown_or_revoked_operator_token_is_401_invalid_token(services: Services) -> None:
    with services.database.transaction() as conn:
        operators = OperatorRepository(conn)
        operator, revoked = operators.create("retired-mcp", "auditor", now=T0)
        operators.revoke(operator.id, now=T0)
    for token in ("not-a-token", revoked):
        response = _post(services, _event(), token)
        assert response.status_code == 401
        assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_admin_token_is_403_insufficient_scope(services: Services) -> None:
    """Only the auditor role writes the trail (as only it reads it): resource servers never hold admin tokens."""
    before = _newest(services)
    response = _post(services, _event(), services.admin_token)
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
    assert _newest(services) == before


@pytest.mark.parametrize(
    "body",
    [
        _event(type="token_exchange.granted"),  # only tool-call events
        _event(decision="info"),
        _event(extra="field"),  # unknown members are refused
        _event(details={"scopes": [], "token": "x"}),
        _event(subject=None, actors="did:key:z6MkHRAgent"),  # not a list
        {k: v for k, v in _event().items() if k != "tool"},
        _event(reason="Not A Slug"),
        _event(actors=[f"did:key:z6Mk{i}" for i in range(9)]),
    ],
    ids=[
        "other-type",
        "info",
        "extra-member",
        "extra-detail",
        "actors-string",
        "no-tool",
        "reason",
        "long-chain",
    ],
)
def test_body_is_a_strict_tool_call_event(services: Services, body: dict[str, Any]) -> None:
    response = _post(services, body, services.auditor_token)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"


def test_raw_tokens_are_refused_anywhere(services: Services) -> None:
    """SECURITY NEG-INV 3: tokens are audited as digests; a JWT-looking value is refused."""
    token = jws.sign_compact({"sub": "x"}, generate(), typ="at+jwt", kid="k1")
    for body in (
        _event(subject=token),
        _event(client_id="Bearer " + token),
        _event(actors=[token]),
        _event(details={"jti": token}),
        _event(details={"delegation": {"chain": [token]}}),
    ):
        response = _post(services, body, services.auditor_token)
        assert response.status_code == 400, body
    assert token not in json.dumps([r.event.details for r in _newest(services)])


def test_body_must_be_strict_json(services: Services) -> None:
    duplicate = b'{"type":"mcp.tool_call","type":"mcp.tool_call"}'
    assert _post(services, duplicate, services.auditor_token).status_code == 400
    form = _post(services, b"type=mcp.tool_call", services.auditor_token, **{"Content-Type": "text/plain"})
    assert form.status_code == 400


async def test_mcp_server_with_http_sink_records_in_the_verifier_and_cli_shows_it(
    services: Services, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    key = generate()
    jwks = JWKSApp()
    jwks.publish("k1", key)
    clock = FixedClock(T0)
    with run_server(jwks) as jwks_base:
        kit = make_kit(jwks_base + "/jwks", clock, MemoryAuditSink())
        kit.audit = AuditHook(HTTPAuditSink(services.verifier_url + "/audit/events", services.auditor_token))
        app, kitchen = build_app(kit)
        with run_server(app) as base:
            token = mint(key, sub="did:key:z6MkJones", scope="menu:read")
            async with mcp_client(base + "/mcp", token) as client:
                assert (await client.call_tool("list_menu", {})).is_error is False
    assert kitchen.calls["list_menu"] == 1
    [record] = _newest(services)
    assert (record.event.subject, record.event.action, record.event.decision, record.event.reason) == (
        "did:key:z6MkJones",
        "list_menu",
        "allowed",
        "scope_granted",
    )
    assert record.event.actors == ("did:key:z6MkOrderingAgent",)
    monkeypatch.delenv("DID_AGENTS_DATABASE_URL", raising=False)
    capsys.readouterr()
    assert run(["audit", "--data-dir", str(services.data_dir), "--type", "mcp.", "--limit", "1000"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    shown = [line for line in lines if line["seq"] == record.seq]
    assert shown and shown[0]["subject"] == "did:key:z6MkJones" and shown[0]["action"] == "list_menu"


async def test_a_refused_audit_post_refuses_the_call(services: Services) -> None:
    """A strict hook (the default): an event the verifier will not record means the tool does not run."""
    key = generate()
    jwks = JWKSApp()
    jwks.publish("k1", key)
    with run_server(jwks) as jwks_base:
        kit = make_kit(jwks_base + "/jwks", FixedClock(T0), MemoryAuditSink())
        kit.audit = AuditHook(HTTPAuditSink(services.verifier_url + "/audit/events", services.admin_token))
        app, kitchen = build_app(kit)
        with run_server(app) as base:
            token = mint(key, scope="menu:read")
            with pytest.RaisesGroup(MCPError, flatten_subgroups=True):
                async with mcp_client(base + "/mcp", token) as client:
                    await client.call_tool("list_menu", {})
    assert kitchen.calls["list_menu"] == 0
