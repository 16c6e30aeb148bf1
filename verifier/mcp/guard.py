"""Per-tool scope enforcement for MCP servers (DESIGN §7; MCP authorization spec §Runtime Insufficient Scope Errors).

Declare what each tool needs, either as a mapping or with the decorator::

    scopes = ToolScopes({"list_menu": ["menu:read"]})

    @server.tool()
    @scopes.require("orders:create")
    def create_order(...): ...

:class:`ToolGuard` is an ASGI middleware placed *inside* the SDK's bearer
authentication (so the verified ``AccessToken`` is on the connection) and in
front of the MCP endpoint. It reads the JSON-RPC body once (bounded), and for
every ``tools/call`` decides before the tool runs:

* the token's scopes must cover every scope the tool requires (``ns:*`` covers
  ``ns:x`` at the ``:`` boundary, ``did_agents.delegation.capabilities.scope_covers``);
  otherwise HTTP 403 with ``WWW-Authenticate: Bearer error="insufficient_scope",
  scope="<missing>"`` (RFC 6750 §3.1) and a JSON-RPC error body (code
  :data:`INSUFFICIENT_SCOPE_CODE`, ``data.scope`` names the missing scopes), so
  any MCP client surfaces it; the tool body never runs (SECURITY SEC-57);
* tool names are matched exactly, as the SDK dispatches them: no case folding,
  no Unicode normalization, no trimming; a name that is not declared is refused
  (``unknown_tool``) — a look-alike of a real tool never reaches it;
* a body that is not strict JSON (duplicate members, NaN, too deep) is refused
  with a JSON-RPC parse error: what we authorize is exactly what the SDK reads;
* a tool may also name the agents allowed to call it (``actors=``): the token's
  *current* actor — ``act.sub``, or ``sub`` for an autonomous agent's token without
  ``act`` — must be one of them, else HTTP 403 with a JSON-RPC error (code
  :data:`ACCESS_DENIED_CODE`, ``data.error = "access_denied"``) and the audit reason
  ``actor_not_allowed``. Nested actors (``act.act``) never count: RFC 8693 §4.1,
  "prior actors ... are informational only and are not to be considered in access
  control decisions" (SECURITY SEC-58(f));
* a JSON-RPC batch is authorized item by item and refused whole if any item is refused;
* ``resources/read`` and ``prompts/get`` are guarded the same way: resources are
  declared by exact URI and prompts by exact name, each with its scopes
  (:meth:`ToolScopes.declare_resource`, :meth:`ToolScopes.declare_prompt`); an
  undeclared URI or name is refused (``unknown_resource`` / ``unknown_prompt``),
  so a server that adds a resource without declaring it fails closed, and a
  templated resource cannot be reached (declare its concrete URIs instead).
  These decisions are not audit events (the audit trail records tool calls);


Bearer transport (RFC 6750 §2: "Clients MUST NOT use more than one method to
transmit the token in each request"): a request with an ``Authorization``
header that also carries ``access_token`` in the query string or in a form body
is answered 400 ``invalid_request`` with ``WWW-Authenticate: Bearer
error="invalid_request"`` (RFC 6750 §3.1), before anything else (SECURITY
SEC-58(b)). A query or body token alone is never read (only the header method
is supported), so without a header the SDK answers 401 (SEC-58(a)).

``tools/list`` (and ``resources/list``, ``prompts/list``) is not filtered: every
entry is listed, calls are still guarded. Every tool-call decision (and every
401 on a tool call) goes to the audit hook.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar
from urllib.parse import parse_qsl

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser

from did_agents import strict_json
from did_agents.delegation.capabilities import parse_scope, scope_covers
from did_agents.errors import ConfigurationError, DIDAgentsError
from verifier.mcp.audit_hook import AuditHook, ToolCall
from verifier.mcp.token_verifier import last_refusal

__all__ = [
    "ACCESS_DENIED_CODE",
    "GUARDED_METHODS",
    "INSUFFICIENT_SCOPE_CODE",
    "Decision",
    "ToolGuard",
    "ToolScopes",
    "current_actor",
]

#: JSON-RPC error code for a refused tool call (implementation-defined server error range).
INSUFFICIENT_SCOPE_CODE: Final = -32003
#: JSON-RPC error code for a call by an agent the tool's actor policy does not name.
ACCESS_DENIED_CODE: Final = -32004
_INVALID_PARAMS: Final = -32602
_PARSE_ERROR: Final = -32700
_INVALID_REQUEST: Final = -32600
DEFAULT_MAX_BODY: Final = 4 * 1024 * 1024
MAX_TOOL_NAME: Final = 128
MAX_URI: Final = 2048
#: The JSON-RPC methods the guard authorizes, and the params member naming the target.
GUARDED_METHODS: Final = {"tools/call": "name", "resources/read": "uri", "prompts/get": "name"}

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[..., Any]
F = TypeVar("F", bound=Callable[..., Any])


def _name(value: str, what: str, limit: int) -> str:
    if not isinstance(value, str) or not value or len(value) > limit:
        raise ConfigurationError(f"bad {what} {value!r}")
    return value


def _scopes(target: str, scopes: Iterable[str]) -> frozenset[str]:
    if isinstance(scopes, str):
        raise ConfigurationError("scopes must be a list of strings, not one string")
    required = frozenset(parse_scope(s) for s in scopes)
    if not required:
        raise ConfigurationError(f"{target!r} declares no scope (declare every entry explicitly)")
    return required


class ToolScopes:
    """Tool name → required scopes (and, optionally, the agents allowed to call it).
    Names are exact strings; scopes are checked at declaration."""

    def __init__(self, mapping: Mapping[str, Iterable[str]] | None = None) -> None:
        self._required: dict[str, frozenset[str]] = {}
        self._actors: dict[str, frozenset[str]] = {}
        self._resources: dict[str, frozenset[str]] = {}
        self._prompts: dict[str, frozenset[str]] = {}
        for name, scopes in (mapping or {}).items():
            self.declare(name, scopes)

    def declare(self, tool: str, scopes: Iterable[str], *, actors: Iterable[str] | None = None) -> None:
        """``tool`` needs ``scopes``; with ``actors``, only those agents (DIDs, exact) may call it
        as the token's current actor (module docstring)."""
        if not isinstance(tool, str) or not tool or len(tool) > MAX_TOOL_NAME:
            raise ConfigurationError(f"bad tool name {tool!r}")
        if isinstance(scopes, str):
            raise ConfigurationError("scopes must be a list of strings, not one string")
        required = frozenset(parse_scope(s) for s in scopes)
        if not required:
            raise ConfigurationError(f"tool {tool!r} declares no scope (declare every tool explicitly)")
        self._required[tool] = required
        self._actors.pop(tool, None)
        if actors is not None:
            if isinstance(actors, str):
                raise ConfigurationError("actors must be a list of DIDs, not one string")
            allowed = frozenset(actors)
            if not allowed or not all(isinstance(a, str) and a.startswith("did:") for a in allowed):
                raise ConfigurationError(f"tool {tool!r}: actors must be a non-empty list of DIDs")
            self._actors[tool] = allowed

    def require(
        self, *scopes: str, name: str | None = None, actors: Iterable[str] | None = None
    ) -> Callable[[F], F]:
        """Decorator: the decorated function's tool (its ``__name__`` or ``name``) needs ``scopes``
        (and, with ``actors``, one of those agents as the current actor)."""

        def decorate(fn: F) -> F:
            self.declare(name or fn.__name__, scopes, actors=actors)
            return fn

        return decorate

    def required(self, tool: str) -> frozenset[str] | None:
        """The scopes ``tool`` needs, ``None`` for an undeclared name (exact lookup)."""
        return self._required.get(tool)

    def declare_resource(self, uri: str, scopes: Iterable[str]) -> None:
        """``resources/read`` of exactly ``uri`` needs ``scopes``."""
        self._resources[_name(uri, "resource URI", MAX_URI)] = _scopes(uri, scopes)

    def declare_prompt(self, name: str, scopes: Iterable[str]) -> None:
        """``prompts/get`` of exactly ``name`` needs ``scopes``."""
        self._prompts[_name(name, "prompt name", MAX_TOOL_NAME)] = _scopes(name, scopes)

    def resource_required(self, uri: str) -> frozenset[str] | None:
        return self._resources.get(uri)

    def prompt_required(self, name: str) -> frozenset[str] | None:
        return self._prompts.get(name)

    def resources(self) -> frozenset[str]:
        return frozenset(self._resources)

    def prompts(self) -> frozenset[str]:
        return frozenset(self._prompts)

    def allowed_actors(self, tool: str) -> frozenset[str] | None:
        """The agents that may call ``tool``, ``None`` when any agent may (scopes decide)."""
        return self._actors.get(tool)

    def tools(self) -> frozenset[str]:
        return frozenset(self._required)

    def all_scopes(self) -> list[str]:
        return sorted(set().union(*self._required.values())) if self._required else []


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    missing: tuple[str, ...] = ()


