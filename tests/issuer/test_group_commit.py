"""Group commit (did_agents.issuance.group_commit): concurrent units of work share one SQLite
commit, each in its own savepoint, with the outcome each would have had alone."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, event, func, insert, select

from did_agents.audit.event import AuditEvent
from did_agents.errors import ConflictError, DIDAgentsError
from did_agents.issuance import group_commit
from did_agents.issuance.agents import OnboardingRequest, onboard_agent, onboard_agent_async
from did_agents.issuance.audit import append_event, verify_chain
from did_agents.issuance.context import Actor, is_audited
from did_agents.issuance.group_commit import GroupCommit
from did_agents.storage.database import Database
from did_agents.storage.schema import audit_events, replay_cache, status_allocations
from did_agents.storage.status_lists import StatusListRepository
from tests.issuer.conftest import CAPS, Harness, make_harness

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
WAIT = 10.0  # seconds; only a deadline for a broken implementation, never slept


def _remember(jti: str) -> Callable[[Connection], str]:
    def work(conn: Connection) -> str:
        conn.execute(
            insert(replay_cache),
            {
                "issuer": "did:example:group",
                "jti": jti,
                "seen_at": NOW,
                "expires_at": NOW + timedelta(hours=1),
            },
        )
        return jti

    return work


def _stored(db: Database) -> set[str]:
    with db.read() as conn:
        return set(conn.execute(select(replay_cache.c.jti)).scalars())


@pytest.fixture
def sqlite_db(db: Database) -> Database:
    if db.backend != "sqlite":
        pytest.skip("group commit applies to SQLite; PostgreSQL runs each unit on its own")
    return db


@pytest.fixture
def commits(sqlite_db: Database) -> Iterator[list[int]]:
    seen: list[int] = []

    def count(_conn: Any) -> None:
        seen.append(1)

    event.listen(sqlite_db.engine, "commit", count)
    yield seen
    event.remove(sqlite_db.engine, "commit", count)


class _Queued:
    """Runs ``first`` (which blocks until released) and then ``works`` queued behind it."""

    def __init__(self, group: GroupCommit, first: Callable[[Connection], Any]) -> None:
        self.group = group
        self.inside = threading.Event()
        self.release = threading.Event()
        self.outcomes: dict[str, tuple[bool, Any]] = {}

        def blocking(conn: Connection) -> Any:
            self.inside.set()
            assert self.release.wait(WAIT)
            return first(conn)

        self.threads = [self._thread("first", blocking)]
        self.threads[0].start()
        assert self.inside.wait(WAIT)

    def _thread(self, name: str, work: Callable[[Connection], Any]) -> threading.Thread:
        def target() -> None:
            try:
                self.outcomes[name] = (True, self.group.run(work))
            except Exception as exc:
                self.outcomes[name] = (False, exc)

        return threading.Thread(target=target, daemon=True)

    def queue(self, works: dict[str, Callable[[Connection], Any]]) -> None:
        for name, work in works.items():
            thread = self._thread(name, work)
            self.threads.append(thread)
            thread.start()
        # Wait (not sleep) until every one of them is queued behind the running unit.
        deadline = threading.Event()
        for _ in range(int(WAIT * 1000)):
            if len(self.group._queue) == len(works):
                break
            deadline.wait(0.001)
        assert len(self.group._queue) == len(works)

    def finish(self) -> dict[str, tuple[bool, Any]]:
        self.release.set()
        for thread in self.threads:
            thread.join(WAIT)
            assert not thread.is_alive()
        return self.outcomes


def test_units_waiting_at_the_same_time_share_one_commit(sqlite_db: Database, commits: list[int]) -> None:
    group = GroupCommit(sqlite_db)
    queued = _Queued(group, _remember("first"))
    queued.queue({f"u{i}": _remember(f"u{i}") for i in range(5)})
    outcomes = queued.finish()
    assert outcomes == {name: (True, name) for name in ("first", "u0", "u1", "u2", "u3", "u4")}
    # The first unit ran alone; the five that waited behind it were committed together.
    assert len(commits) == 2
    assert _stored(sqlite_db) == {"first", "u0", "u1", "u2", "u3", "u4"}


def test_a_unit_that_raises_is_rolled_back_alone(sqlite_db: Database, commits: list[int]) -> None:
    refusal = ConflictError("refused after writing", reason="test_refusal")

    def write_then_refuse(conn: Connection) -> None:
        _remember("refused")(conn)
        raise refusal

    group = GroupCommit(sqlite_db)
    queued = _Queued(group, _remember("first"))
    queued.queue({"a": _remember("a"), "refused": write_then_refuse, "b": _remember("b")})
    outcomes = queued.finish()
    assert outcomes["refused"] == (False, refusal)  # its own exception, as raised
    assert outcomes["a"] == (True, "a") and outcomes["b"] == (True, "b")
    assert len(commits) == 2
    assert _stored(sqlite_db) == {"first", "a", "b"}


def test_a_database_error_in_a_unit_is_translated_and_rolled_back_alone(sqlite_db: Database) -> None:
    group = GroupCommit(sqlite_db)
    queued = _Queued(group, _remember("first"))
    queued.queue({"a": _remember("a"), "duplicate": _remember("first"), "b": _remember("b")})
    outcomes = queued.finish()
    ok, error = outcomes["duplicate"]
    assert not ok and isinstance(error, ConflictError) and error.reason == "constraint_violation"
    assert _stored(sqlite_db) == {"first", "a", "b"}


def test_a_failed_shared_commit_reruns_each_unit_alone(sqlite_db: Database, commits: list[int]) -> None:
    # A status allocation for a credential that is never stored: its foreign key is
    # deferred, so only the COMMIT finds it — after the other units' savepoints were released.
    with sqlite_db.transaction() as conn:
        StatusListRepository(conn).create("list1", "revocation", now=NOW, size=131_072)

    def dangling(conn: Connection) -> None:
        conn.execute(
            insert(status_allocations),
            {
                "list_id": "list1",
                "status_index": 7,
                "credential_id": "urn:uuid:never-stored",
                "allocated_at": NOW,
            },
        )

    group = GroupCommit(sqlite_db)
    queued = _Queued(group, _remember("first"))
    queued.queue({"a": _remember("a"), "dangling": dangling, "b": _remember("b")})
    outcomes = queued.finish()
    ok, error = outcomes["dangling"]
    assert not ok and isinstance(error, ConflictError)
    assert outcomes["a"] == (True, "a") and outcomes["b"] == (True, "b")
    assert _stored(sqlite_db) == {"first", "a", "b"}
    with sqlite_db.read() as conn:
        assert conn.execute(select(func.count()).select_from(status_allocations)).scalar_one() == 0


def test_a_unit_that_opens_another_write_transaction_is_refused_not_deadlocked(sqlite_db: Database) -> None:
    group = GroupCommit(sqlite_db)

    def nested(conn: Connection) -> str:
        return group.run(_remember("inner"))

    queued = _Queued(group, _remember("first"))
    queued.queue({"nested": nested, "a": _remember("a")})
    outcomes = queued.finish()
    ok, error = outcomes["nested"]
    assert not ok and isinstance(error, RuntimeError)
    assert outcomes["a"] == (True, "a")
    with pytest.raises(RuntimeError):
        group.run(nested)  # alone as well
    assert _stored(sqlite_db) == {"first", "a"}


def test_postgresql_runs_each_unit_in_its_own_transaction(db: Database) -> None:
    group = GroupCommit(db)
    assert group.run(_remember("one")) == "one"
    with pytest.raises(ConflictError):
        group.run(_remember("one"))
    assert _stored(db) == {"one"}


def test_concurrent_audited_requests_keep_the_chain_and_the_status_indexes_intact(
    db: Database, tmp_path: Path
) -> None:
    harness: Harness
    for harness in make_harness(db, tmp_path):
        issuer = harness.issuer
        actor = Actor("operator:alice", "admin")
        request = OnboardingRequest(
            mode="generate",
            name="agent",
            owner="mailto:team@urbanbites.example",
            kind="delegated",
            capabilities=CAPS,
            format="eddsa-jcs-2022",
        )
        results: list[Any] = []
        start = threading.Barrier(12)

        def onboard() -> None:
            start.wait(WAIT)
            results.append(onboard_agent(issuer, request, actor))

        def audit_only() -> None:
            start.wait(WAIT)
            event_ = AuditEvent(type="test.event", decision="info")
            issuer.commits.run(lambda conn: append_event(conn, event_, issuer.clock.now()))

        threads = [threading.Thread(target=onboard, daemon=True) for _ in range(10)]
        threads += [threading.Thread(target=audit_only, daemon=True) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT)
        assert len(results) == 10
        assert len({r.credential_id for r in results}) == 10
        with db.read() as conn:
            assert verify_chain(conn).ok
            assert conn.execute(select(func.count()).select_from(audit_events)).scalar_one() >= 12
            indexes = conn.execute(
                select(status_allocations.c.list_id, status_allocations.c.status_index)
            ).all()
        assert len(indexes) == 20 == len(set(indexes))  # two purposes per credential, all distinct


# -- async callers --------------------------------------------------------------------------------


def test_async_callers_share_the_commit_of_the_units_waiting_with_them(
    sqlite_db: Database, commits: list[int]
) -> None:
    group = GroupCommit(sqlite_db)
    queued = _Queued(group, _remember("first"))

    async def main() -> list[Any]:
        tasks = [asyncio.ensure_future(group.run_async(_remember(f"a{i}"))) for i in range(3)]
        tasks.append(asyncio.ensure_future(group.run_async(_remember("first"))))  # a duplicate
        for _ in range(int(WAIT * 1000)):  # let them all reach the queue (no sleeping for time)
            if len(group._queue) == 4:
                break
            await asyncio.sleep(0)
            threading.Event().wait(0.001)
        assert len(group._queue) == 4
        # The event loop is free while the writer is busy with the first unit.
        assert await asyncio.sleep(0, result="loop runs") == "loop runs"
        queued.release.set()
        return await asyncio.gather(*tasks, return_exceptions=True)

    outcomes = asyncio.run(main())
    assert queued.finish() == {"first": (True, "first")}
    assert outcomes[:3] == ["a0", "a1", "a2"]
    assert isinstance(outcomes[3], ConflictError)  # its own error; the others unaffected
    assert len(commits) == 2
    assert _stored(sqlite_db) == {"first", "a0", "a1", "a2"}


def test_a_cancelled_async_caller_does_not_stop_its_unit(sqlite_db: Database) -> None:
    group = GroupCommit(sqlite_db)
    queued = _Queued(group, _remember("first"))

    async def main() -> None:
        task = asyncio.ensure_future(group.run_async(_remember("cancelled")))
        for _ in range(int(WAIT * 1000)):
            if group._queue:
                break
            await asyncio.sleep(0)
            threading.Event().wait(0.001)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        queued.release.set()
        # Its answer arrives for a cancelled future and is dropped; a later unit still runs.
        assert await group.run_async(_remember("later")) == "later"

    asyncio.run(main())
    queued.finish()
    assert _stored(sqlite_db) == {"first", "cancelled", "later"}


def test_postgresql_async_callers_run_each_unit_in_its_own_transaction(db: Database) -> None:
    group = GroupCommit(db)

    async def main() -> None:
        assert await group.run_async(_remember("one")) == "one"
        with pytest.raises(ConflictError):
            await group.run_async(_remember("one"))

    asyncio.run(main())
    assert _stored(db) == {"one"}


def test_the_writer_ends_when_idle_and_a_new_unit_starts_another(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(group_commit, "IDLE_SECONDS", 0.0)
    group = GroupCommit(sqlite_db)
    writers: list[threading.Thread] = []

    def which(conn: Connection) -> str:
        writers.append(threading.current_thread())
        return _remember(f"w{len(writers)}")(conn)

    assert group.run(which) == "w1"
    writers[0].join(WAIT)
    assert not writers[0].is_alive() and group._writer is None
    assert group.run(which) == "w2"
    assert writers[1] is not writers[0]
    assert _stored(sqlite_db) == {"w1", "w2"}


def test_async_onboarding_refusal_is_audited_once_and_writes_nothing_else(
    db: Database, tmp_path: Path
) -> None:
    for harness in make_harness(db, tmp_path):
        issuer = harness.issuer
        before = db.row_counts()
        bad = OnboardingRequest(
            mode="generate",
            name="agent",
            owner="mailto:team@urbanbites.example",
            kind="delegated",
            capabilities=[],
        )
        with pytest.raises(DIDAgentsError) as refused:
            asyncio.run(onboard_agent_async(issuer, bad, Actor("operator:alice", "admin")))
        assert is_audited(refused.value)
        after = db.row_counts()
        assert {t: after[t] - before[t] for t in after if after[t] != before[t]} == {"audit_events": 1}
        with db.read() as conn:
            last = conn.execute(select(audit_events).order_by(audit_events.c.seq.desc()).limit(1)).one()
        assert (last.type, last.decision) == ("agent.onboarded", "denied")
