"""The demo's services on 127.0.0.1: issuer, verifier, the Urban Bites MCP server and smith's status list.

Everything runs in this process on uvicorn (each server in its own thread and
event loop), with one temporary SQLite data directory. Development-only
choices, all local to the demo:

* the MCP server's resource identifier is ``https://mcp.urbanbites.example/mcp`` (capabilities
  name HTTPS resources); the demo serves it at ``http://127.0.0.1:<port>/mcp``;
* the organization is ``did:web:localhost%3A<port>`` (did:web refuses IP addresses);
  did:web requires HTTPS, so the verifier is given :class:`LoopbackWebResolver`, which
  fetches ``http://localhost:<port>/.well-known/did.json`` (never use it elsewhere);
* the verifier's guarded fetcher may reach 127.0.0.1 over plain HTTP (status lists);
* the verifier reads status lists fresh on every exchange (``status_cache_ttl=0``),
  so a revocation shows at once;
* issuer, verifier and MCP server share one database, so the audit trail is one hash chain.
"""

from __future__ import annotations

import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from pydantic import SecretStr

from did_agents.agent import DelegatingUser
from did_agents.clock import SystemClock
from did_agents.did.document import DIDDocument
from did_agents.did.resolver import DIDResolver
from did_agents.did.web import parse as parse_web_did
from did_agents.errors import ResolutionError
from did_agents.fetch import FetchSettings, GuardedFetcher
from did_agents.issuance.context import Issuer, IssuerConfig
from did_agents.issuance.organization import init_organization
from did_agents.keystore import KeyStore, RawKey
from did_agents.policy import parse_policy
from did_agents.storage.database import Database
from did_agents.storage.operators import OperatorRepository
from examples.urban_bites.server import Kitchen, build_app, tool_scopes
from verifier.mcp.app import MCPKit
from verifier.mcp.audit_hook import AuditHook, DatabaseAuditSink

__all__ = ["LOOPBACK", "LoopbackWebResolver", "Services", "start_services"]

RESOURCE = "https://mcp.urbanbites.example/mcp"
LOOPBACK = FetchSettings(
    allow=frozenset({"127.0.0.1", "localhost"}), http_hosts=frozenset({"127.0.0.1", "localhost"}), timeout=5.0
)

POLICY = """
version = 1

[[trusted_issuers]]
did = "{org}"
name = "Urban Bites"
scopes = ["orders:*", "menu:*"]
resources = ["{mcp}"]

[[resources]]
url = "{mcp}"
mode = "intersection"
require_role_credential = false
scopes = ["orders:read", "orders:create", "orders:delete", "menu:read"]
"""


class LoopbackWebResolver:
    """did:web over plain HTTP, for ``127.0.0.1`` only (development; see module docstring)."""

    def __init__(self) -> None:
        self._fetcher = GuardedFetcher(LOOPBACK)

    async def resolve(self, did: str) -> DIDDocument:
        parsed = parse_web_did(did)
        if parsed.host != "localhost":
            raise ResolutionError("the demo resolver only resolves localhost", reason="not_found")
        document = await self._fetcher.fetch_json("http://" + parsed.document_url.removeprefix("https://"))
        if not isinstance(document, dict) or document.get("id") != did:
            raise ResolutionError("DID document id does not match", reason="invalid_did_document")
        return DIDDocument(document)


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()

    def install_signal_handlers(self) -> None:  # the main thread keeps its handlers
        pass