def current_actor(subject: str | None, claims: Mapping[str, Any] | None) -> str | None:
    """Who is acting now: the outermost ``act.sub`` (RFC 8693 §4.1), or ``sub`` when the token
    has no ``act`` (an autonomous agent acting for itself). Nested actors are never returned."""
    act = (claims or {}).get("act")
    if act is None:
        return subject
    sub = act.get("sub") if isinstance(act, Mapping) else None
    return sub if isinstance(sub, str) else None


def _missing(granted: Iterable[str], required: Iterable[str]) -> tuple[str, ...]:
    have = list(granted)
    return tuple(sorted(s for s in required if not any(scope_covers(g, s) for g in have)))


def _rpc_error(rpc_id: Any, code: int, message: str, data: Mapping[str, Any] | None = None) -> bytes:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = dict(data)
    valid_id = rpc_id if isinstance(rpc_id, (str, int)) and not isinstance(rpc_id, bool) else None
    return json.dumps({"jsonrpc": "2.0", "id": valid_id, "error": error}).encode()


def _quote(text: str) -> str:
    # A header value: printable ASCII only, no quotes or backslashes (no header injection via tool names).
    return "".join(ch if 0x20 <= ord(ch) < 0x7F and ch not in '"\\' else "?" for ch in text)


@dataclass
class ToolGuard:
    """ASGI middleware enforcing :class:`ToolScopes` on ``tools/call`` (module docstring)."""

    app: ASGIApp
    scopes: ToolScopes
    resource: str
    audit: AuditHook | None = None
    resource_metadata_url: str | None = None
    max_body: int = DEFAULT_MAX_BODY
    _calls: int = field(default=0, repr=False)

    def decide(self, tool: Any, granted: Iterable[str], actor: str | None = None) -> Decision:
        """The decision on calling ``tool`` with scopes ``granted`` by the current ``actor``
        (:func:`current_actor`): unknown tool, then actor policy, then scopes."""
        if not isinstance(tool, str):
            return Decision(False, "malformed_call")
        required = self.scopes.required(tool)
        if required is None:
            return Decision(False, "unknown_tool")
        allowed = self.scopes.allowed_actors(tool)
        if allowed is not None and actor not in allowed:
            # No scope would help: refuse before naming scopes to request.
            return Decision(False, "actor_not_allowed")
        missing = _missing(granted, required)
        if missing:
            return Decision(False, "insufficient_scope", missing)
        return Decision(True, "scope_granted")

    def decide_other(self, method: str, target: Any, granted: Iterable[str]) -> Decision:
        """``resources/read`` (by exact URI) or ``prompts/get`` (by exact name)."""
        if not isinstance(target, str):
            return Decision(False, "malformed_call")
        if method == "resources/read":
            required, unknown = self.scopes.resource_required(target), "unknown_resource"
        else:
            required, unknown = self.scopes.prompt_required(target), "unknown_prompt"
        if required is None:
            return Decision(False, unknown)
        missing = _missing(granted, required)
        if missing:
            return Decision(False, "insufficient_scope", missing)
        return Decision(True, "scope_granted")

    async def __call__(self, scope: Scope, receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = _has_authorization(scope)
        if header and _has_access_token(scope.get("query_string", b"")):
            await self._two_methods(send)
            return
        if scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        body = await self._read_body(receive, send)
        if body is None:
            return
        replay = _replay(body, receive)
        if header and _is_form(scope) and _has_access_token(body):
            await self._two_methods(send)
            return
        try:
            document = strict_json.loads(body, max_bytes=self.max_body + 1)
        except DIDAgentsError:
            if not isinstance(scope.get("user"), AuthenticatedUser):
                # Not authenticated: the SDK answers 401 first (a body token is never read: SEC-58(a)).
                await self.app(scope, replay, send)
                return
            # What the SDK would parse leniently (duplicate members...) we refuse: no bypass by ambiguity.
            await _respond(send, 400, _rpc_error(None, _PARSE_ERROR, "Parse error"))
            return
        messages = document if isinstance(document, list) else [document]
        calls = [m for m in messages if isinstance(m, Mapping) and m.get("method") in GUARDED_METHODS]
        if not calls:
            await self.app(scope, replay, send)
            return
        user = scope.get("user")
        if not isinstance(user, AuthenticatedUser):
            # The SDK's RequireAuthMiddleware answers 401; we only record the attempt.
            for call in calls:
                if call["method"] == "tools/call":
                    await self._record(call, None, Decision(False, last_refusal.get() or "invalid_token"))
            await self.app(scope, replay, send)
            return
        decisions = []
        token = user.access_token
        for call in calls:
            target = _target(call)
            if call["method"] == "tools/call":
                decision = self.decide(target, token.scopes, current_actor(token.subject, token.claims))
                await self._record(call, user, decision)
            else:
                decision = self.decide_other(call["method"], target, token.scopes)
            decisions.append((call, decision))
        refused = [(call, d) for call, d in decisions if not d.allowed]
        if not refused:
            await self.app(scope, replay, send)
            return
        call, decision = refused[0]
        await self._refuse(send, call, decision)

    async def _two_methods(self, send: Callable[..., Any]) -> None:
        # RFC 6750 §2: "Clients MUST NOT use more than one method to transmit the token in each
        # request"; §3.1: invalid_request → 400.
        description = "the access token is sent by more than one method"
        challenge = f'Bearer error="invalid_request", error_description="{description}"'
        if self.resource_metadata_url:
            challenge += f', resource_metadata="{self.resource_metadata_url}"'
        body = json.dumps({"error": "invalid_request", "error_description": description}).encode()
        await _respond(send, 400, body, [(b"www-authenticate", challenge.encode("ascii"))])

    async def _read_body(self, receive: Callable[..., Any], send: Callable[..., Any]) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await _respond(send, 413, _rpc_error(None, _INVALID_REQUEST, "Request body too large"))
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _record(
        self, call: Mapping[str, Any], user: AuthenticatedUser | None, decision: Decision
    ) -> None:
        if self.audit is None:
            return
        params = call.get("params")
        name = params.get("name") if isinstance(params, Mapping) else None
        await self.audit.record(
            ToolCall(
                tool=name if isinstance(name, str) else repr(name),
                resource=self.resource,
                access_token=user.access_token if user is not None else None,
                allowed=decision.allowed,
                reason=decision.reason,
                missing=decision.missing,
            )
        )

    async def _refuse(self, send: Callable[..., Any], call: Mapping[str, Any], decision: Decision) -> None:
        name = _target(call)
        shown = name[:MAX_URI] if isinstance(name, str) else None
        kind = {"tools/call": "tool", "resources/read": "resource", "prompts/get": "prompt"}[call["method"]]
        if decision.reason == "actor_not_allowed":
            # Not a scope problem (RFC 6750 §3.1's insufficient_scope would invite a useless step-up):
            # 403 with an access_denied JSON-RPC error, no Bearer challenge.
            body = _rpc_error(
                call.get("id"),
                ACCESS_DENIED_CODE,
                f"access_denied: this agent may not call tool {shown}",
                {"error": "access_denied", "reason": decision.reason, "tool": shown},
            )
            await _respond(send, 403, body)
            return
        if decision.reason != "insufficient_scope":
            body = _rpc_error(
                call.get("id"), _INVALID_PARAMS, f"Unknown {kind}: {shown!r}", {"reason": decision.reason}
            )
            await _respond(send, 400, body)
            return
        missing = " ".join(decision.missing)
        description = f"{kind} {shown} requires scope {missing}"
        # RFC 6750 §3.1 / MCP authorization §Runtime Insufficient Scope Errors: 403 naming the scope.
        challenge = f'Bearer error="insufficient_scope", scope="{_quote(missing)}"'
        if self.resource_metadata_url:
            challenge += f', resource_metadata="{self.resource_metadata_url}"'
        challenge += f', error_description="{_quote(description)}"'
        body = _rpc_error(
            call.get("id"),
            INSUFFICIENT_SCOPE_CODE,
            f"insufficient_scope: {description}",
            {"error": "insufficient_scope", "scope": missing, kind: shown},
        )
        await _respond(send, 403, body, [(b"www-authenticate", challenge.encode("ascii"))])


def _target(call: Mapping[str, Any]) -> Any:
    """The tool name, resource URI or prompt name a guarded call names (``None`` if missing)."""
    params = call.get("params")
    return params.get(GUARDED_METHODS[call["method"]]) if isinstance(params, Mapping) else None


def _has_authorization(scope: Scope) -> bool:
    return any(name == b"authorization" for name, _ in scope.get("headers", ()))


def _is_form(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            media = bytes(value).split(b";", 1)[0].strip().lower()
            return media == b"application/x-www-form-urlencoded"
    return False


def _has_access_token(encoded: bytes) -> bool:
    """Whether a query string or form body (RFC 6750 §2.2, §2.3) names ``access_token``."""
    if b"access" not in encoded.lower() and b"%" not in encoded:
        return False
    text = encoded.decode("latin-1")
    return any(name == "access_token" for name, _ in parse_qsl(text, keep_blank_values=True))


def _replay(body: bytes, receive: Callable[..., Any]) -> Callable[..., Any]:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return dict(await receive())

    return replay


async def _respond(
    send: Callable[..., Any], status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
