"""Issuer throughput: capability-credential issuance in-process and agent onboarding over HTTP.

Run: ``.venv/bin/python -m bench.bench_issuer [--count N] [--http-count N] [--concurrency C]``.

Measured in one run, on SQLite (the embedded default), with the raw signing
cost beside it:

* **raw**: per credential, the work no issuer can avoid — canonicalize the
  credential and the proof configuration, hash, Ed25519-sign (``add_proof`` on
  the same AgentCapabilityCredential shape, no database);
* **in-process issuance**: :func:`did_agents.issuance.agents.onboard_agent`
  end to end (validation, status allocation, signing, storage, audit event, all
  in one SQLite transaction). Target: ≤ 3 × raw;
* **HTTP onboarding**: ``POST /agents`` against ``did-agents serve``'s app on
  uvicorn (one worker, uvloop + httptools) in a separate process, driven by an
  ``httpx.AsyncClient`` with bounded concurrency on loopback. Target: ≥ 300
  agents/s.

Both are run for ``eddsa-rdfc-2022`` (the default) and ``eddsa-jcs-2022``.
No pass/fail: the numbers are printed (and recorded in the README).
"""

from __future__ import annotations

import argparse
import asyncio
import os
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
from did_agents.issuance.agents import OnboardingRequest, onboard_agent
from did_agents.issuance.context import Actor, Issuer, IssuerConfig
from did_agents.issuance.credentials import agent_capability_credential, new_credential_id
from did_agents.issuance.organization import init_organization
from did_agents.keys import generate
from did_agents.keystore import KeyStore, RawKey
from did_agents.proofs.data_integrity import add_proof
from did_agents.status.bitstring import make_status_entry
from did_agents.storage.database import Database
from did_agents.storage.operators import OperatorRepository

FORMATS = ("eddsa-rdfc-2022", "eddsa-jcs-2022")
CAPS = [{"resource": "https://mcp.urbanbites.example/mcp", "scopes": ["orders:read", "orders:create"]}]
BODY = {"name": "bench agent", "owner": "mailto:team@urbanbites.example", "kind": "delegated", "capabilities": CAPS}


def _setup(directory: Path, base_url: str) -> tuple[Issuer, RawKey, str]:
    key = RawKey.generate()
    clock = SystemClock()
    database = Database.connect(f"sqlite:///{directory / 'did-agents.db'}", upgrade=True)
    keystore = KeyStore.create(directory / "keystore.json", key)
    organization = init_organization(database, keystore, base_url, clock=clock)
    with database.transaction() as conn:
        _, token = OperatorRepository(conn).create("bench", "admin", now=clock.now())
    issuer = Issuer(database, keystore, organization, clock=clock, config=IssuerConfig(credential_validity=timedelta(days=1)))
    return issuer, key, token


def raw_cost(issuer: Issuer, fmt: str, count: int) -> float:
    """Seconds per credential for canonicalize + hash + sign of one AgentCapabilityCredential."""
    agent_did = "did:key:" + generate().public_key.to_multikey()
    status = [make_status_entry(f"{issuer.base_url}/status/0123456789abcdef", 94567, p) for p in ("revocation", "suspension")]
    now = issuer.clock.now()
    unsigned = agent_capability_credential(
        credential_id=new_credential_id(),
        issuer=issuer.organization.did,
        agent_did=agent_did,
        name="bench agent",
        owner="mailto:team@urbanbites.example",
        kind="delegated",
        capabilities=[Capability(c["resource"], tuple(c["scopes"])) for c in CAPS],  # type: ignore[arg-type]
        delegators=[],
        valid_from=now,
        valid_until=now + timedelta(days=1),
        status=status,
    )
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        add_proof(unsigned, key=issuer.organization.signing_key, verification_method=issuer.organization.signing_kid, cryptosuite=fmt)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def in_process(issuer: Issuer, fmt: str, count: int) -> float:
    """Seconds per onboarding through the core function (median)."""
    actor = Actor("operator:bench", "admin")
    request = OnboardingRequest(mode="generate", name="bench agent", owner="mailto:team@urbanbites.example", kind="delegated", capabilities=CAPS, format=fmt)
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        onboard_agent(issuer, request, actor)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _load(url: str, token: str, fmt: str, count: int, concurrency: int) -> tuple[float, int]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    body = {**BODY, "format": fmt}
    failures = 0
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, limits=limits, timeout=60) as client:
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(count):
            queue.put_nowait(i)

        async def worker() -> None:
            nonlocal failures
            while not queue.empty():
                queue.get_nowait()
                response = await client.post("/agents", json=body)
                if response.status_code != 201:
                    failures += 1

        await client.post("/agents", json=body)  # warm-up
        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - start, failures


def http_onboarding(directory: Path, key: RawKey, token: str, base_url: str, port: int, fmt: str, count: int, concurrency: int) -> tuple[float, int]:
    env = {
        **os.environ,
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
    args = parser.parse_args(argv)
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    print(f"{'format':18} {'raw µs':>9} {'in-process µs':>14} {'ratio':>6} {'HTTP agents/s':>14} {'failed':>6}")
    for fmt in FORMATS:
        with tempfile.TemporaryDirectory() as tmp:
            directory = Path(tmp)
            issuer, key, token = _setup(directory, base_url)
            raw = raw_cost(issuer, fmt, args.count)
            issued = in_process(issuer, fmt, args.count)
            issuer.database.dispose()
            rate, failures = http_onboarding(directory, key, token, base_url, port, fmt, args.http_count, args.concurrency)
            print(f"{fmt:18} {raw * 1e6:9.0f} {issued * 1e6:14.0f} {issued / raw:6.2f} {rate:14.0f} {failures:6d}")


if __name__ == "__main__":
    main()

