"""Token-exchange cost: in-process per chain length and format, and over HTTP with one worker.

Run: ``.venv/bin/python -m bench.bench_exchange`` (``--rounds N``, ``--requests N``).
Prints medians and ratios; no pass/fail.

In-process: :meth:`did_agents.exchange.TokenExchange.exchange` on a form body
(parse, challenge check, presentation proof, chain, policy, mint, one SQLite
transaction with the audit event), for chains of 1-4 links
(``bench.bench_chain.build_chain``: N links + N capability credentials, no
status lists) in eddsa-jcs-2022, JOSE (vc+jwt inside a vp+jwt) and
eddsa-rdfc-2022, beside the crypto floor ((links + 2) Ed25519 verifies + 1
sign) measured in the same round. Presentations are signed beforehand (that is
the client's work).

HTTP: a uvicorn server (one worker, uvloop + httptools) in a child process
serving the verifier app plus a hello-world route; one keep-alive client sends
sequential requests. Target: exchanges/s ≥ 80% of
1 / (in-process exchange time + hello-world request time).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.bench_chain import LINKS, MCP, T0, _floor, build_chain
from did_agents.clock import FixedClock
from did_agents.credentials.verify import build_presentation, sign_presentation
from did_agents.did import key as did_key
from did_agents.did.resolver import DIDResolver
from did_agents.exchange import (
    JWT_TOKEN_TYPE,
    VP_TOKEN_TYPE,
    AccessTokenSigner,
    ExchangeConfig,
    TokenExchange,
)
from did_agents.exchange.request import GRANT_TYPE_TOKEN_EXCHANGE
from did_agents.keys import PrivateKey
from did_agents.keystore import KeyStore, RawKey
from did_agents.storage.database import Database

FORMATS = ("eddsa-jcs-2022", "jose", "eddsa-rdfc-2022")
ISSUER = "https://verifier.bench.example"


def _form(token: str, token_type: str) -> bytes:
    return urlencode(
        {
            "grant_type": GRANT_TYPE_TOKEN_EXCHANGE,
            "subject_token": token,
            "subject_token_type": token_type,
            "resource": MCP,
            "scope": "orders:read",
        }
    ).encode()


def _present(entries: list[Any], holder: PrivateKey, nonce: str, suite: str, clock: Any) -> tuple[str, str]:
    did = did_key.create(holder.public_key)
    vp = build_presentation(did, entries)
    secured = sign_presentation(
        vp,
        key=holder,
        verification_method=did_key.verification_method_id(did),
        challenge=nonce,
        domain=ISSUER,
        suite="jose" if suite == "jose" else suite,  # type: ignore[arg-type]
        clock=clock,
    )
    if isinstance(secured, str):
        return secured, JWT_TOKEN_TYPE
    return json.dumps(secured), VP_TOKEN_TYPE


def _policy_text(policy: Any) -> str:
    issuer = policy.trusted_issuers[0].did
    return (
        f'version = 1\n[[trusted_issuers]]\ndid = "{issuer}"\nresources = ["https://mcp.bench.example/"]\n'
        f'[[resources]]\nurl = "{MCP}"\n'
    )


# -- in-process -----------------------------------------------------------------------------


def in_process(rounds: int, workdir: Path) -> dict[tuple[str, int], float]:
    clock = FixedClock(T0 + timedelta(minutes=1))
    resolver = DIDResolver(clock=clock)
    loop = asyncio.new_event_loop()
    database = Database.connect(f"sqlite:///{workdir / 'inproc.db'}", upgrade=True)
    keystore = KeyStore.create(workdir / "inproc-keys.json", RawKey.generate())
    signer = AccessTokenSigner.open(keystore)
    floors = {n: _floor(n) for n in LINKS}
    cases: list[tuple[str, int, TokenExchange, list[Any], PrivateKey]] = []
    for suite in FORMATS:
        for n in LINKS:
            entries, holder_did, policy = build_chain(suite, n, clock)
            holder = _holder_key(entries, holder_did)
            exchange = TokenExchange(
                database=database,
                policy=policy,
                signer=signer,
                resolver=resolver,
                status_source=None,
                clock=clock,
                config=ExchangeConfig(issuer=ISSUER, domain=ISSUER),
            )
            cases.append((suite, n, exchange, entries, holder))

    def prepared(exchange: TokenExchange, entries: list[Any], holder: PrivateKey, suite: str) -> bytes:
        nonce = loop.run_until_complete(exchange.issue_challenge()).nonce
        return _form(*_present(entries, holder, nonce, suite, clock))

    times: dict[tuple[str, int], list[float]] = {(s, n): [] for s, n, *_ in cases}
    floor_times: dict[int, list[float]] = {n: [] for n in LINKS}
    ratios: dict[tuple[str, int], list[float]] = {(s, n): [] for s, n, *_ in cases}
    for suite, _n, exchange, entries, holder in cases:  # warm caches, prove validity
        loop.run_until_complete(exchange.exchange(prepared(exchange, entries, holder, suite)))
    for _ in range(rounds):
        round_floor = {}
        for n in LINKS:
            started = time.perf_counter()
            for _ in range(20):
                floors[n]()
            round_floor[n] = (time.perf_counter() - started) / 20
            floor_times[n].append(round_floor[n])
        for suite, n, exchange, entries, holder in cases:
            body = prepared(exchange, entries, holder, suite)
            started = time.perf_counter()
            loop.run_until_complete(exchange.exchange(body))
            elapsed = time.perf_counter() - started
            times[(suite, n)].append(elapsed)
            ratios[(suite, n)].append(elapsed / round_floor[n])
    writes = []
    for _ in range(50):
        started = time.perf_counter()
        loop.run_until_complete(cases[0][2].issue_challenge())
        writes.append(time.perf_counter() - started)
    print(
        f"in-process exchange medians over {rounds} rounds (µs); floor = (links + 2) Ed25519 verifies + 1 sign"
    )
    print(
        f"(one SQLite write transaction alone, e.g. issuing a challenge: {statistics.median(writes) * 1e6:.0f} µs)"
    )
    print(f"{'format':<17}{'links':>6}{'exchange':>10}{'floor':>8}{'ratio':>8}")
    result = {}
    for suite, n, *_ in cases:
        median = statistics.median(times[(suite, n)])
        result[(suite, n)] = median
        print(
            f"{suite:<17}{n:>6}{median * 1e6:>10.0f}{statistics.median(floor_times[n]) * 1e6:>8.0f}"
            f"{statistics.median(ratios[(suite, n)]):>8.1f}"
        )
    loop.close()
    database.dispose()
    return result


_KEYS: dict[str, PrivateKey] = {}


def _holder_key(entries: list[Any], holder_did: str) -> PrivateKey:
    return _KEYS[holder_did]


def _capture_keys() -> None:
    """bench_chain generates keys internally; remember them so the holder can sign its VP."""
    import bench.bench_chain as chain_module

    original = chain_module.generate

    def generate(*args: Any, **kw: Any) -> PrivateKey:
        key = original(*args, **kw)
        _KEYS[did_key.create(key.public_key)] = key
        return key

    chain_module.generate = generate  # type: ignore[assignment]


# -- HTTP -----------------------------------------------------------------------------------


def serve(config_path: str, port: int) -> None:
    """Child process: the verifier app plus ``GET /hello`` on uvicorn (one worker)."""
    import uvicorn

    from did_agents.policy import parse_policy
    from verifier.app import create_app
    from verifier.settings import VerifierSettings

    config = json.loads(Path(config_path).read_text())
    settings = VerifierSettings(
        base_url=ISSUER,
        database_url=config["database_url"],
        keystore_path=config["keystore"],
        keystore_key=config["keystore_key"],
    )
    # The bench chains are valid around T0; the server's clock stands still there.
    app = create_app(
        settings, policy=parse_policy(config["policy"]), clock=FixedClock(T0 + timedelta(minutes=1))
    )

    @app.get("/hello")
    def hello() -> dict[str, str]:
        return {"hello": "world"}

    uvicorn.run(app, host="127.0.0.1", port=port, loop="uvloop", http="httptools", log_level="warning")


def over_http(requests: int, workdir: Path, inproc_seconds: float) -> None:
    import httpx

    clock = FixedClock(T0 + timedelta(minutes=1))
    entries, holder_did, policy = build_chain("eddsa-jcs-2022", 1, clock)
    holder = _holder_key(entries, holder_did)
    raw = RawKey.generate()
    config = {
        "database_url": f"sqlite:///{workdir / 'http.db'}",
        "keystore": str(workdir / "http-keys.json"),
        "keystore_key": raw.to_base64url(),
        "policy": _policy_text(policy),
    }
    KeyStore.create(workdir / "http-keys.json", raw)
    (workdir / "config.json").write_text(json.dumps(config))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.bench_exchange",
            "--serve",
            str(workdir / "config.json"),
            "--port",
            str(port),
        ],
        env={**os.environ},
    )
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=30) as client:
            deadline = time.monotonic() + 30
            while True:
                try:
                    client.get("/hello")
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            bodies = []
            for _ in range(requests + 20):
                nonce = client.post("/challenges").json()["challenge"]
                bodies.append(_form(*_present(entries, holder, nonce, "eddsa-jcs-2022", clock)))
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            for body in bodies[:20]:  # warm-up
                assert client.post("/oauth/token", content=body, headers=headers).status_code == 200
            started = time.perf_counter()
            for _ in range(requests):
                client.get("/hello")
            hello = (time.perf_counter() - started) / requests
            started = time.perf_counter()
            for body in bodies[20:]:
                response = client.post("/oauth/token", content=body, headers=headers)
                assert response.status_code == 200, response.text
            exchange = (time.perf_counter() - started) / requests
    finally:
        child.terminate()
        child.wait(10)
    target = 1 / (inproc_seconds + hello)
    print(f"HTTP, one worker, {requests} sequential requests (eddsa-jcs-2022, 1 link):")
    print(f"  hello world      {1 / hello:8.0f} req/s  ({hello * 1e6:.0f} µs)")
    print(f"  token exchange   {1 / exchange:8.0f} req/s  ({exchange * 1e6:.0f} µs)")
    print(
        f"  target (80% of 1/(in-process + hello)) {0.8 * target:8.0f} req/s -> {'met' if 1 / exchange >= 0.8 * target else 'NOT met'}"
        f" ({(1 / exchange) / target:.0%} of the bound)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--serve")
    parser.add_argument("--port", type=int)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return
    _capture_keys()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        result = in_process(args.rounds, workdir)
        over_http(args.requests, workdir, result[("eddsa-jcs-2022", 1)])


if __name__ == "__main__":
    main()
