"""The bundled Alembic migrations."""

from __future__ import annotations

import threading

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from did_agents.storage import Database, create_engine_for, head_revision, upgrade
from did_agents.storage.migrate import downgrade
from did_agents.storage.schema import metadata

TABLES = {
    "access_tokens",
    "agents",
    "alembic_version",
    "audit_chain_head",
    "audit_events",
    "challenges",
    "issued_credentials",
    "operators",
    "org_keys",
    "organization",
    "replay_cache",
    "status_allocations",
    "status_lists",
    "users",
}


def test_upgrade_from_empty_creates_every_table(db_url: str) -> None:
    engine = create_engine_for(db_url)
    try:
        assert set(inspect(engine).get_table_names()) == set()
        upgrade(engine)
        assert set(inspect(engine).get_table_names()) == TABLES
        assert Database(engine).revision() == head_revision() == "0001"
    finally:
        engine.dispose()


def test_upgrade_accepts_a_url_and_is_idempotent(db_url: str) -> None:
    upgrade(db_url)
    upgrade(db_url)
    db = Database.connect(db_url)
    try:
        assert db.revision() == head_revision()
        assert db.row_counts()["audit_chain_head"] == 1
    finally:
        db.dispose()


def test_migrations_create_exactly_the_declared_schema(db: Database) -> None:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_concurrent_start_ups_migrate_once(db_url: str) -> None:
    # Several service instances starting together (SQLite write lock / PG advisory lock).
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def start() -> None:
        barrier.wait()
        try:
            upgrade(db_url)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    db = Database.connect(db_url)
    try:
        assert db.revision() == head_revision()
        assert db.row_counts()["audit_chain_head"] == 1
    finally:
        db.dispose()


def test_downgrade_to_base_and_back(fresh_db: Database) -> None:
    downgrade(fresh_db.engine, "base")
    assert set(inspect(fresh_db.engine).get_table_names()) == {"alembic_version"}
    fresh_db.upgrade()
    assert set(inspect(fresh_db.engine).get_table_names()) == TABLES
