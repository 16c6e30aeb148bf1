"""SECURITY FLT-02 at the token endpoint (PostgreSQL): the server connection of an exchange's
mint transaction is terminated (``pg_terminate_backend``) while the transaction is open.

The client is answered 503 ``temporarily_unavailable`` with no token; nothing of the mint
transaction is stored (no token row, no granted event); the refusal is audited; and the next
exchange succeeds on a fresh connection (``pool_pre_ping``), with no restart.

To catch the transaction while it is open, the test holds the audit chain head's row lock
from another connection (the mint's audit append waits for it after spending the challenge
and storing the token row), terminates the waiting backend, then lets go.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text

from did_agents.audit import AuditLog, AuditQuery
from did_agents.clock import FixedClock
from tests.verifier.conftest import Live
from tests.verifier.test_wire import chain

_WAITING_FOR_THE_HEAD = text(
    "SELECT pid FROM pg_stat_activity"
    " WHERE wait_event_type = 'Lock' AND query ILIKE '%audit_chain_head%' AND pid <> pg_backend_pid()"
)


def test_connection_killed_mid_mint_answers_503_and_stores_no_token(live: Live) -> None:
    db = live.h.db
    if db.backend != "postgresql":
        pytest.skip("pg_terminate_backend is PostgreSQL's (the SQLite process crash is test_crash.py)")
    body = live.form(live.subject_token(live.w.ordering, chain(live)))
    before = db.row_counts()

    with db.engine.connect() as holder, db.engine.connect() as admin, ThreadPoolExecutor(1) as pool:
        lock = holder.begin()
        holder.execute(text("SELECT seq FROM audit_chain_head WHERE id = 1 FOR UPDATE"))
        pending = pool.submit(live.post_token, body)
        deadline = time.monotonic() + 30
        pids: list[int] = []
        while not pids:  # wait for the mint transaction to queue behind our lock
            assert time.monotonic() < deadline, "the exchange never reached the audit append"
            assert not pending.done(), pending.result().text
            pids = list(admin.execute(_WAITING_FOR_THE_HEAD).scalars())
            admin.rollback()
        assert admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pids[0]}).scalar_one()
        admin.rollback()
        lock.rollback()
        response = pending.result(timeout=60)

    assert response.status_code == 503, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.json()["error"] == "temporarily_unavailable"
    assert "access_token" not in response.text
    after = db.row_counts()
    assert after["access_tokens"] == before["access_tokens"]
    with db.read() as conn:
        events = AuditLog(conn, FixedClock(live.h.clock.now())).query(
            AuditQuery(type_prefix="token_exchange.")
        )
    assert [e.event.type for e in events] == ["token_exchange.denied"]
    assert events[0].event.details["status"] == 503

    retried = live.post_token(live.form(live.subject_token(live.w.ordering, chain(live))))
    assert retried.status_code == 200, retried.text
    assert db.row_counts()["access_tokens"] == before["access_tokens"] + 1
