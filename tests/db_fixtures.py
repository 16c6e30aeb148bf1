"""Database fixtures: every storage test runs on SQLite *and* PostgreSQL (SECURITY NEG-INV 6, FLT-15).

Register with ``pytest_plugins = ["tests.db_fixtures"]`` in the top-level
``tests/conftest.py``. Fixtures:

- ``db_backend``: ``"sqlite"`` or ``"postgresql"`` (parametrized; the PostgreSQL
  case carries the ``postgres`` marker, so ``-m "not postgres"`` drops it);
- ``db_url``: a URL for a fresh, empty, isolated database — a new SQLite file
  under ``tmp_path``, or a new PostgreSQL schema selected with
  ``options=-csearch_path=<schema>`` in the URL (dropped afterwards). Services
  under test can take this URL as their ``DID_AGENTS_DATABASE_URL``;
- ``db``: a :class:`~did_agents.storage.Database` on ``db_url``, migrated to head.

PostgreSQL comes from ``DID_AGENTS_TEST_POSTGRES_URL`` (default
``postgresql+psycopg://did_agents:did_agents@127.0.0.1:5432/did_agents_test``).
If it cannot be reached the PostgreSQL cases are skipped with the reason — and
fail when ``CI=true``, so CI never passes without having run them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from did_agents.storage import Database, create_engine_for

POSTGRES_URL_ENV = "DID_AGENTS_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://did_agents:did_agents@127.0.0.1:5432/did_agents_test"

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def postgres_url() -> str:
    return os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL)


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


@pytest.fixture(params=BACKENDS)
def db_backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    return backend


@pytest.fixture
def db_url(db_backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if db_backend == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'did-agents.db'}"
        return
    admin = request.getfixturevalue("_postgres_admin")
    if isinstance(admin, str):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{admin} (CI=true: PostgreSQL tests must run)")
        pytest.skip(f"{admin}; set {POSTGRES_URL_ENV} or run .ci/postgres.sh")
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(postgres_url()).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database.connect(db_url, upgrade=True, busy_timeout=30)
    try:
        yield database
    finally:
        database.dispose()


__all__ = [
    "BACKENDS",
    "DEFAULT_POSTGRES_URL",
    "POSTGRES_URL_ENV",
    "db",
    "db_backend",
    "db_url",
    "postgres_url",
]
