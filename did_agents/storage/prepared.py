"""Statements built once and reused, so hot paths skip SQLAlchemy's statement construction.

A Core statement object memoizes its cache key; executed with a parameter dict
(``conn.execute(stmt, {...})``) it is served from the engine's compiled cache
(on by default, ``query_cache_size`` 500 per engine) without being rebuilt or
re-keyed. Building ``insert(...).values(...)`` / ``select(...).where(x == value)``
per call costs far more than running the SQL on SQLite.

The repositories keep their statements at module level with
:func:`~sqlalchemy.bindparam` placeholders (named ``b_*``: a bind named after a
column is reserved for INSERT/UPDATE values); the ``ON CONFLICT DO NOTHING``
inserts differ per dialect and come from :func:`ignoring_conflicts`.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.expression import Insert
from sqlalchemy.sql.schema import Table

from did_agents.storage.engine import backend_of

__all__ = ["ignoring_conflicts"]

_IGNORING_CONFLICTS: Final[dict[tuple[str, Table], Insert]] = {}


def ignoring_conflicts(conn: Connection, table: Table) -> Insert:
    """``INSERT INTO table ... ON CONFLICT DO NOTHING`` for ``conn``'s backend (SQLite ≥ 3.24,
    PostgreSQL ≥ 9.5), built once per backend and table.

    Execute it with a parameter dict (its keys are the columns inserted) and read
    ``rowcount``: 1 if the row went in, 0 on a unique-constraint conflict, which
    neither raises nor (on PostgreSQL) aborts the surrounding transaction.
    """
    backend = backend_of(conn)
    key = (backend, table)
    statement = _IGNORING_CONFLICTS.get(key)
    if statement is None:
        base = postgresql.insert(table) if backend == "postgresql" else sqlite.insert(table)
        # SQLAlchemy memoizes rowcount for UPDATE/DELETE only; psycopg's cursor is
        # closed after an INSERT, so ask for it explicitly.
        statement = base.on_conflict_do_nothing().execution_options(preserve_rowcount=True)
        # Two threads may both build it: equal statements, either one is kept.
        _IGNORING_CONFLICTS[key] = statement
    return statement
