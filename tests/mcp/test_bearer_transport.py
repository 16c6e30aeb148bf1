"""RFC 6750 §2 at the MCP server: one method only, the Authorization header (SECURITY SEC-58(a), (b))."""

from __future__ import annotations

import json

import httpx2
import pytest

from tests.mcp.conftest import Stack, rpc

pytestmark = pytest.mark.anyio

ACCEPT = "application/json, text/event-stream"
CALL = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "list_menu", "arguments": {}}}


def assert_invalid_request(response: httpx2.Response) -> None:
    """RFC 6750 §3.1: invalid_request → 400, with the error in the Bearer challenge."""
    assert response.status_code == 400, response.text
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer error="invalid_request"')
    assert response.json()["error"] == "invalid_request"


def test_header_and_query_token_is_400_invalid_request(stack: Stack) -> None:
    token = stack.token(scope="menu:read")
    for query in (f"?access_token={token}", "?access_token=", f"?x=1&access%5Ftoken={token}"):
        assert_invalid_request(rpc(stack.url + query, token, "tools/call", CALL["params"]))
    assert stack.kitchen.calls["list_menu"] == 0


def test_header_and_form_body_token_is_400_invalid_request(stack: Stack) -> None:
    token = stack.token(scope="menu:read")
    response = httpx2.post(
        stack.url,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
            "Accept": ACCEPT,
        },
        content=f"access_token={token}".encode(),
        timeout=10,
    )
    assert_invalid_request(response)
    assert stack.kitchen.calls["list_menu"] == 0


def test_header_and_get_with_query_token_is_400(stack: Stack) -> None:
    token = stack.token(scope="menu:read")
    response = httpx2.get(
        stack.url + "?access_token=" + token,
        headers={"Authorization": f"Bearer {token}", "Accept": "text/event-stream"},
        timeout=10,
    )
    assert_invalid_request(response)


def test_query_token_alone_is_ignored_401(stack: Stack) -> None:
    token = stack.token(scope="menu:read")
    response = rpc(stack.url + "?access_token=" + token, None, "tools/call", CALL["params"])
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert stack.kitchen.calls["list_menu"] == 0


def test_form_body_token_alone_is_401_not_a_parse_error(stack: Stack) -> None:
    """Without a header the body is never read for a token: the SDK's 401, not the guard's 400."""
    token = stack.token(scope="menu:read")
    response = httpx2.post(
        stack.url,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": ACCEPT},
        content=f"access_token={token}".encode(),
        timeout=10,
    )
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_json_body_naming_access_token_is_not_a_second_method(stack: Stack) -> None:
    """RFC 6750 §2.2 is the form-encoded body only: a JSON argument called access_token is data."""
    token = stack.token(scope="menu:read")
    body = {**CALL, "params": {"name": "list_menu", "arguments": {}, "access_token": "x"}}
    response = httpx2.post(
        stack.url,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept": ACCEPT},
        content=json.dumps(body).encode(),
        timeout=10,
    )
    assert response.status_code != 400 or "invalid_request" not in response.headers.get(
        "www-authenticate", ""
    )
