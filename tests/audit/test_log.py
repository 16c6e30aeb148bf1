"""The audit log on both backends: chained appends, concurrency, tamper evidence,
append-only enforcement, queries, and atomicity with business writes (SECURITY
FLT-03, FLT-13)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, text

from did_agents.audit import GENESIS_HASH, AuditEvent, AuditLog, AuditQuery, record
from did_agents.clock import FixedClock
from did_agents.errors import ConflictError, StorageError
from did_agents.storage import Database, MintedToken, TokenRepository

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SMITH = "did:key:z6MkSmith"
ORDERING = "did:key:z6MkOrdering"
PAY = "did:web:issuer.example:agents:pay_100%"  # '_' and '%' must not act as LIKE wildcards


def _event(n: int = 0, **kw: object) -> AuditEvent:
    fields: dict[str, object] = {
        "type": "token_exchange.granted",
        "decision": "allowed",
        "reason": "ok",
        "subject": SMITH,
        "actors": (PAY, ORDERING),
        "client_id": PAY,
        "resource": "https://mcp.urbanbites.example/mcp",
        "details": {"n": n},
    }
    fields.update(kw)
    return AuditEvent(**fields)  # type: ignore[arg-type]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


def _append(db: Database, clock: FixedClock, event: AuditEvent) -> int:
    with db.transaction() as conn:
        return AuditLog(conn, clock).append(event).seq


def _verify(db: Database, clock: FixedClock) -> tuple[int | None, str | None, int]:
    with db.read() as conn:
        result = AuditLog(conn, clock).verify_chain()
    return result.first_broken_seq, result.reason, result.events_checked


@contextmanager
def _triggers_disabled(db: Database) -> Iterator[Connection]:
    """Tamper as a superuser / file owner would: with the append-only triggers off."""
    with db.engine.connect() as conn, conn.begin():
        if db.backend == "postgresql":
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
            conn.execute(text("ALTER TABLE audit_chain_head DISABLE TRIGGER USER"))
        else:
            for trigger in (
                "audit_events_no_update",
                "audit_events_no_delete",
                "audit_chain_head_forward",
                "audit_chain_head_no_delete",
            ):
                conn.execute(text(f"DROP TRIGGER {trigger}"))
        yield conn


class TestChain:
    def test_events_link_to_their_predecessor(self, db: Database, clock: FixedClock) -> None:
        with db.transaction() as conn:
            log = AuditLog(conn, clock)
            first = log.append(_event(1))
            clock.advance(1)
            second = log.append(_event(2))
            assert log.head() == (2, second.hash)
        assert (first.seq, first.prev_hash) == (1, GENESIS_HASH)
        assert (second.seq, second.prev_hash) == (2, first.hash)
        assert _verify(db, clock) == (None, None, 2)

    def test_stored_record_reads_back_identically(self, db: Database, clock: FixedClock) -> None:
        with db.transaction() as conn:
            appended = AuditLog(conn, clock).append(_event(details={"f": 0.5, "s": "é", "l": [1, None]}))
        with db.read() as conn:
            assert AuditLog(conn, clock).get(appended.seq) == appended

    def test_empty_log_verifies(self, db: Database, clock: FixedClock) -> None:
        assert _verify(db, clock) == (None, None, 0)

    def test_concurrent_appends_never_fork(self, db: Database, clock: FixedClock) -> None:
        barrier = threading.Barrier(8)

        def worker(n: int) -> list[int]:
            barrier.wait()
            return [_append(db, clock, _event(n * 100 + i)) for i in range(25)]

        with ThreadPoolExecutor(8) as pool:
            seqs = sorted(s for chunk in pool.map(worker, range(8)) for s in chunk)
        assert seqs == list(range(1, 201))
        assert _verify(db, clock) == (None, None, 200)


class TestTamperEvidence:
    @pytest.fixture
    def chain(self, fresh_db: Database, clock: FixedClock) -> Database:
        # fresh_db: these tests drop/disable triggers (DDL).
        for n in range(1, 6):
            _append(fresh_db, clock, _event(n))
            clock.advance(1)
        return fresh_db

    @pytest.mark.parametrize(
        ("column", "value"),
        [
            ("decision", "'denied'"),
            ("subject", "'did:key:z6MkMallory'"),
            ("details", """'{"n": 99}'"""),
            ("actors", "'[]'"),
            ("details", "'not json'"),
        ],
    )
    def test_edited_row_is_found(self, chain: Database, clock: FixedClock, column: str, value: str) -> None:
        with _triggers_disabled(chain) as conn:
            conn.execute(text(f"UPDATE audit_events SET {column} = {value} WHERE seq = 3"))
        assert _verify(chain, clock) == (3, "hash_mismatch", 2)

    def test_edited_row_with_recomputed_hash_breaks_the_next_link(
        self, chain: Database, clock: FixedClock
    ) -> None:
        with _triggers_disabled(chain) as conn:
            conn.execute(text("UPDATE audit_events SET hash = :h WHERE seq = 3"), {"h": "f" * 64})
        assert _verify(chain, clock)[:2] in {(3, "hash_mismatch"), (4, "prev_hash_mismatch")}

    def test_deleted_row_is_found(self, chain: Database, clock: FixedClock) -> None:
        with _triggers_disabled(chain) as conn:
            conn.execute(text("DELETE FROM audit_events WHERE seq = 2"))
        assert _verify(chain, clock) == (2, "seq_gap", 1)

    def test_cut_off_tail_is_found(self, chain: Database, clock: FixedClock) -> None:
        with _triggers_disabled(chain) as conn:
            conn.execute(text("DELETE FROM audit_events WHERE seq >= 4"))
        assert _verify(chain, clock) == (4, "head_mismatch", 3)

    def test_tail_cut_with_head_rewound_leaves_a_dangling_link(
        self, chain: Database, clock: FixedClock
    ) -> None:
        # The attacker also rewinds the head. Undetectable from the database alone,
        # which is why ``did-agents audit`` should publish/pin the head elsewhere;
        # here we check only that the shortened chain is internally consistent.
        with _triggers_disabled(chain) as conn:
            h3 = conn.execute(text("SELECT hash FROM audit_events WHERE seq = 3")).scalar_one()
            conn.execute(text("DELETE FROM audit_events WHERE seq >= 4"))
            conn.execute(text("UPDATE audit_chain_head SET seq = 3, hash = :h"), {"h": h3})
        assert _verify(chain, clock) == (None, None, 3)


class TestAppendOnly:
    """FLT-13: UPDATE/DELETE on audit rows are refused by the database."""

    @pytest.mark.parametrize(
        "statement",
        [
            "UPDATE audit_events SET decision = 'denied' WHERE seq = 1",
            "DELETE FROM audit_events WHERE seq = 1",
            "DELETE FROM audit_events",
            "UPDATE audit_chain_head SET seq = 0",
            "DELETE FROM audit_chain_head",
        ],
    )
    def test_change_refused(self, db: Database, clock: FixedClock, statement: str) -> None:
        _append(db, clock, _event())
        with pytest.raises(ConflictError), db.transaction() as conn:
            conn.execute(text(statement))
        assert _verify(db, clock) == (None, None, 1)

    def test_truncate_refused_on_postgresql(self, db: Database, clock: FixedClock) -> None:
        if db.backend == "sqlite":
            pytest.skip("SQLite has no TRUNCATE (DELETE is covered above)")
        _append(db, clock, _event())
        with pytest.raises(ConflictError), db.transaction() as conn:
            conn.execute(text("TRUNCATE audit_events"))
        assert _verify(db, clock) == (None, None, 1)


class TestSameTransaction:
    TOKEN = MintedToken(
        jti="jti-1",
        sub=SMITH,
        client_id=PAY,
        aud="https://mcp.urbanbites.example/mcp",
        scope="orders:read",
        iat=T0,
        exp=T0 + timedelta(minutes=5),
    )

    def test_failed_business_write_leaves_no_audit_event(self, db: Database, clock: FixedClock) -> None:
        with pytest.raises(RuntimeError), db.transaction() as conn:
            AuditLog(conn, clock).append(_event())
            raise RuntimeError("mint failed")
        assert db.row_counts()["audit_events"] == 0
        assert _verify(db, clock) == (None, None, 0)

    def test_if_the_audit_write_fails_nothing_is_minted(self, fresh_db: Database, clock: FixedClock) -> None:
        # FLT-03: a real database failure in the audit insert.
        db = fresh_db
        with db.transaction() as conn:
            conn.execute(text("ALTER TABLE audit_events RENAME TO audit_events_away"))
        with pytest.raises(StorageError), db.transaction() as conn:
            TokenRepository(conn).record(self.TOKEN)
            AuditLog(conn, clock).append(_event())
        with db.read() as conn:
            assert TokenRepository(conn).find(self.TOKEN.jti) is None

    def test_record_helper_commits_one_event(self, db: Database, clock: FixedClock) -> None:
        appended = record(db, clock, _event(type="token_exchange.denied", decision="denied", reason="bad_vp"))
        assert appended.seq == 1
        assert db.row_counts()["audit_events"] == 1


class TestQuery:
    @pytest.fixture
    def log(self, db: Database, clock: FixedClock) -> Database:
        events = [
            _event(1),
            _event(2, type="token_exchange.denied", decision="denied", reason="challenge_spent"),
            _event(3, subject="did:key:z6MkJones", actors=(ORDERING,), client_id=ORDERING),
            _event(4, type="tool_call.allowed", actors=("did:web:issuer.example:agents:payX100Y",)),
            _event(5, type="credential.issued", decision="info", reason=None, actors=()),
        ]
        for event in events:
            _append(db, clock, event)
            clock.advance(timedelta(minutes=1))
        return db

    def _ns(self, db: Database, clock: FixedClock, **filters: object) -> list[int]:
        with db.read() as conn:
            return [r.event.details["n"] for r in AuditLog(conn, clock).query(AuditQuery(**filters))]  # type: ignore[arg-type]

    def test_no_filter_oldest_first(self, log: Database, clock: FixedClock) -> None:
        assert self._ns(log, clock) == [1, 2, 3, 4, 5]

    @pytest.mark.parametrize(
        ("filters", "expected"),
        [
            ({"type": "token_exchange.denied"}, [2]),
            ({"type_prefix": "token_exchange."}, [1, 2, 3]),
            ({"type_prefix": "tok_n"}, []),  # "_" is literal, not a LIKE wildcard
            ({"type_prefix": "tool%"}, []),
            ({"subject": "did:key:z6MkJones"}, [3]),
            ({"actor": ORDERING}, [1, 2, 3]),
            ({"actor": PAY}, [1, 2]),  # not the look-alike in event 4
            ({"actor": "did:key:z6Mk"}, []),  # whole DIDs only
            ({"client_id": ORDERING}, [3]),
            ({"decision": "denied"}, [2]),
            ({"since": T0 + timedelta(minutes=3)}, [4, 5]),
            ({"until": T0 + timedelta(minutes=1)}, [1]),
            ({"since": T0 + timedelta(minutes=1), "until": T0 + timedelta(minutes=3)}, [2, 3]),
            ({"limit": 2}, [1, 2]),
            ({"after_seq": 3}, [4, 5]),
            ({"newest_first": True, "limit": 2}, [5, 4]),
            ({"newest_first": True, "after_seq": 3}, [2, 1]),
            ({"decision": "allowed", "actor": ORDERING}, [1, 3]),
        ],
    )
    def test_filters(
        self, log: Database, clock: FixedClock, filters: dict[str, object], expected: list[int]
    ) -> None:
        assert self._ns(log, clock, **filters) == expected

    @pytest.mark.parametrize("limit", [0, 10_001])
    def test_limit_is_bounded(self, log: Database, clock: FixedClock, limit: int) -> None:
        with pytest.raises(ValueError):
            self._ns(log, clock, limit=limit)
