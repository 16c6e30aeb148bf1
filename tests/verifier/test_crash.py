"""SECURITY FLT-01 (crash mid-write, SQLite): the verifier process is killed with SIGKILL while
token exchanges are in flight, at a different point each round, and restarted on the same
database file.

After every kill: ``PRAGMA integrity_check`` is ``ok``; the ``access_tokens`` rows and the
``token_exchange.granted`` events match one to one (same ``jti`` set, no duplicates); every
token a client received has its row, its event and its spent challenge; the audit hash chain
verifies. After the last round a request answered before a crash is refused (its challenge is
still spent). The server is a real uvicorn process (``tests/verifier/crash_server.py``); the
kill points are drawn from a seeded generator, printed on failure.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from did_agents.audit import AuditLog
from did_agents.clock import FixedClock
from did_agents.credentials.verify import build_presentation, sign_presentation
from did_agents.exchange import VP_TOKEN_TYPE
from did_agents.exchange.access_token import create_first_key
from did_agents.keystore import KeyStore, RawKey
from did_agents.storage import Database
from tests.delegation.urban_bites import POLICY, T0, UrbanBites
from tests.exchange.harness import ISSUER, decode_jwt
from tests.verifier.conftest import Live

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")

ROUNDS = 5
REQUESTS_PER_ROUND = 12
CLIENTS = 6
NOW = T0 + timedelta(minutes=1)
REPO = Path(__file__).resolve().parents[2]


class _World(UrbanBites):
    """The Urban Bites cast with credentials that carry no status entry (the server process
    has no status-list publisher to ask)."""

    def status(self) -> Any:
        return None  # the builders leave credentialStatus out


@contextmanager
def server(config: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.verifier.crash_server", str(config)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        port = child.stdout.readline().strip()
        assert port.isdigit(), f"the server did not start (exit code {child.poll()})"
        yield child, f"http://127.0.0.1:{port}"
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()


def bodies_for(base_url: str, world: _World, credentials: list[Any], count: int) -> list[tuple[str, str]]:
    """``count`` (challenge, form body) pairs, each answering a fresh challenge of the server."""
    out = []
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for _ in range(count):
            nonce = client.post("/challenges").json()["challenge"]
            vp = sign_presentation(
                build_presentation(world.ordering.did, credentials),
                key=world.ordering.key,
                verification_method=world.ordering.vm,
                challenge=nonce,
                domain=ISSUER,
                suite="eddsa-jcs-2022",
                clock=FixedClock(NOW),
            )
            out.append((nonce, Live.form((json.dumps(vp), VP_TOKEN_TYPE), scope="orders:read")))
    return out


async def _send_until_killed(
    base_url: str, bodies: list[tuple[str, str]], child: subprocess.Popen[str], kill_after: int
) -> dict[str, str]:
    """Send every body from ``CLIENTS`` connections; SIGKILL the server once ``kill_after``
    answers have arrived. Returns the tokens received: jti → challenge."""
    received: dict[str, str] = {}
    answers = 0
    pending = list(bodies)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}

    def answered() -> None:
        nonlocal answers
        answers += 1
        if answers == kill_after:
            os.kill(child.pid, signal.SIGKILL)

    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:

        async def one_client() -> None:
            while pending:
                nonce, body = pending.pop()
                try:
                    response = await client.post("/oauth/token", content=body, headers=headers)
                except httpx.TransportError:
                    continue  # the process died with this request in flight: its outcome is unknown
                assert response.status_code == 200, response.text
                received[decode_jwt(response.json()["access_token"])[1]["jti"]] = nonce
                answered()

        if kill_after == 0:
            os.kill(child.pid, signal.SIGKILL)
        await asyncio.gather(*(one_client() for _ in range(CLIENTS)))
    return received


def _check_database(path: Path, received: dict[str, str]) -> None:
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        tokens = [jti for (jti,) in raw.execute("SELECT jti FROM access_tokens")]
        granted = [
            json.loads(details)["jti"]
            for (details,) in raw.execute(
                "SELECT details FROM audit_events WHERE type = 'token_exchange.granted'"
            )
        ]
        spent = {nonce for (nonce,) in raw.execute("SELECT nonce FROM challenges WHERE spent_at IS NOT NULL")}
    assert len(set(tokens)) == len(tokens) and sorted(tokens) == sorted(granted)
    assert set(received) <= set(tokens)
    assert set(received.values()) <= spent
    database = Database.connect(f"sqlite:///{path}")
    try:
        with database.read() as conn:
            assert AuditLog(conn, FixedClock(NOW)).verify_chain().ok
    finally:
        database.dispose()


@dataclass
class Setup:
    """A verifier's files on a SQLite database, and a world whose chain it accepts."""

    world: _World
    credentials: list[Any]
    database: Path
    config: Path


def make_setup(tmp_path: Path) -> Setup:
    world = _World()
    credentials = [
        world.entry(c) for c in (world.smith_to_ordering(), world.ordering_acc(), world.smith_role())
    ]
    path = tmp_path / "verifier.db"
    Database.connect(f"sqlite:///{path}", upgrade=True).dispose()
    raw_key = RawKey.generate()
    create_first_key(KeyStore.create(tmp_path / "keys.json", raw_key))
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "base_url": ISSUER,
                "database_url": f"sqlite:///{path}",
                "keystore": str(tmp_path / "keys.json"),
                "keystore_key": raw_key.to_base64url(),
                "policy": POLICY.format(
                    org=world.org.did, mode="intersection", require_role="false", extra=""
                ),
                "now": NOW.isoformat(),
            }
        )
    )
    return Setup(world, credentials, path, config)


def test_sigkill_mid_exchange_loses_no_token_a_client_received(tmp_path: Path) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    setup = make_setup(tmp_path)
    world, credentials, path, config = setup.world, setup.credentials, setup.database, setup.config
    all_received: dict[str, str] = {}
    answered_body: str | None = None
    for round_number in range(ROUNDS):
        kill_after = rng.randrange(REQUESTS_PER_ROUND)
        with server(config) as (child, base_url):
            bodies = bodies_for(base_url, world, credentials, REQUESTS_PER_ROUND)
            received = asyncio.run(_send_until_killed(base_url, bodies, child, kill_after))
            child.wait()
        context = f"seed {seed}, round {round_number}, killed after {kill_after} answers"
        assert child.returncode == -signal.SIGKILL, context
        try:
            _check_database(path, received)
        except AssertionError as failure:
            raise AssertionError(f"{context}: {failure}") from failure
        all_received.update(received)
        answered_body = next((body for nonce, body in bodies if nonce in received.values()), answered_body)

    assert all_received, f"seed {seed}: no exchange was answered in any round"
    assert answered_body is not None
    with server(config) as (_child, base_url), httpx.Client(base_url=base_url, timeout=30) as client:
        replay = client.post(
            "/oauth/token",
            content=answered_body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_request"
    _check_database(path, all_received)
