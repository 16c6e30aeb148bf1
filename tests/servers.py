"""Real servers for wire tests: any ASGI app on uvicorn, 127.0.0.1, an ephemeral port.

Usage::

    from tests.servers import client_ssl_context, run_server

    with run_server(app) as base_url:              # http://127.0.0.1:<port>
        ...
    with run_server(app, ssl=True) as base_url:    # https://127.0.0.1:<port>
        httpx.get(base_url + "/x", verify=client_ssl_context())

With ``ssl=True`` the server presents a certificate issued by a throw-away CA
made once per test process (:func:`local_ca`). The certificate is valid for
``localhost``, ``did-agents.test``, ``*.did-agents.test``, ``127.0.0.1`` and
``::1`` (:data:`TLS_HOSTNAMES`); only clients given :func:`client_ssl_context`
trust it. The server runs in a background thread with its own event loop and
is stopped (lifespan shutdown included) when the ``with`` block ends.
"""

from __future__ import annotations

import atexit
import datetime
import functools
import ipaddress
import shutil
import socket
import ssl as ssl_module
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "TLS_HOSTNAMES",
    "LocalCA",
    "StaticResolver",
    "StubApp",
    "client_ssl_context",
    "endless",
    "guard_connections",
    "local_ca",
    "run_server",
    "stall",
    "static",
    "trickle",
]

TLS_HOSTNAMES = ("localhost", "did-agents.test", "*.did-agents.test", "127.0.0.1", "::1")
_STARTUP_TIMEOUT = 10.0


@dataclass(frozen=True)
class LocalCA:
    """A throw-away CA and one server certificate it issued (PEM files on disk)."""

    ca_pem: bytes
    ca_file: Path
    server_cert_file: Path
    server_key_file: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@functools.cache
def local_ca() -> LocalCA:
    """Make (once per process) a CA and a server certificate for :data:`TLS_HOSTNAMES`."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("did-agents test CA"))
        .issuer_name(_name("did-agents test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in TLS_HOSTNAMES:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("did-agents.test"))
        .issuer_name(ca_cert.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    directory = Path(tempfile.mkdtemp(prefix="did-agents-test-ca-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    ca_file = directory / "ca.pem"
    ca_file.write_bytes(ca_pem)
    cert_file = directory / "server.pem"
    cert_file.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    key_file = directory / "server-key.pem"
    key_file.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)
    return LocalCA(ca_pem, ca_file, cert_file, key_file)


def client_ssl_context() -> ssl_module.SSLContext:
    """A verifying client context that trusts only the :func:`local_ca`."""
    return ssl_module.create_default_context(cadata=local_ca().ca_pem.decode("ascii"))


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()


@contextmanager
def run_server(app: Any, *, ssl: bool = False) -> Iterator[str]:
    """Serve ``app`` with uvicorn on 127.0.0.1 (ephemeral port); yield the base URL."""
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted sockets only when the
    # protocol says TCP; with proto 0 every keep-alive response waits ~40 ms (Nagle + delayed ACK).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    tls: dict[str, Any] = {}
    if ssl:
        ca = local_ca()
        tls = {"ssl_certfile": str(ca.server_cert_file), "ssl_keyfile": str(ca.server_key_file)}
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        loop="asyncio",
        http="h11",
        ws="none",
        lifespan="auto",
        log_config=None,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=2,
        **tls,
    )
    server = _Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while not server.ready.wait(0.02):
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("test server did not start")
        yield f"{'https' if ssl else 'http'}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(_STARTUP_TIMEOUT)
        sock.close()


# -- a scriptable ASGI app for client-side wire tests -------------------------------------------

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Responder = Callable[[Scope, Receive, Send], Awaitable[None]]


class StubApp:
    """An ASGI app answering each path with a scripted responder; counts and records requests.

    ``hits[path]`` counts requests per path; ``requests`` keeps each request's
    scope (headers included). Unknown paths get 404.
    """

    def __init__(self, routes: dict[str, Responder] | None = None) -> None:
        self.routes: dict[str, Responder] = dict(routes or {})
        self.hits: Counter[str] = Counter()
        self.requests: list[Scope] = []

    def header(self, index: int, name: str) -> str | None:
        """Header ``name`` of the ``index``-th recorded request."""
        wanted = name.lower().encode("latin-1")
        for key, value in self.requests[index]["headers"]:
            if key == wanted:
                return bytes(value).decode("latin-1")
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        self.hits[scope["path"]] += 1
        self.requests.append(scope)
        responder = self.routes.get(
            scope["path"], static(b"not found", status=404, content_type="text/plain")
        )
        await responder(scope, receive, send)


def _start(status: int, content_type: str | None, headers: Iterable[tuple[str, str]]) -> dict[str, Any]:
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    if content_type is not None:
        raw.append((b"content-type", content_type.encode("latin-1")))
    return {"type": "http.response.start", "status": status, "headers": raw}


def static(
    body: bytes | str,
    *,
    status: int = 200,
    content_type: str | None = "application/json",
    headers: Iterable[tuple[str, str]] = (),
) -> Responder:
    """Answer with a fixed body (``Content-Length`` set)."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    extra = [*headers, ("content-length", str(len(data)))]

    async def responder(scope: Scope, receive: Receive, send: Send) -> None:
        await send(_start(status, content_type, extra))
        await send({"type": "http.response.body", "body": data})

    return responder


