"""The Urban Bites MCP server: four tools, each with its scope, behind did-agents access tokens.

=============  ================  =========================================
tool           scope             does
=============  ================  =========================================
list_menu      ``menu:read``     the menu
create_order   ``orders:create`` places an order for the token's user
list_orders    ``orders:read``   the user's orders
delete_order   ``orders:delete`` cancels one of the user's orders
=============  ================  =========================================

Orders belong to the token's ``sub`` (the user, or the agent itself for an
autonomous agent); the acting agent (``client_id``) is recorded on each order.
``Kitchen.calls`` counts tool-body executions so tests can prove a refused call
never ran.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.mcpserver import MCPServer
from starlette.applications import Starlette

from verifier.mcp.app import MCPKit
from verifier.mcp.guard import ToolScopes

__all__ = ["MENU", "TOOL_SCOPES", "Kitchen", "build_app", "build_server"]

MENU = [
    {"item": "margherita", "price": 9.5},
    {"item": "bibimbap", "price": 12.0},
    {"item": "falafel wrap", "price": 7.0},
]

TOOL_SCOPES = {
    "list_menu": ["menu:read"],
    "create_order": ["orders:create"],
    "list_orders": ["orders:read"],
    "delete_order": ["orders:delete"],
}


@dataclass
class Kitchen:
    """The server's state: orders by id, and how many times each tool body ran."""

    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))


def _caller() -> tuple[str, str]:
    token = get_access_token()
    if token is None or token.subject is None:  # the guard and the SDK refuse before this
        raise PermissionError("no authenticated caller")
    return token.subject, token.client_id


def build_server(
    kit: MCPKit | None,
    kitchen: Kitchen,
    *,
    name: str = "urban-bites",
    server: MCPServer[Any] | None = None,
) -> MCPServer[Any]:
    """The MCP server with its four tools. ``kit`` protects it with access tokens; ``server``
    may be a pre-built (e.g. decentralized-mode) server; with neither, no authentication (benchmarks)."""
    authenticated = kit is not None or server is not None
    if server is None:
        server = (
            MCPServer(name, token_verifier=kit.token_verifier, auth=kit.auth, log_level="WARNING")
            if kit is not None
            else MCPServer(name, log_level="WARNING")
        )

    def who() -> tuple[str, str]:
        return _caller() if authenticated else ("anonymous", "anonymous")

    @server.tool()
    def list_menu() -> list[dict[str, Any]]:
        """The dishes on today's menu."""
        kitchen.calls["list_menu"] += 1
        return MENU

    @server.tool()
    def create_order(item: str, quantity: int = 1) -> dict[str, Any]:
        """Order ``quantity`` of ``item`` for the user the agent acts for."""
        kitchen.calls["create_order"] += 1
        user, agent = who()
        if item not in {dish["item"] for dish in MENU}:
            raise ValueError(f"{item!r} is not on the menu")
        order_id = next(kitchen._ids)
        order: dict[str, Any] = {
            "id": order_id,
            "item": item,
            "quantity": quantity,
            "user": user,
            "placed_by": agent,
        }
        kitchen.orders[order_id] = order
        return order

    @server.tool()
    def list_orders() -> list[dict[str, Any]]:
        """The user's orders."""
        kitchen.calls["list_orders"] += 1
        user, _ = who()
        return [order for order in kitchen.orders.values() if order["user"] == user]

    @server.tool()
    def delete_order(order_id: int) -> dict[str, Any]:
        """Cancel one of the user's orders."""
        kitchen.calls["delete_order"] += 1
        user, _ = who()
        order = kitchen.orders.get(order_id)
        if order is None or order["user"] != user:
            raise ValueError(f"no order {order_id}")
        del kitchen.orders[order_id]
        return {"deleted": order_id}

    return server


def build_app(kit: MCPKit, kitchen: Kitchen | None = None, **options: Any) -> tuple[Starlette, Kitchen]:
    """The protected streamable-HTTP app (ASGI) and its kitchen."""
    kitchen = kitchen or Kitchen()
    server = build_server(kit, kitchen)
    return kit.streamable_http_app(server, **options), kitchen


def tool_scopes() -> ToolScopes:
    return ToolScopes(TOOL_SCOPES)
