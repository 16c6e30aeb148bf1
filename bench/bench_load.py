"""Sustained mixed load on one verifier worker (SECURITY FLT-10, shortened by default).

Run: ``.venv/bin/python -m bench.bench_load [--seconds 30] [--rps 200] [--db-dir DIR]``
(FLT-10 asks for 30 minutes: ``--seconds 1800``). Prints latency medians and p99 per
operation beside a hello-world route measured at the same rate on the same server, the
answers by status (any 5xx is a failure to look at), and the server's resident memory over
the run (it should stay flat). No pass/fail.

The server is the verifier app plus an ``async`` ``GET /hello`` on uvicorn (one worker,
uvloop + httptools) in a child process, on a SQLite file (``synchronous=FULL``). The mix:

* 60 % token exchanges — ``POST /challenges``, the client signs an eddsa-jcs-2022
  presentation of a 1-link chain, ``POST /oauth/token`` (the latency is the token request's);
* 35 % ``POST /oauth/introspect`` of a token minted earlier in the run (what a resource
  server without local JWT validation does; an operator token authenticates it);
* 5 % ``GET /.well-known/jwks.json``.

Requests start on a fixed schedule (open loop, ``--rps``), so a slow answer does not slow
the offered load; the client runs on the same machine and its signing shares the CPUs.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx

from bench.bench_chain import build_chain
from bench.bench_exchange import CLOCK, _capture_keys, _form, _present, served_verifier
from did_agents.storage.database import Database
from did_agents.storage.operators import OperatorRepository

MIX = (("exchange", 0.60), ("introspect", 0.35), ("jwks", 0.05))


def _rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


class Load:
    def __init__(self, base: str, operator_token: str, holder: Any, entries: list[Any]) -> None:
        self.base, self.holder, self.entries = base, holder, entries
        self.auth = {"Authorization": f"Bearer {operator_token}"}
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.statuses: Counter[tuple[str, int]] = Counter()
        self.tokens: list[str] = []

    async def exchange(self, client: httpx.AsyncClient) -> None:
        nonce = (await client.post("/challenges")).json()["challenge"]
        body = _form(*_present(self.entries, self.holder, nonce, "eddsa-jcs-2022"))
        started = time.perf_counter()
        response = await client.post(
            "/oauth/token", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        self._record("exchange", started, response.status_code)
        if response.status_code == 200:
            self.tokens.append(response.json()["access_token"])
            del self.tokens[:-1000]

    async def introspect(self, client: httpx.AsyncClient) -> None:
        if not self.tokens:
            await self.exchange(client)
            return
        started = time.perf_counter()
        response = await client.post(
            "/oauth/introspect", data={"token": random.choice(self.tokens)}, headers=self.auth
        )
        self._record("introspect", started, response.status_code)

    async def jwks(self, client: httpx.AsyncClient) -> None:
        started = time.perf_counter()
        response = await client.get("/.well-known/jwks.json")
        self._record("jwks", started, response.status_code)

    async def hello(self, client: httpx.AsyncClient) -> None:
        started = time.perf_counter()
        response = await client.get("/hello")
        self._record("hello", started, response.status_code)

    def _record(self, name: str, started: float, status: int) -> None:
        self.latency[name].append(time.perf_counter() - started)
        self.statuses[(name, status)] += 1


async def _run(load: Load, seconds: float, rps: float, *, baseline: bool, pid: int) -> list[int]:
    """Start requests on a fixed schedule for ``seconds``; sample the server's RSS every 5 s."""
    rss: list[int] = []
    operations = [getattr(load, name) for name, _ in MIX]
    weights = [share for _, share in MIX]
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=load.base, timeout=60, limits=limits) as client:
        pending: set[asyncio.Task[None]] = set()
        start = time.monotonic()
        next_sample = start
        sent = 0
        while (now := time.monotonic()) - start < seconds:
            if now >= next_sample:
                sample = _rss_kib(pid)
                if sample is not None:
                    rss.append(sample)
                next_sample += 5
            due = int((now - start) * rps) + 1
            while sent < due:
                operation = load.hello if baseline else random.choices(operations, weights)[0]
                task = asyncio.create_task(operation(client))
                pending.add(task)
                task.add_done_callback(pending.discard)
                sent += 1
            await asyncio.sleep(max(0.0, start + sent / rps - time.monotonic()))
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
    return rss


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rps", type=float, default=200.0)
    parser.add_argument("--db-dir", help="where the SQLite file goes")
    args = parser.parse_args(argv if argv is not None else [])
    _capture_keys()
    from bench.bench_exchange import _KEYS

    with tempfile.TemporaryDirectory(dir=args.db_dir) as tmp:
        workdir = Path(tmp)
        entries, holder_did, policy = build_chain("eddsa-jcs-2022", 1, CLOCK)
        url = f"sqlite:///{workdir / 'load.db'}"
        database = Database.connect(url, upgrade=True)
        with database.transaction() as conn:
            _, operator_token = OperatorRepository(conn).create("load", "auditor", now=CLOCK.now())
        database.dispose()
        with served_verifier(workdir, url, policy) as (child, base):
            load = Load(base, operator_token, _KEYS[holder_did], entries)
            asyncio.run(_run(load, min(5.0, args.seconds), args.rps, baseline=True, pid=child.pid))
            rss = asyncio.run(_run(load, args.seconds, args.rps, baseline=False, pid=child.pid))
    _report(load, rss, args)


def _report(load: Load, rss: list[int], args: argparse.Namespace) -> None:
    hello = load.latency["hello"]
    print(
        f"mixed load on one verifier worker: {args.rps:.0f} requests/s offered for {args.seconds:.0f} s"
        " (60 % exchange, 35 % introspection, 5 % JWKS); latency in ms; ratio = p50 / hello p50"
    )
    print(f"{'operation':<12}{'count':>8}{'p50':>9}{'p99':>9}{'max':>9}{'ratio':>8}")
    hello_p50 = statistics.median(hello) if hello else float("nan")
    for name in ("hello", "exchange", "introspect", "jwks"):
        values = load.latency.get(name, [])
        if not values:
            continue
        p50 = statistics.median(values)
        print(
            f"{name:<12}{len(values):>8}{p50 * 1e3:>9.2f}{_percentile(values, 0.99) * 1e3:>9.2f}"
            f"{max(values) * 1e3:>9.2f}{p50 / hello_p50:>8.1f}"
        )
    answers = ", ".join(f"{name} {status}: {n}" for (name, status), n in sorted(load.statuses.items()))
    print(f"answers: {answers}")
    errors = sum(n for (_, status), n in load.statuses.items() if status >= 500)
    print(f"5xx answers: {errors}")
    if rss:
        print(
            f"server RSS: {rss[0] / 1024:.1f} MiB at the start, {rss[-1] / 1024:.1f} MiB at the end, max {max(rss) / 1024:.1f} MiB"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
