"""The verifier service: ``create_app(settings)`` builds the FastAPI application.

Routes (one module per resource under ``verifier/routes``): ``POST /challenges``,
``POST /oauth/token`` (RFC 8693), ``POST /oauth/introspect`` (RFC 7662),
``GET /.well-known/jwks.json``, ``GET /.well-known/oauth-authorization-server``
(RFC 8414), ``POST /credentials/verify`` and ``POST /presentations/verify``
(W3C VC API). Each is thin: the logic is in :mod:`did_agents.exchange`.

Start-up opens the database, the encrypted key store (never created here:
DESIGN §9) and the policy file; a key store without any access-token key gets
its first one, a store whose access-token keys are all retired stops start-up.

:func:`with_verifier` puts the verifier beside the issuer in one ASGI app
(``did-agents serve``): verifier paths go to the verifier, the rest to the
issuer, and revocations made by that issuer are seen by the verifier at once
(its status lists are read from the database, and read again inside the
transaction that mints a token: SECURITY FLT-04).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from did_agents import strict_json
from did_agents.asgi import ASGIApp, BodyLimitMiddleware, Receive, Scope, Send, error_headers
from did_agents.clock import Clock, SystemClock
from did_agents.did.resolver import DIDResolver, Resolver
from did_agents.did.web import WebResolver
from did_agents.errors import DIDAgentsError, InvalidClientError, MalformedError
from did_agents.exchange import (
    AccessTokenSigner,
    DatabaseStatusRecheck,
    ExchangeConfig,
    StatusListSource,
    StatusRecheck,
    TokenExchange,
    fetch_status_list,
)
from did_agents.fetch import FetchSettings, GuardedFetcher
from did_agents.keystore import KeyStore
from did_agents.policy import Policy, load_policy
from did_agents.storage.database import Database
from verifier.deps import Verifier
from verifier.routes import audit, challenges, introspect, jwks, metadata, token, vc_api
from verifier.settings import VerifierSettings

__all__ = ["VERIFIER_PATHS", "create_app", "with_verifier"]

_log = logging.getLogger(__name__)
REALM = "did-agents"

LocalStatus = Callable[[str], Awaitable[Mapping[str, Any] | str | None]]

OAUTH_TOKEN_PATH: Final = "/oauth/token"  # noqa: S105 (a URL path, not a secret)

#: The paths the verifier answers when it shares a server with the issuer.
VERIFIER_PATHS: Final = frozenset(
    {
        "/challenges",
        OAUTH_TOKEN_PATH,
        "/oauth/introspect",
        "/.well-known/jwks.json",
        "/.well-known/oauth-authorization-server",
        "/credentials/verify",
        "/presentations/verify",
    }
)
#: Paths both services serve, told apart by method: the issuer reads the audit
#: trail (``GET``), the verifier takes tool-call events from MCP servers (``POST``).
VERIFIER_METHOD_PATHS: Final = frozenset({("POST", "/audit/events")})


def _error_response(exc: DIDAgentsError) -> JSONResponse:
    headers = error_headers(exc, realm=REALM)
    if isinstance(exc, InvalidClientError):
        # RFC 6749 §5.2: 401 invalid_client carries the scheme the client should use.
        headers["WWW-Authenticate"] = f'Bearer realm="{REALM}"'
    return JSONResponse(status_code=exc.status_code, content=exc.to_dict(), headers=headers)


def _default_resolver(settings: VerifierSettings, clock: Clock, fetcher: GuardedFetcher) -> DIDResolver:
    return DIDResolver(
        methods={"web": WebResolver(fetcher)}, clock=clock, ttl=timedelta(seconds=settings.did_cache_ttl)
    )


def create_app(
    settings: VerifierSettings | None = None,
    *,
    database: Database | None = None,
    keystore: KeyStore | None = None,
    policy: Policy | None = None,
    clock: Clock | None = None,
    resolver: Resolver | None = None,
    status_source: StatusListSource | None = None,
    local_status: LocalStatus | None = None,
    status_recheck: StatusRecheck | None = None,
    fetcher: GuardedFetcher | None = None,
) -> FastAPI:
    """The verifier ASGI app. Anything not given is built from ``settings`` now, so a bad
    key store or policy fails here, not on the first request."""
    settings = settings or VerifierSettings()
    clock = clock or SystemClock()
    database = database or Database.connect(settings.resolved_database_url, upgrade=True)
    if keystore is None:
        keystore = KeyStore.open(settings.resolved_keystore_path, settings.keystore_secret())
    if policy is None:
        policy = load_policy(settings.resolved_policy_path)
    fetcher = fetcher or GuardedFetcher(FetchSettings(allow=frozenset(settings.fetch_allow)))
    resolver = resolver or _default_resolver(settings, clock, fetcher)
    if status_source is None:
        guarded = fetcher

        async def fetch(url: str) -> Mapping[str, Any] | str:
            return await fetch_status_list(guarded, url)

        status_source = StatusListSource(
            fetch, clock=clock, ttl=timedelta(seconds=settings.status_cache_ttl), local=local_status
        )
    signer = AccessTokenSigner.open(keystore, algorithm=settings.token_algorithm)
    exchange = TokenExchange(
        database=database,
        policy=policy,
        signer=signer,
        resolver=resolver,
        status_source=status_source,
        status_recheck=status_recheck,
        clock=clock,
        config=ExchangeConfig(
            issuer=settings.resolved_issuer_url,
            domain=settings.resolved_domain,
            max_token_lifetime=timedelta(seconds=settings.max_token_lifetime),
            challenge_ttl=timedelta(seconds=settings.challenge_ttl_seconds),
            actor_token_max_lifetime=timedelta(seconds=settings.actor_token_max_lifetime),
            require_actor_token=settings.require_actor_token,
        ),
    )
    app = FastAPI(
        title="did-agents verifier",
        version="0.1.0",
        description=(
            "Challenges, RFC 8693 token exchange of Verifiable Presentations for RFC 9068 access "
            "tokens, JWKS, RFC 8414 metadata, RFC 7662 introspection and W3C VC API verification."
        ),
    )
    app.state.settings = settings
    app.state.verifier = Verifier(
        settings=settings, exchange=exchange, resolver=resolver, status_source=status_source, clock=clock
    )

    async def on_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DIDAgentsError)
        if exc.status_code >= 500:
            _log.error("verifier error %r", exc)
        return _error_response(exc)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return _error_response(MalformedError("invalid request", reason="invalid_request"))

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = "not_found" if exc.status_code == 404 else "invalid_request"
        return JSONResponse(
            status_code=exc.status_code,
            content={"error": code, "error_description": str(exc.detail)},
            headers={"Cache-Control": "no-store", **(exc.headers or {})},
        )

    app.add_exception_handler(DIDAgentsError, on_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    for module in (challenges, token, introspect, jwks, metadata, vc_api, audit):
        app.include_router(module.router)

    async def on_refused(scope: Scope, error: DIDAgentsError) -> None:
        # A token request refused before the exchange read it is still a denied exchange.
        if scope.get("path") == OAUTH_TOKEN_PATH:
            await exchange.record_refusal(error)

    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes, on_refused=on_refused)
    return app


class _PathDispatch:
    """Send verifier paths to the verifier app and everything else (lifespan included) to the issuer."""

    def __init__(self, issuer_app: ASGIApp, verifier_app: ASGIApp) -> None:
        self.issuer_app = issuer_app
        self.verifier_app = verifier_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (
            scope.get("path") in VERIFIER_PATHS
            or (scope.get("method"), scope.get("path")) in VERIFIER_METHOD_PATHS
        ):
            await self.verifier_app(scope, receive, send)
        else:
            await self.issuer_app(scope, receive, send)


def _issuer_status(issuer: Any) -> LocalStatus:
    """Status lists of the co-hosted issuer, read from its database on every request."""
    from did_agents.issuance.status import publish_status_list

    prefix = f"{issuer.base_url}/status/"

    async def local(url: str) -> Mapping[str, Any] | str | None:
        if not url.startswith(prefix):
            return None
        published = await run_in_threadpool(publish_status_list, issuer, url[len(prefix) :])
        document = strict_json.loads(published.body)
        if not isinstance(document, dict):
            return published.body
        return document

    return local


def with_verifier(issuer_app: FastAPI, settings: VerifierSettings | None = None, **overrides: Any) -> Any:
    """The issuer app with the verifier beside it (``did-agents serve``).

    Shares the issuer's database, key store and clock. Without a policy file
    (``DID_AGENTS_POLICY_PATH``, default ``<data_dir>/policy.toml``) the
    verifier cannot decide anything, so only the issuer is served (logged).
    ``overrides`` go to :func:`create_app` (e.g. a test ``resolver``).
    """
    issuer = issuer_app.state.issuer
    issuer_settings = issuer_app.state.settings
    settings = settings or VerifierSettings(
        base_url=issuer_settings.base_url, data_dir=issuer_settings.data_dir
    )
    if not settings.resolved_policy_path.exists():
        _log.warning("no verifier policy at %s: serving the issuer only", settings.resolved_policy_path)
        return issuer_app
    verifier_app = create_app(
        settings,
        database=issuer.database,
        keystore=issuer.keystore,
        clock=issuer.clock,
        local_status=_issuer_status(issuer),
        # SECURITY FLT-04: the co-hosted issuer's status bits are read again in the mint transaction.
        status_recheck=DatabaseStatusRecheck(f"{issuer.base_url}/status/"),
        **overrides,
    )
    return _PathDispatch(issuer_app, verifier_app)