async def _until_disconnect(receive: Receive, work: Callable[[], Awaitable[None]]) -> None:
    async with anyio.create_task_group() as group:

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            group.cancel_scope.cancel()

        group.start_soon(watch)
        await work()
        group.cancel_scope.cancel()


def stall() -> Responder:
    """Never answer (not even the status line) until the client goes away."""

    async def responder(scope: Scope, receive: Receive, send: Send) -> None:
        await _until_disconnect(receive, anyio.sleep_forever)

    return responder


def trickle(*, interval: float = 0.05, content_type: str = "application/json") -> Responder:
    """Send headers, then one byte every ``interval`` seconds, forever (slowloris)."""

    async def responder(scope: Scope, receive: Receive, send: Send) -> None:
        async def work() -> None:
            await send(_start(200, content_type, ()))
            while True:
                await send({"type": "http.response.body", "body": b" ", "more_body": True})
                await anyio.sleep(interval)

        await _until_disconnect(receive, work)

    return responder


def endless(*, chunk: int = 16 * 1024, content_type: str = "application/json") -> Responder:
    """A chunked body without ``Content-Length`` that never ends."""

    async def responder(scope: Scope, receive: Receive, send: Send) -> None:
        async def work() -> None:
            await send(_start(200, content_type, ()))
            block = b" " * chunk
            while True:
                await send({"type": "http.response.body", "body": block, "more_body": True})
                await anyio.sleep(0)

        await _until_disconnect(receive, work)

    return responder


# -- network doubles for the guarded fetcher ------------------------------------------------------


class StaticResolver:
    """A ``did_agents.fetch.HostResolver`` with fixed answers; records every name it was asked."""

    def __init__(self, answers: dict[str, Sequence[str]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def resolve(self, host: str, port: int) -> Sequence[ipaddress.IPv4Address | ipaddress.IPv6Address]:
        self.asked.append(host)
        return [ipaddress.ip_address(a) for a in self.answers.get(host, ())]


def guard_connections(monkeypatch: Any) -> list[Any]:
    """Make every outgoing TCP connect in this process fail, and record its address.

    Pass pytest's ``monkeypatch``; the returned list stays empty if nothing tried to connect.
    """
    attempts: list[Any] = []

    def guard(self: socket.socket, address: Any) -> Any:
        attempts.append(address)
        raise ConnectionRefusedError("socket guard: no connections in this test")

    monkeypatch.setattr(socket.socket, "connect", guard)
    monkeypatch.setattr(socket.socket, "connect_ex", guard)
    return attempts
