"""Issuer throughput: capability-credential issuance in-process and agent onboarding over HTTP.

Run: ``.venv/bin/python -m bench.bench_issuer [--count N] [--http-count N] [--concurrency C] [--rounds R]``.

Measured in one run, on SQLite (the embedded default), medians per credential:

* **raw**: the work no issuer can avoid — canonicalize a fresh
  AgentCapabilityCredential and its proof configuration, hash, Ed25519-sign
  (``add_proof``, no database). Every sample signs a different credential
  (new id, subject and status indexes), as issuance does, so no
  canonicalization cache is ever hit;
* **issue**: the core issuance function,
  :func:`did_agents.issuance.agents.issue_capability_credential` — build the
  credential from the agent record, allocate its two status indexes, sign,
  store the row — inside an open transaction (no commit per credential).
  Target: ≤ 3 × raw. raw and issue are measured in ``--rounds`` interleaved
  blocks; the ratio printed is the median of the per-block ratios;
* **onboard**: :func:`did_agents.issuance.agents.onboard_agent` end to end
  (validation, key generation, agent row, issuance, audit event) with its own
  commit, once per ``PRAGMA synchronous`` (``FULL``, the default, and
  ``NORMAL``): reported separately, since a durable commit bounds it;
* **HTTP onboarding**: ``POST /agents`` against ``did-agents serve``'s app on
  uvicorn (one worker, uvloop + httptools) in a separate process, driven over
  keep-alive loopback connections with ``--concurrency`` requests in flight,
  once per ``DID_AGENTS_SQLITE_SYNCHRONOUS`` (``FULL``, ``NORMAL``). Target:
  ≥ 300 agents/s. The client is a lean asyncio one (prebuilt request bytes):
  httpx spends about 3 ms of CPU per request, which on a 2-CPU machine would
  measure the client.

All of it for ``eddsa-rdfc-2022`` (the default) and ``eddsa-jcs-2022``.
No pass/fail: the numbers are printed (and recorded in the README).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx

from did_agents.clock import SystemClock
from did_agents.credentials.capability import Capability
from did_agents.issuance.agents import OnboardingRequest, issue_capability_credential, onboard_agent
from did_agents.issuance.context import Actor, Issuer, IssuerConfig
from did_agents.issuance.credentials import agent_capability_credential, new_credential_id
from did_agents.issuance.organization import init_organization
from did_agents.keys import generate
from did_agents.keystore import KeyStore, RawKey
from did_agents.proofs.data_integrity import add_proof
from did_agents.status.bitstring import make_status_entry
from did_agents.storage.database import Database
from did_agents.storage.engine import SQLiteSynchronous, create_engine_for
from did_agents.storage.operators import OperatorRepository

FORMATS = ("eddsa-rdfc-2022", "eddsa-jcs-2022")
SYNCHRONOUS: tuple[SQLiteSynchronous, ...] = ("FULL", "NORMAL")
CAPS = [{"resource": "https://mcp.urbanbites.example/mcp", "scopes": ["orders:read", "orders:create"]}]
BODY = {
    "name": "bench agent",
    "owner": "mailto:team@urbanbites.example",
    "kind": "delegated",
    "capabilities": CAPS,
}


def _setup(directory: Path, base_url: str) -> tuple[Issuer, RawKey, str]:
    key = RawKey.generate()
    clock = SystemClock()
    database = Database.connect(f"sqlite:///{directory / 'did-agents.db'}", upgrade=True)
    keystore = KeyStore.create(directory / "keystore.json", key)
    organization = init_organization(database, keystore, base_url, clock=clock)
    with database.transaction() as conn:
        _, token = OperatorRepository(conn).create("bench", "admin", now=clock.now())
    issuer = Issuer(
        database,
        keystore,
        organization,
        clock=clock,
        config=IssuerConfig(credential_validity=timedelta(days=1)),
    )
    return issuer, key, token


def _fresh_unsigned(issuer: Issuer) -> dict[str, object]:
    now = issuer.clock.now()
    status = [
        make_status_entry(f"{issuer.base_url}/status/0123456789abcdef", secrets.randbelow(131_072), purpose)
        for purpose in ("revocation", "suspension")
    ]
    return agent_capability_credential(
        credential_id=new_credential_id(),
        issuer=issuer.organization.did,
        agent_did="did:key:" + generate().public_key.to_multikey(),
        name="bench agent",
        owner="mailto:team@urbanbites.example",
        kind="delegated",
        capabilities=[Capability(c["resource"], tuple(c["scopes"])) for c in CAPS],  # type: ignore[arg-type]
        delegators=[],
        valid_from=now,
        valid_until=now + timedelta(days=1),
        status=status,
    )


def raw_cost(issuer: Issuer, fmt: str, count: int) -> float:
    """Seconds per credential for canonicalize + hash + sign of a fresh AgentCapabilityCredential."""
    key = issuer.organization.signing_key
    kid = issuer.organization.signing_kid
    samples = []
    for _ in range(count):
        unsigned = _fresh_unsigned(issuer)
        start = time.perf_counter()
        add_proof(unsigned, key=key, verification_method=kid, cryptosuite=fmt)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def issue_cost(issuer: Issuer, fmt: str, count: int) -> float:
    """Seconds per credential through the core issuance function, in one open transaction."""
    actor = Actor("operator:bench", "admin")
    request = OnboardingRequest(
        mode="generate",
        name="bench agent",
        owner="mailto:team@urbanbites.example",
        kind="delegated",
        capabilities=CAPS,
        format=fmt,
    )
    agent = onboard_agent(issuer, request, actor).agent
    samples = []
    with issuer.database.transaction() as conn:
        for _ in range(count):
            start = time.perf_counter()
            issue_capability_credential(conn, issuer, agent, fmt)
            samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def onboard_cost(issuer: Issuer, fmt: str, count: int, synchronous: SQLiteSynchronous) -> float:
    """Seconds per onboarding through the core function, each with its own commit (median)."""
    issuer = Issuer(
        Database(create_engine_for(issuer.database.engine.url, sqlite_synchronous=synchronous)),
        issuer.keystore,
        issuer.organization,
        clock=issuer.clock,
        config=issuer.config,
    )
    actor = Actor("operator:bench", "admin")
    request = OnboardingRequest(
        mode="generate",
        name="bench agent",
        owner="mailto:team@urbanbites.example",
        kind="delegated",
        capabilities=CAPS,
        format=fmt,
    )
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        onboard_agent(issuer, request, actor)
        samples.append(time.perf_counter() - start)
    issuer.database.dispose()
    return statistics.median(samples)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _post(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes]:
    # One HTTP/1.1 exchange on a keep-alive connection (RFC 9112 §6.3: the body is
    # Content-Length bytes; uvicorn answers these JSON responses that way).
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.lower() == "content-length":
            length = int(value)
        elif name.lower() == "transfer-encoding":
            raise RuntimeError("chunked responses are not expected here")
    return status, await reader.readexactly(length)


async def _load(url: str, token: str, fmt: str, count: int, concurrency: int) -> tuple[float, int]:
    """Seconds for ``count`` onboardings over ``concurrency`` keep-alive connections, and the failures.

    A lean client (prebuilt request bytes on asyncio streams): httpx costs
    ~3 ms of CPU per request here, which on a 2-CPU machine would measure the
    client instead of the server.
    """
    host, _, port = url.removeprefix("http://").partition(":")
    payload = json.dumps({**BODY, "format": fmt}).encode()
    request = (
        f"POST /agents HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    ).encode() + payload
    remaining = count
    failures = 0

    async def worker() -> None:
        nonlocal remaining, failures
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while remaining > 0:
                remaining -= 1
                status, _ = await _post(reader, writer, request)
                if status != 201:
                    failures += 1
        finally:
            writer.close()
            await writer.wait_closed()

    reader, writer = await asyncio.open_connection(host, int(port))  # warm-up, and check the answer
    status, answer = await _post(reader, writer, request)
    writer.close()
    await writer.wait_closed()
    if status != 201 or "proof" not in json.loads(answer)["credential"]:
        raise RuntimeError(f"onboarding over HTTP failed: {status} {answer[:200]!r}")
    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start, failures


def http_onboarding(
    directory: Path,
    key: RawKey,
    token: str,
    base_url: str,
    port: int,
    fmt: str,
    count: int,
    concurrency: int,
    synchronous: str,
) -> tuple[float, int]:
    env = {
        **os.environ,
        "DID_AGENTS_SQLITE_SYNCHRONOUS": synchronous,
        "DID_AGENTS_DATA_DIR": str(directory),
        "DID_AGENTS_BASE_URL": base_url,
        "DID_AGENTS_KEYSTORE_KEY": key.to_base64url(),
        "DID_AGENTS_DEFAULT_FORMAT": fmt,
    }
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "did-agents"), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/.well-known/did.json", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the issuer did not start") from None
                time.sleep(0.2)
        elapsed, failures = asyncio.run(_load(f"http://127.0.0.1:{port}", token, fmt, count, concurrency))
        return count / elapsed, failures
    finally:
        server.terminate()
        server.wait(10)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=200, help="in-process issuances per format")
    parser.add_argument("--http-count", type=int, default=1000, help="HTTP onboardings per format")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="interleaved raw/issue blocks per format (median of their ratios)",
    )
    args = parser.parse_args(argv)
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    print(
        f"{'format':16} {'raw µs':>7} {'issue µs':>9} {'ratio':>6}"
        + "".join(f" {'onboard µs ' + mode:>18}" for mode in SYNCHRONOUS)
        + "".join(f" {'HTTP/s ' + mode:>14}" for mode in SYNCHRONOUS)
        + f" {'failed':>6}"
    )
    for fmt in FORMATS:
        with tempfile.TemporaryDirectory() as tmp:
            directory = Path(tmp)
            issuer, key, token = _setup(directory, base_url)
            # Interleaved blocks: a slow spell of the shared machine hits both sides of a ratio.
            raws, issues = [], []
            for _ in range(args.rounds):
                raws.append(raw_cost(issuer, fmt, args.count))
                issues.append(issue_cost(issuer, fmt, args.count))
            raw, issued = statistics.median(raws), statistics.median(issues)
            ratio = statistics.median(i / r for r, i in zip(raws, issues, strict=True))
            onboarded = [onboard_cost(issuer, fmt, args.count, mode) for mode in SYNCHRONOUS]
            issuer.database.dispose()
            rates = []
            failed = 0
            for mode in SYNCHRONOUS:
                rate, failures = http_onboarding(
                    directory, key, token, base_url, port, fmt, args.http_count, args.concurrency, mode
                )
                rates.append(rate)
                failed += failures
            print(
                f"{fmt:16} {raw * 1e6:7.0f} {issued * 1e6:9.0f} {ratio:6.2f}"
                + "".join(f" {seconds * 1e6:18.0f}" for seconds in onboarded)
                + "".join(f" {rate:14.0f}" for rate in rates)
                + f" {failed:6d}",
                flush=True,
            )


if __name__ == "__main__":
    main()
