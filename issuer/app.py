"""The issuer service: ``create_app(settings)`` builds the FastAPI application.

Start-up opens the encrypted key store and loads the organization identity;
a missing or corrupt key store, or a database without an organization, stops
start-up (DESIGN §9, SECURITY FLT-07) — ``did-agents init`` is the only way to
make a new identity.

Every error leaves as ``{"error", "error_description"}`` with
``Cache-Control: no-store`` (one handler, STYLE "one exception hierarchy");
request bodies are bounded (``BodyLimitMiddleware``) and JSON bodies are
checked with :mod:`did_agents.strict_json` (duplicate members, NaN, depth) and
their media type before any route parses them (SECURITY SEC-11, SEC-53).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from did_agents import strict_json
from did_agents.asgi import (
    ASGIApp,
    BodyLimitMiddleware,
    Message,
    Receive,
    RefusalHook,
    Scope,
    Send,
    error_headers,
)
from did_agents.clock import Clock, SystemClock
from did_agents.errors import (
    ConfigurationError,
    DIDAgentsError,
    MalformedError,
    MethodNotAllowedError,
    NotFoundError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
)
from did_agents.issuance.context import Issuer, IssuerConfig, is_audited, mark_audited
from did_agents.issuance.organization import load_organization
from did_agents.issuance.securing import FORMATS_FOR_KEY
from did_agents.keystore import KeyStore, Passphrase, RawKey
from did_agents.status.watermark import ListState, StatusWatermark, check, database_states
from did_agents.storage.database import Database
from did_agents.storage.engine import create_engine_for
from issuer.deps import ANONYMOUS
from issuer.routes import agents, audit, did, status, users, vc_api
from issuer.settings import IssuerSettings

__all__ = ["build_issuer", "create_app", "open_keystore"]

_log = logging.getLogger(__name__)
REALM = "did-agents"


def open_keystore(settings: IssuerSettings) -> KeyStore:
    """Open (never create) the key store named by the settings."""
    return KeyStore.open(settings.resolved_keystore_path, keystore_secret(settings))


def keystore_secret(settings: IssuerSettings) -> Passphrase | RawKey:
    """The key store's secret from the settings (a raw key wins over a passphrase)."""
    if settings.keystore_key is not None:
        return RawKey.from_base64url(settings.keystore_key.get_secret_value())
    if settings.keystore_passphrase is not None:
        return Passphrase(settings.keystore_passphrase.get_secret_value())
    raise ConfigurationError(
        "set DID_AGENTS_KEYSTORE_PASSPHRASE or DID_AGENTS_KEYSTORE_KEY", reason="keystore_secret"
    )


def build_issuer(
    settings: IssuerSettings, *, database: Database | None = None, clock: Clock | None = None
) -> Issuer:
    """Database + key store + organization identity → an :class:`Issuer` (refuses to start on any
    gap, or on a database older than the status watermark)."""
    if database is None:
        database = Database(
            create_engine_for(settings.resolved_database_url, sqlite_synchronous=settings.sqlite_synchronous)
        )
        database.upgrade()
    keystore = open_keystore(settings)
    organization = load_organization(database, keystore, settings.base_url)
    # SECURITY FLT-14: a database older than the status watermark (restored from a backup
    # taken before later revocations) is refused until reconciled.
    watermark = StatusWatermark(settings.resolved_status_watermark_path)

    def read_states() -> dict[str, ListState]:
        with database.read() as conn:
            return database_states(conn)

    check(read_states, watermark)
    # The default securing format follows the organization key unless set explicitly, and an
    # explicit one must be a format that key can make (VC-DI-EDDSA: Ed25519; VC-DI-ECDSA: P-256).
    key_type = organization.signing_key.key_type
    explicit_format = settings.default_format if "default_format" in settings.model_fields_set else None
    if explicit_format is not None and explicit_format not in FORMATS_FOR_KEY[key_type]:
        raise ConfigurationError(
            f"DID_AGENTS_DEFAULT_FORMAT={explicit_format} cannot be made with the organization's"
            f" {key_type.value} key (use {' or '.join(FORMATS_FOR_KEY[key_type])}, or leave it unset)",
            reason="default_format",
        )
    config = IssuerConfig(
        credential_validity=timedelta(days=settings.credential_validity_days),
        default_format=explicit_format,
        challenge_ttl=timedelta(seconds=settings.challenge_ttl_seconds),
        status_list_size=settings.status_list_size,
        role_capabilities=settings.role_capabilities,
    )
    return Issuer(
        database,
        keystore,
        organization,
        clock=clock or SystemClock(),
        config=config,
        status_watermark=watermark,
    )


