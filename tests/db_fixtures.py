"""Database fixtures: storage tests run on SQLite *and* PostgreSQL (SECURITY NEG-INV 6, FLT-15).

Registered by ``pytest_plugins = ["tests.db_fixtures"]`` in ``tests/conftest.py``.

- ``db_backend``: ``"sqlite"`` or ``"postgresql"`` (parametrized; the PostgreSQL
  case carries the ``postgres`` marker, so ``-m "not postgres"`` drops it).
- ``db``: a migrated, empty :class:`~did_agents.storage.Database`. SQLite: a
  copy of a file migrated once per session. PostgreSQL: one schema per session,
  migrated once and emptied before each test (a few milliseconds instead of a
  migration per test). Do not change the schema (DDL) through ``db``.
- ``fresh_db``: like ``db`` but with a database of its own — for tests that
  rename tables, disable triggers or migrate up and down.
- ``db_url``: a URL for a fresh, empty, *unmigrated* database (a new SQLite file,
  or a new PostgreSQL schema selected with ``options=-csearch_path=<schema>``
  in the URL, dropped afterwards). Services under test can take it as their
  ``DID_AGENTS_DATABASE_URL``.

PostgreSQL comes from ``DID_AGENTS_TEST_POSTGRES_URL`` (default
``postgresql+psycopg://did_agents:did_agents@127.0.0.1:5432/did_agents_test``;
``.ci/postgres.sh`` sets that up). If it cannot be reached the PostgreSQL cases
are skipped with the reason — and fail when ``CI=true``, so CI never passes
without having run them.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url

from did_agents.storage import Database, create_engine_for, upgrade
from did_agents.storage.schema import audit_chain_head, metadata

__all__ = [
    "BACKENDS",
    "DEFAULT_POSTGRES_URL",
    "POSTGRES_URL_ENV",
    "db",
    "db_backend",
    "db_url",
    "fresh_db",
    "postgres_url",
]

POSTGRES_URL_ENV = "DID_AGENTS_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://did_agents:did_agents@127.0.0.1:5432/did_agents_test"

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def postgres_url() -> str:
    return os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL)


def _schema_url(schema: str) -> str:
    url = make_url(postgres_url()).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def _postgres_admin() -> Iterator[Engine | str]:
    """An engine on the test database, or the reason it is unreachable."""
    engine = create_engine_for(postgres_url(), pool_size=2, busy_timeout=5)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to connect means "no PostgreSQL here"
        engine.dispose()
        yield f"PostgreSQL unreachable at {make_url(postgres_url())!r}: {type(exc).__name__}"
        return
    yield engine
    engine.dispose()


def _admin(request: pytest.FixtureRequest) -> Engine:
    admin = request.getfixturevalue("_postgres_admin")
    if isinstance(admin, str):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{admin} (CI=true: PostgreSQL tests must run)")
        pytest.skip(f"{admin}; set {POSTGRES_URL_ENV} or run .ci/postgres.sh")
    assert isinstance(admin, Engine)
    return admin


@pytest.fixture(params=BACKENDS)
def db_backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    return backend


@pytest.fixture
def db_url(
    db_backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if db_backend == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'did-agents.db'}"
        return
    admin = _admin(request)
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _schema_url(schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture
def fresh_db(db_url: str) -> Iterator[Database]:
    database = Database.connect(db_url, upgrade=True)
    try:
        yield database
    finally:
        database.dispose()


@dataclass
class _SharedSchema:
    admin: Engine
    name: str = ""
    fingerprint: str = ""

    def _fingerprint(self, conn: Connection) -> str:
        # Columns (with types), triggers (with their enabled state) of the schema.
        query = text(
            """
            SELECT coalesce((SELECT string_agg(c.relname || '.' || a.attname || ':' || a.atttypid::text, ','
                                               ORDER BY c.relname, a.attname)
                             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                             JOIN pg_namespace n ON n.oid = c.relnamespace
                             WHERE n.nspname = :s AND c.relkind = 'r' AND a.attnum > 0
                               AND NOT a.attisdropped), '')
                || '|' || coalesce((SELECT string_agg(t.tgname || ':' || t.tgenabled::text, ','
                                                      ORDER BY t.tgname)
                             FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                             JOIN pg_namespace n ON n.oid = c.relnamespace
                             WHERE n.nspname = :s AND NOT t.tgisinternal), '')
            """
        )
        return str(conn.execute(query, {"s": self.name}).scalar_one())

    def build(self) -> None:
        self.drop()
        self.name = f"t_shared_{uuid.uuid4().hex[:12]}"
        with self.admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{self.name}"'))
        upgrade(_schema_url(self.name))
        with self.admin.connect() as conn:
            self.fingerprint = self._fingerprint(conn)

    def drop(self) -> None:
        if self.name:
            with self.admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE'))
            self.name = ""

    def reset(self) -> str:
        """Empty every table (bypassing the append-only triggers as a superuser)
        and return the schema's URL; rebuild if a test changed the schema."""
        if not self.name:
            self.build()
            return _schema_url(self.name)
        try:
            with self.admin.begin() as conn:
                if self._fingerprint(conn) != self.fingerprint:
                    raise _SchemaChanged
                conn.execute(text(f'SET LOCAL search_path = "{self.name}"'))
                conn.execute(text("SET LOCAL session_replication_role = replica"))
                for table in reversed(metadata.sorted_tables):
                    conn.execute(table.delete())
                conn.execute(audit_chain_head.insert().values(id=1, seq=0, hash="0" * 64))
        except Exception:  # schema changed by a test, or not a superuser: start over
            self.build()
        return _schema_url(self.name)


class _SchemaChanged(Exception):
    pass


@pytest.fixture(scope="session")
def _postgres_shared(request: pytest.FixtureRequest) -> Iterator[_SharedSchema]:
    shared = _SharedSchema(_admin(request))
    yield shared
    shared.drop()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (cheaper than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "did-agents.db"
    database = Database.connect(f"sqlite:///{path}", upgrade=True)
    database.dispose()  # the last connection checkpoints and removes the WAL
    if path.with_name(path.name + "-wal").exists():
        raise RuntimeError("template database still has a WAL file")
    return path


@pytest.fixture
def db(
    db_backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    if db_backend == "sqlite":
        template: Path = request.getfixturevalue("_sqlite_template")
        path = tmp_path_factory.mktemp("db") / "did-agents.db"
        shutil.copyfile(template, path)
        database = Database.connect(f"sqlite:///{path}")
        try:
            yield database
        finally:
            database.dispose()
        return
    shared: _SharedSchema = request.getfixturevalue("_postgres_shared")
    database = Database.connect(shared.reset())
    try:
        yield database
    finally:
        database.dispose()
