"""SECURITY FLT-05 across processes: two verifier processes on one SQLite file (as with
``uvicorn --workers 2``) receive fifty copies of one request between them — exactly one token,
every other copy refused with 400 ``invalid_request``, never a 5xx (``database is locked``
must not surface), one token row and one granted event.

This is the path where a process's inline write meets the other process's write lock and
hands its transaction to a worker thread that waits for it (``Database.run_async``).
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import httpx

from tests.verifier.test_crash import bodies_for, make_setup, server


def test_fifty_copies_split_between_two_processes_mint_one_token(tmp_path: Path) -> None:
    setup = make_setup(tmp_path)
    with server(setup.config) as (_first, first_url), server(setup.config) as (_second, second_url):
        [(_nonce, body)] = bodies_for(first_url, setup.world, setup.credentials, 1)

        async def fire() -> list[httpx.Response]:
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            limits = httpx.Limits(max_connections=25)
            async with (
                httpx.AsyncClient(base_url=first_url, timeout=60, limits=limits) as first,
                httpx.AsyncClient(base_url=second_url, timeout=60, limits=limits) as second,
            ):
                return await asyncio.gather(
                    *(
                        (first if i % 2 else second).post("/oauth/token", content=body, headers=headers)
                        for i in range(50)
                    )
                )

        responses = asyncio.run(fire())

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [400] * 49, statuses
    assert {r.json()["error"] for r in responses if r.status_code == 400} == {"invalid_request"}
    with sqlite3.connect(setup.database) as raw:
        assert raw.execute("SELECT count(*) FROM access_tokens").fetchone()[0] == 1
        granted = "SELECT count(*) FROM audit_events WHERE type = 'token_exchange.granted'"
        assert raw.execute(granted).fetchone()[0] == 1
