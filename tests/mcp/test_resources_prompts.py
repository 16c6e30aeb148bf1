"""resources/read and prompts/get behind the guard (SECURITY SEC-57: the denied capability is not
reachable through a resource or a prompt): declared by exact URI / name with scopes, undeclared
refused, 403 insufficient_scope naming the scope before the body runs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError

from did_agents.clock import FixedClock
from did_agents.errors import ConfigurationError
from did_agents.keys import PrivateKey, generate
from examples.urban_bites.server import TOOL_SCOPES
from tests.mcp.conftest import LOOPBACK, T0, JWKSApp, mcp_client, mint, rpc
from tests.servers import run_server
from verifier.mcp.app import MCPKit
from verifier.mcp.audit_hook import AuditHook, MemoryAuditSink
from verifier.mcp.guard import INSUFFICIENT_SCOPE_CODE, ToolScopes

pytestmark = pytest.mark.anyio

ISSUER = "https://verifier.urbanbites.example"
RESOURCE = "https://mcp.urbanbites.example/mcp"
MENU_URI = "menu://today"
ORDERS_URI = "orders://all"


def scopes() -> ToolScopes:
    declared = ToolScopes({"list_menu": TOOL_SCOPES["list_menu"]})
    declared.declare_resource(MENU_URI, ["menu:read"])
    declared.declare_resource(ORDERS_URI, ["orders:read"])
    declared.declare_prompt("order_help", ["orders:create"])
    return declared


def server(kit: MCPKit, ran: Counter[str], *, extra: bool = False) -> MCPServer[Any]:
    mcp = MCPServer("resources", token_verifier=kit.token_verifier, auth=kit.auth, log_level="WARNING")

    @mcp.tool()
    def list_menu() -> list[str]:
        ran["list_menu"] += 1
        return ["margherita"]

    @mcp.resource(MENU_URI)
    def menu() -> str:
        ran[MENU_URI] += 1
        return "margherita"

    @mcp.resource(ORDERS_URI)
    def orders() -> str:
        ran[ORDERS_URI] += 1
        return "[]"

    @mcp.prompt()
    def order_help(item: str) -> str:
        ran["order_help"] += 1
        return f"order {item}"

    if extra:

        @mcp.resource("secret://undeclared")
        def undeclared() -> str:
            return "secret"

    return mcp


def kit_for(jwks_url: str) -> MCPKit:
    return MCPKit(
        issuer=ISSUER,
        resource=RESOURCE,
        jwks_url=jwks_url,
        scopes=scopes(),
        audit=AuditHook(MemoryAuditSink()),
        clock=FixedClock(T0),
        fetch_settings=LOOPBACK,
    )


@pytest.fixture
def served() -> Iterator[tuple[str, PrivateKey, Counter[str]]]:
    key = generate()
    jwks = JWKSApp()
    jwks.publish("k1", key)
    ran: Counter[str] = Counter()
    with run_server(jwks) as jwks_base:
        kit = kit_for(jwks_base + "/jwks")
        app = kit.streamable_http_app(server(kit, ran))
        with run_server(app) as base:
            yield base + "/mcp", key, ran


async def test_declared_resource_and_prompt_with_scope_are_served(
    served: tuple[str, PrivateKey, Counter[str]],
) -> None:
    url, key, ran = served
    async with mcp_client(url, mint(key, scope="menu:read orders:create")) as client:
        read = await client.read_resource(MENU_URI)
        prompt = await client.get_prompt("order_help", {"item": "falafel"})
    assert "margherita" in str(read.contents[0]) and prompt.messages
    assert (ran[MENU_URI], ran["order_help"]) == (1, 1)


def test_resource_without_scope_is_403_naming_it(served: tuple[str, PrivateKey, Counter[str]]) -> None:
    url, key, ran = served
    response = rpc(url, mint(key, scope="menu:read"), "resources/read", {"uri": ORDERS_URI})
    assert response.status_code == 403
    assert 'error="insufficient_scope", scope="orders:read"' in response.headers["www-authenticate"]
    error = response.json()["error"]
    assert error["code"] == INSUFFICIENT_SCOPE_CODE
    assert error["data"] == {"error": "insufficient_scope", "scope": "orders:read", "resource": ORDERS_URI}
    assert ran[ORDERS_URI] == 0


def test_prompt_without_scope_is_403(served: tuple[str, PrivateKey, Counter[str]]) -> None:
    url, key, ran = served
    params = {"name": "order_help", "arguments": {"item": "x"}}
    response = rpc(url, mint(key, scope="menu:read"), "prompts/get", params)
    assert response.status_code == 403
    assert response.json()["error"]["data"]["prompt"] == "order_help"
    assert ran["order_help"] == 0


def test_undeclared_and_look_alike_targets_are_refused(served: tuple[str, PrivateKey, Counter[str]]) -> None:
    url, key, ran = served
    token = mint(key, scope="menu:read orders:read orders:create")
    for method, params, reason in (
        ("resources/read", {"uri": "MENU://today"}, "unknown_resource"),
        ("resources/read", {"uri": MENU_URI + "/"}, "unknown_resource"),
        ("resources/read", {"uri": "secret://undeclared"}, "unknown_resource"),
        ("resources/read", {"uri": 7}, "malformed_call"),
        ("prompts/get", {"name": "order_help\u200b"}, "unknown_prompt"),
        ("prompts/get", {}, "malformed_call"),
    ):
        response = rpc(url, token, method, params)
        assert response.status_code == 400, (method, params)
        assert response.json()["error"]["data"]["reason"] == reason
    assert sum(ran.values()) == 0


async def test_mcp_client_sees_the_refusal(served: tuple[str, PrivateKey, Counter[str]]) -> None:
    url, key, ran = served
    async with mcp_client(url, mint(key, scope="menu:read")) as client:
        with pytest.raises(MCPError) as info:
            await client.read_resource(ORDERS_URI)
    assert info.value.error.code == INSUFFICIENT_SCOPE_CODE
    assert ran[ORDERS_URI] == 0


def test_unauthenticated_read_is_401(served: tuple[str, PrivateKey, Counter[str]]) -> None:
    url, _, ran = served
    response: httpx2.Response = rpc(url, None, "resources/read", {"uri": MENU_URI})
    assert response.status_code == 401 and ran[MENU_URI] == 0


def test_undeclared_resource_or_template_fails_at_startup() -> None:
    kit = kit_for("https://verifier.example/jwks")
    with pytest.raises(ConfigurationError, match="secret://undeclared"):
        kit.streamable_http_app(server(kit, Counter(), extra=True))
    templated = server(kit, Counter())

    @templated.resource("orders://{order_id}")
    def order(order_id: str) -> str:
        return order_id

    with pytest.raises(ConfigurationError, match="templates"):
        kit.streamable_http_app(templated)


def test_declarations_are_checked() -> None:
    declared = ToolScopes()
    with pytest.raises(ConfigurationError):
        declared.declare_resource("menu://x", [])
    with pytest.raises(ConfigurationError):
        declared.declare_prompt("", ["a:b"])
    with pytest.raises(ConfigurationError):
        declared.declare_resource("menu://x", "menu:read")
