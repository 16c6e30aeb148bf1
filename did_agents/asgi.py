"""Framework-free ASGI pieces shared by the issuer and verifier services.

- ``BodyLimitMiddleware`` refuses request bodies above a byte limit before the
  application reads them (DESIGN §10: bounded inputs; refusal is fast and uses
  no memory to speak of).
- ``error_body`` renders any ``DIDAgentsError`` as the RFC 6749 §5.2 JSON body
  with ``Cache-Control: no-store`` (RFC 6749 §5.1) and, for bearer-token errors,
  a ``WWW-Authenticate`` header (RFC 6750 §3).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from did_agents.errors import DIDAgentsError, InputTooLargeError, InsufficientScopeError

__all__ = ["BodyLimitMiddleware", "RefusalHook", "error_body", "error_headers"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
#: Told about a request refused before it reached a route (to audit it).
RefusalHook = Callable[[Scope, DIDAgentsError], Awaitable[None]]


def error_headers(exc: DIDAgentsError, *, realm: str | None = None) -> dict[str, str]:
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    if exc.error in ("invalid_token", "insufficient_scope", "unauthorized"):
        parts = [f'realm="{realm}"'] if realm else []
        if exc.error != "unauthorized":
            parts.append(f'error="{exc.error}"')
            parts.append('error_description="{}"'.format(exc.description.replace('"', "'")))
        if isinstance(exc, InsufficientScopeError) and exc.required:
            parts.append('scope="{}"'.format(" ".join(exc.required)))
        headers["WWW-Authenticate"] = "Bearer" + (" " + ", ".join(parts) if parts else "")
    return headers


def error_body(exc: DIDAgentsError) -> bytes:
    return json.dumps(exc.to_dict()).encode()


class BodyLimitMiddleware:
    """Answer 413 for a body larger than ``max_bytes`` (by Content-Length or while streaming);
    ``on_refused`` is told about each refusal before the answer is sent (so it is audited by then)."""

    def __init__(
        self, app: ASGIApp, *, max_bytes: int = 1_000_000, on_refused: RefusalHook | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.on_refused = on_refused

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    too_big = True
                if too_big:
                    await self._refuse(scope, send)
                    return
        received = 0
        refused = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    refused = True
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLarge:
            if refused:
                await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        error = InputTooLargeError(f"request body larger than {self.max_bytes} bytes")
        if self.on_refused is not None:
            await self.on_refused(scope, error)
        body = error_body(error)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"cache-control", b"no-store"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _BodyTooLarge(Exception):
    pass
