"""Engine set-up and error translation (SECURITY §2: SQLite WAL, synchronous=FULL,
foreign_keys=ON, busy_timeout; PostgreSQL via psycopg 3)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, text

from did_agents.errors import ConfigurationError, ConflictError, StorageError
from did_agents.storage import Database, create_engine_for
from did_agents.storage.schema import challenges

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class TestSQLitePragmas:
    def test_every_connection_is_wal_full_sync_with_foreign_keys(self, tmp_path: Path) -> None:
        engine = create_engine_for(f"sqlite:///{tmp_path / 'x.db'}", busy_timeout=7)
        try:
            with engine.connect() as conn:
                pragmas = {
                    name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                    for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
                }
        finally:
            engine.dispose()
        # synchronous: 2 = FULL (sqlite.org/pragma.html#pragma_synchronous)
        assert pragmas == {"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1, "busy_timeout": 7000}

    def test_data_directory_is_created(self, tmp_path: Path) -> None:
        path = tmp_path / "a" / "b" / "x.db"
        Database.connect(f"sqlite:///{path}", upgrade=True).dispose()
        assert path.exists()


class TestWriteTransactionsTakeTheLockUpFront:
    """BEGIN IMMEDIATE: a second writer waits at BEGIN (and gives up after the busy
    timeout) instead of failing later, half-way through its work."""

    def test_second_writer_blocks_at_begin(self, tmp_path: Path) -> None:
        url = f"sqlite:///{tmp_path / 'x.db'}"
        first = Database.connect(url, upgrade=True)
        impatient = Database.connect(url, busy_timeout=0.05)
        try:
            with first.transaction():  # holds the write lock, has written nothing
                with pytest.raises(StorageError) as exc, impatient.transaction():
                    pytest.fail("BEGIN IMMEDIATE should not have been granted")
                assert exc.value.reason == "storage_busy"
                with impatient.read() as conn:  # WAL: readers are not blocked
                    assert conn.execute(select(challenges)).all() == []
        finally:
            first.dispose()
            impatient.dispose()

    def test_waiting_writer_proceeds_after_commit(self, tmp_path: Path) -> None:
        url = f"sqlite:///{tmp_path / 'x.db'}"
        db = Database.connect(url, upgrade=True)
        other = Database.connect(url)  # another engine: like another process
        holding, attempted = threading.Event(), threading.Event()
        results: list[int] = []

        def second() -> None:
            holding.wait()
            attempted.set()
            with other.transaction() as conn:  # waits in SQLite's busy handler
                results.append(conn.execute(text("SELECT count(*) FROM challenges")).scalar_one())

        worker = threading.Thread(target=second)
        worker.start()
        try:
            with db.transaction() as conn:
                holding.set()
                attempted.wait()
                conn.execute(
                    challenges.insert().values(
                        nonce="n", purpose="p", domain="d", created_at=NOW, expires_at=NOW
                    )
                )
        finally:
            worker.join()
            db.dispose()
            other.dispose()
        assert results == [1]  # serialized after the first writer's commit


class TestConfiguration:
    @pytest.mark.parametrize(
        "url",
        [
            "sqlite://",
            "sqlite:///:memory:",
            "postgresql+psycopg2://u:p@localhost/db",  # psycopg 3 only
            "mysql+pymysql://u:p@localhost/db",
        ],
    )
    def test_unsupported_urls_refused(self, url: str) -> None:
        with pytest.raises(ConfigurationError) as exc:
            create_engine_for(url)
        assert exc.value.reason == "database_url"

    def test_password_not_in_repr(self) -> None:
        db = Database.connect("postgresql+psycopg://user:s3cr3t-pw@127.0.0.1:1/db")
        try:
            assert "s3cr3t-pw" not in repr(db)
        finally:
            db.dispose()


class TestErrorTranslation:
    def test_unreachable_postgres_is_storage_unavailable(self) -> None:
        db = Database.connect("postgresql+psycopg://u:p@127.0.0.1:1/db?connect_timeout=2")
        try:
            with pytest.raises(StorageError) as exc:
                db.row_counts()
            assert exc.value.reason == "storage_unavailable"
            assert exc.value.status_code == 503
        finally:
            db.dispose()

    def test_integrity_error_is_conflict_without_row_values(self, db: Database) -> None:
        values = dict(nonce="secret-nonce-value", purpose="p", domain="d", created_at=NOW, expires_at=NOW)
        with pytest.raises(ConflictError) as exc, db.transaction() as conn:
            conn.execute(challenges.insert().values(values))
            conn.execute(challenges.insert().values(values))
        assert exc.value.reason == "constraint_violation"
        assert "secret-nonce-value" not in str(exc.value)
        assert db.row_counts()["challenges"] == 0  # rolled back

    def test_error_inside_transaction_rolls_back(self, db: Database) -> None:
        with pytest.raises(RuntimeError), db.transaction() as conn:
            conn.execute(
                challenges.insert().values(nonce="n", purpose="p", domain="d", created_at=NOW, expires_at=NOW)
            )
            raise RuntimeError("boom")
        assert db.row_counts()["challenges"] == 0


class TestUTCDateTime:
    def test_round_trip_is_aware_utc_to_the_microsecond(self, db: Database) -> None:
        local = datetime(2026, 12, 1, 10, 0, 0, 123456, tzinfo=timezone(timedelta(hours=1)))
        with db.transaction() as conn:
            conn.execute(
                challenges.insert().values(
                    nonce="n", purpose="p", domain="d", created_at=local, expires_at=local
                )
            )
        with db.read() as conn:
            stored = conn.execute(select(challenges.c.created_at)).scalar_one()
        assert stored == local and stored.tzinfo == UTC
        assert stored.microsecond == 123456

    def test_naive_datetime_refused(self, db: Database) -> None:
        with pytest.raises(StorageError), db.transaction() as conn:
            conn.execute(
                challenges.insert().values(
                    nonce="n", purpose="p", domain="d", created_at=datetime(2026, 1, 1), expires_at=NOW
                )
            )

    def test_comparisons_in_sql_follow_time_order(self, db: Database) -> None:
        with db.transaction() as conn:
            for i, offset in enumerate((-2, 0, 3)):
                at = NOW + timedelta(hours=offset)
                conn.execute(
                    challenges.insert().values(
                        nonce=f"n{i}", purpose="p", domain="d", created_at=at, expires_at=at
                    )
                )
        # An aware non-UTC bound compares by instant, not by wall clock.
        bound = (NOW + timedelta(minutes=1)).astimezone(timezone(timedelta(hours=-5)))
        with db.read() as conn:
            later = conn.execute(select(challenges.c.nonce).where(challenges.c.expires_at > bound)).scalars()
            assert sorted(later) == ["n2"]