class JSONBodyMiddleware:
    """Refuse non-JSON (415) and malformed JSON (400) bodies on POST/PUT/PATCH before routing."""

    def __init__(self, app: ASGIApp, *, max_depth: int, on_refused: RefusalHook | None = None) -> None:
        self.app = app
        self.max_depth = max_depth
        self.on_refused = on_refused

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        chunks = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, receive, send)
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        content_type = ""
        for name, value in scope.get("headers", []):
            if name == b"content-type":
                content_type = value.decode("latin-1").split(";", 1)[0].strip().lower()
        if body or content_type:
            error: DIDAgentsError | None = None
            if content_type != "application/json":
                error = UnsupportedMediaTypeError("the body must be application/json")
            else:
                try:
                    strict_json.loads(body, max_depth=self.max_depth)
                except DIDAgentsError as exc:
                    error = exc
            if error is not None:
                if self.on_refused is not None:
                    await self.on_refused(scope, error)
                response = _error_response(error)
                await response(scope, _replay(b""), send)
                return
        await self.app(scope, _replay(body), send)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


def _error_response(exc: DIDAgentsError) -> JSONResponse:
    headers = error_headers(exc, realm=REALM)
    if isinstance(exc, UnauthorizedError) and exc.reason != "missing_token":
        # RFC 6750 §3.1: a presented but unusable token.
        headers["WWW-Authenticate"] = f'Bearer realm="{REALM}", error="invalid_token"'
    if exc.status_code == 403:
        headers["WWW-Authenticate"] = f'Bearer realm="{REALM}", error="insufficient_scope"'
    return JSONResponse(status_code=exc.status_code, content=exc.to_dict(), headers=headers)


async def _audit_refusal(issuer: Issuer, scope: Scope, exc: DIDAgentsError) -> None:
    """One ``request.refused`` event for a refusal nobody audited yet (SECURITY NEG-INV 3)."""
    if is_audited(exc):
        return
    mark_audited(exc)
    await issuer.record_refusal_async(
        type="request.refused",
        actor=ANONYMOUS,
        error=exc,
        action=f"{scope.get('method', '')} {scope.get('path', '')}"[:256],
    )


def create_app(
    settings: IssuerSettings | None = None,
    *,
    issuer: Issuer | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    """The issuer ASGI app. ``issuer`` may be given (tests, the combined server); otherwise it
    is built from ``settings`` now, so a bad key store fails here, not on the first request."""
    settings = settings or IssuerSettings()
    settings.warn_if_open_issue()
    issuer = issuer or build_issuer(settings, clock=clock)
    app = FastAPI(
        title="did-agents issuer",
        version="0.1.0",
        description=(
            "Organization identity (did:web), agent onboarding and lifecycle, user roles, "
            "Bitstring status lists and the W3C VC API issuer endpoints. Mutating endpoints need "
            "an operator token: `Authorization: Bearer <token>`."
        ),
    )
    app.state.settings = settings
    app.state.issuer = issuer

    async def on_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DIDAgentsError)
        if exc.status_code >= 500:
            _log.error("issuer error %r", exc)
        await _audit_refusal(issuer, request.scope, exc)
        return _error_response(exc)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = []
        for err in exc.errors()[:5]:
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            problems.append(f"{where or 'body'}: {err.get('msg', 'invalid')}")
        error = MalformedError("; ".join(problems) or "invalid request", reason="invalid_request")
        await _audit_refusal(issuer, request.scope, error)
        return _error_response(error)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        # Routing refusals (no such endpoint, or not with this method) are refused requests too.
        assert isinstance(exc, StarletteHTTPException)
        description = str(exc.detail)
        error: DIDAgentsError
        if exc.status_code == 404:
            error = NotFoundError(description, reason="unknown_endpoint")
        elif exc.status_code == 405:
            error = MethodNotAllowedError(description)
        else:
            error = MalformedError(description, reason="invalid_request")
        await _audit_refusal(issuer, request.scope, error)
        return JSONResponse(
            status_code=exc.status_code,
            content=error.to_dict(),
            headers={"Cache-Control": "no-store", **(exc.headers or {})},
        )

    async def audit_refusal(scope: Scope, error: DIDAgentsError) -> None:
        await _audit_refusal(issuer, scope, error)

    app.add_exception_handler(DIDAgentsError, on_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    for module in (did, agents, users, status, vc_api, audit):
        app.include_router(module.router)
    app.add_middleware(JSONBodyMiddleware, max_depth=settings.max_json_depth, on_refused=audit_refusal)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes, on_refused=audit_refusal)
    return app
