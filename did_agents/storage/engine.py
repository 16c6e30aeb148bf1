"""Engines for SQLite and PostgreSQL, and the one place database errors are translated.

SQLite (the embedded default) is set up for durability and for writers that
queue instead of failing (SECURITY §2, "Run each against SQLite (WAL,
``synchronous=FULL``, ``foreign_keys=ON``, ``busy_timeout`` set)"):

- every connection sets ``journal_mode=WAL``, ``synchronous`` (``FULL`` by
  default), ``foreign_keys=ON`` and ``busy_timeout``. ``sqlite_synchronous``
  (``DID_AGENTS_SQLITE_SYNCHRONOUS`` in the services) may lower it to
  ``NORMAL``: in WAL mode a commit then does not wait for an ``fsync`` of the
  WAL; a committed transaction still survives a crash of the application, but
  the last ones may be lost on a power failure or an operating-system crash
  (sqlite.org/pragma.html#pragma_synchronous: "A transaction committed in WAL
  mode with synchronous=NORMAL might roll back following a power loss or system
  crash. Transactions are durable across application crashes regardless of the
  synchronous setting"; the database is never corrupted either way);
- the ``sqlite3`` driver's own transaction handling is switched off and
  SQLAlchemy emits the ``BEGIN`` (SQLAlchemy SQLite dialect docs, "Enabling
  Non-Legacy SQLite Transactional Modes"); write transactions use
  ``BEGIN IMMEDIATE`` so they take the write lock up front and wait for it
  (busy handler) — a ``DEFERRED`` transaction that reads and then writes can fail
  with ``SQLITE_BUSY`` without waiting. Read-only transactions opt into plain
  ``BEGIN`` with the execution option ``did_agents_begin="DEFERRED"``.

PostgreSQL runs through psycopg 3 (``postgresql+psycopg://``) at READ COMMITTED
with explicit row locks where a read decides a write.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final, Literal

from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.sql.expression import Insert
from sqlalchemy.sql.schema import Table

from did_agents.errors import ConfigurationError, ConflictError, DIDAgentsError, StorageError

__all__ = [
    "BEGIN_OPTION",
    "DEFAULT_BUSY_TIMEOUT",
    "DEFAULT_SQLITE_SYNCHRONOUS",
    "Backend",
    "SQLiteSynchronous",
    "backend_of",
    "create_engine_for",
    "insert_ignoring_conflicts",
    "translate_errors",
]

BEGIN_OPTION: Final = "did_agents_begin"
DEFAULT_BUSY_TIMEOUT: Final = 30.0

Backend = Literal["sqlite", "postgresql"]
#: ``PRAGMA synchronous`` in WAL mode: ``FULL`` syncs the WAL at every commit, ``NORMAL`` at checkpoints.
SQLiteSynchronous = Literal["FULL", "NORMAL"]
DEFAULT_SQLITE_SYNCHRONOUS: Final[SQLiteSynchronous] = "FULL"

_log = logging.getLogger(__name__)


def _sqlite_path(url: URL) -> str | None:
    database = url.database
    if not database or database == ":memory:" or url.query.get("mode") == "memory":
        return None
    return database


def create_engine_for(
    url: str | URL,
    *,
    busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    pool_size: int = 10,
    echo: bool = False,
    sqlite_synchronous: SQLiteSynchronous = DEFAULT_SQLITE_SYNCHRONOUS,
) -> Engine:
    """An engine for ``url``: ``sqlite:///<file>`` or ``postgresql+psycopg://...``.

    ``busy_timeout`` (seconds) is how long a SQLite writer waits for the write
    lock, and how long anyone waits for a pooled connection.
    ``sqlite_synchronous`` is SQLite's ``PRAGMA synchronous`` (module docstring);
    PostgreSQL ignores it.
    """
    if sqlite_synchronous not in ("FULL", "NORMAL"):
        raise ConfigurationError("sqlite_synchronous must be FULL or NORMAL", reason="sqlite_synchronous")
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.get_driver_name() not in ("pysqlite", ""):
            raise ConfigurationError("only the sqlite3 driver is supported", reason="database_url")
        path = _sqlite_path(parsed)
        if path is None:
            # Every pooled connection would see its own empty database.
            raise ConfigurationError("in-memory SQLite is not supported; use a file", reason="database_url")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            parsed,
            echo=echo,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_timeout=busy_timeout,
            connect_args={"timeout": busy_timeout, "check_same_thread": False},
        )
        _install_sqlite_hooks(engine, busy_timeout, sqlite_synchronous)
        return engine
    if backend == "postgresql":
        if parsed.get_driver_name() != "psycopg":
            raise ConfigurationError(
                "PostgreSQL URLs must use psycopg 3: postgresql+psycopg://...",
                reason="database_url",
            )
        return create_engine(
            parsed,
            echo=echo,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_timeout=busy_timeout,
            pool_pre_ping=True,  # FLT-02: survive a restarted server
            isolation_level="READ COMMITTED",
        )
    raise ConfigurationError(
        f"unsupported database backend {backend!r} (use sqlite or postgresql+psycopg)",
        reason="database_url",
    )


_BEGIN: Final = {mode: f"BEGIN {mode}" for mode in ("IMMEDIATE", "DEFERRED", "EXCLUSIVE")}


def _install_sqlite_hooks(engine: Engine, busy_timeout: float, synchronous: SQLiteSynchronous) -> None:
    timeout_ms = int(busy_timeout * 1000)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand BEGIN/COMMIT to SQLAlchemy: no implicit BEGIN from the driver.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {timeout_ms}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute(f"PRAGMA synchronous = {synchronous}")  # one of two literals
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(BEGIN_OPTION, "IMMEDIATE")
        statement = _BEGIN.get(mode)
        if statement is None:
            raise ValueError(f"bad {BEGIN_OPTION} execution option")
        # On the driver: SQLAlchemy's statement execution would cost more than the BEGIN itself
        # (every transaction starts here). Driver errors leave as SQLAlchemy's, as any
        # statement's would, so translate_errors sees them (e.g. "database is locked").
        driver = conn.connection.driver_connection
        assert driver is not None
        try:
            driver.execute(statement).close()
        except sqlite3.Error as error:
            raise exc.DBAPIError.instance(
                statement, (), error, sqlite3.Error, dialect=conn.dialect
            ) from error


def backend_of(conn: Connection | Engine) -> Backend:
    name = conn.dialect.name
    if name == "sqlite":
        return "sqlite"
    if name == "postgresql":
        return "postgresql"
    raise ConfigurationError(f"unsupported database backend {name!r}", reason="database_url")


def insert_ignoring_conflicts(conn: Connection, table: Table) -> Insert:
    """``INSERT ... ON CONFLICT DO NOTHING`` (SQLite ≥ 3.24, PostgreSQL ≥ 9.5).

    The row count tells whether the row went in; a unique-constraint conflict
    neither raises nor (on PostgreSQL) aborts the surrounding transaction.
    """
    insert = (
        postgresql.insert(table).on_conflict_do_nothing()
        if backend_of(conn) == "postgresql"
        else sqlite.insert(table).on_conflict_do_nothing()
    )
    # SQLAlchemy memoizes rowcount for UPDATE/DELETE only; psycopg's cursor is
    # closed after an INSERT, so ask for it explicitly.
    return insert.execution_options(preserve_rowcount=True)


def _sqlstate(error: exc.DBAPIError) -> str | None:
    state = getattr(error.orig, "sqlstate", None)
    return state if isinstance(state, str) else None


@contextmanager
def translate_errors() -> Iterator[None]:
    """Turn SQLAlchemy/driver errors into the project's error tree.

    The descriptions name the driver error class only: driver messages can
    quote row values (PostgreSQL's "Key (jti)=(...) already exists").
    """
    try:
        yield
    except DIDAgentsError:
        raise
    except exc.IntegrityError as error:
        raise ConflictError(
            f"the change conflicts with stored data ({type(error.orig).__name__})",
            reason="constraint_violation",
        ) from error
    except exc.DBAPIError as error:
        state = _sqlstate(error)
        # PostgreSQL §13.5: serialization failures and deadlocks are retryable.
        retryable = state in ("40001", "40P01") or "database is locked" in str(error.orig)
        _log.warning("database error %s (sqlstate %s)", type(error.orig).__name__, state)
        raise StorageError(
            f"database error ({type(error.orig).__name__})",
            reason="storage_busy" if retryable else "storage_unavailable",
        ) from error
    except exc.TimeoutError as error:
        raise StorageError("no database connection available", reason="storage_busy") from error
    except exc.SQLAlchemyError as error:
        raise StorageError(
            f"database error ({type(error).__name__})", reason="storage_unavailable"
        ) from error