def _bind() -> tuple[socket.socket, str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock, f"http://127.0.0.1:{sock.getsockname()[1]}"


@contextmanager
def _serve(app: Any, sock: socket.socket) -> Iterator[None]:
    config = uvicorn.Config(
        app,
        loop="asyncio",
        http="h11",
        ws="none",
        lifespan="auto",
        log_config=None,
        log_level="error",
        access_log=False,
        timeout_graceful_shutdown=1,
    )
    server = _Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not server.ready.wait(0.02):
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("a demo server did not start")
        yield
    finally:
        server.should_exit = True
        thread.join(5)
        sock.close()


@dataclass
class StatusListApp:
    """Serves the user's signed revocation list (a user publishes it wherever it likes)."""

    user: DelegatingUser
    path: str

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        import json

        if scope["type"] != "http":
            return
        if scope["path"] != self.path:
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        body = json.dumps(self.user.status_list_credential()).encode()
        headers = [(b"content-type", b"application/vc+ld+json"), (b"cache-control", b"no-store")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


@dataclass
class Services:
    data_dir: Path
    issuer_url: str
    verifier_url: str
    mcp_url: str  # where the MCP endpoint is served
    resource: str  # its resource identifier (token audience)
    status_url: str
    organization: str
    admin_token: str = field(repr=False)
    auditor_token: str = field(repr=False)
    database: Database
    kitchen: Kitchen
    smith: DelegatingUser

    @property
    def urls(self) -> dict[str, str]:
        return {
            "issuer": self.issuer_url,
            "verifier": self.verifier_url,
            "Urban Bites MCP": self.mcp_url,
            "smith's status list": self.status_url,
        }


@contextmanager
def start_services(data_dir: Path | None = None) -> Iterator[Services]:
    """Start everything (module docstring); stop it and remove the data directory on exit."""
    from issuer.app import create_app as create_issuer
    from issuer.settings import IssuerSettings
    from verifier.app import create_app as create_verifier
    from verifier.settings import VerifierSettings

    with ExitStack() as stack:
        if data_dir is None:
            data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="did-agents-demo-")))
        clock = SystemClock()
        issuer_sock, issuer_loopback = _bind()
        issuer_url = issuer_loopback.replace("127.0.0.1", "localhost")
        verifier_sock, verifier_url = _bind()
        mcp_sock, mcp_base = _bind()
        status_sock, status_base = _bind()
        mcp_url = mcp_base + "/mcp"
        resource = RESOURCE
        raw = RawKey.generate()
        database = Database.connect(f"sqlite:///{data_dir / 'did-agents.db'}", upgrade=True)
        stack.callback(database.dispose)
        keystore = KeyStore.create(data_dir / "keystore.json", raw, clock=clock)
        organization = init_organization(database, keystore, issuer_url, clock=clock)
        roles = {"staff": [{"resource": resource, "scopes": ["orders:*", "menu:read"]}]}
        issuer = Issuer(
            database, keystore, organization, clock=clock, config=IssuerConfig(role_capabilities=roles)
        )
        with database.transaction() as conn:
            operators = OperatorRepository(conn)
            _, admin_token = operators.create("platform", "admin", now=clock.now())
            _, auditor_token = operators.create("auditor", "auditor", now=clock.now())
        issuer_app = create_issuer(
            IssuerSettings(
                base_url=issuer_url,
                data_dir=data_dir,
                keystore_key=SecretStr(raw.to_base64url()),
                role_capabilities=roles,
            ),
            issuer=issuer,
        )
        policy = parse_policy(POLICY.format(org=organization.did, mcp=resource))
        verifier_app = create_verifier(
            VerifierSettings(
                base_url=verifier_url,
                data_dir=data_dir,
                keystore_key=SecretStr(raw.to_base64url()),
                status_cache_ttl=0,
                did_cache_ttl=0,
            ),
            database=database,
            keystore=keystore,
            policy=policy,
            clock=clock,
            resolver=DIDResolver(methods={"web": LoopbackWebResolver()}, clock=clock),
            fetcher=GuardedFetcher(LOOPBACK),
        )
        kit = MCPKit(
            issuer=verifier_url,
            resource=resource,
            jwks_url=verifier_url + "/.well-known/jwks.json",
            scopes=tool_scopes(),
            audit=AuditHook(DatabaseAuditSink(database, clock)),
            clock=clock,
            fetch_settings=LOOPBACK,
        )
        mcp_app, kitchen = build_app(kit)
        smith = DelegatingUser(status_url=status_base + "/status/smith", clock=clock)
        status_app = StatusListApp(smith, "/status/smith")
        for app, sock in (
            (issuer_app, issuer_sock),
            (verifier_app, verifier_sock),
            (mcp_app, mcp_sock),
            (status_app, status_sock),
        ):
            stack.enter_context(_serve(app, sock))
        yield Services(
            data_dir=data_dir,
            issuer_url=issuer_url,
            verifier_url=verifier_url,
            mcp_url=mcp_url,
            resource=resource,
            status_url=smith.status_url or "",
            organization=organization.did,
            admin_token=admin_token,
            auditor_token=auditor_token,
            database=database,
            kitchen=kitchen,
            smith=smith,
        )
