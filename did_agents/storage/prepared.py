"""Statements built once and reused, so hot paths skip SQLAlchemy's statement construction.

A Core statement object memoizes its cache key; executed with a parameter dict
(``conn.execute(stmt, {...})``) it is served from the engine's compiled cache
(on by default, ``query_cache_size`` 500 per engine) without being rebuilt or
re-keyed. Building ``insert(...).values(...)`` / ``select(...).where(x == value)``
per call costs far more than running the SQL on SQLite.

The repositories keep their statements at module level with
:func:`~sqlalchemy.bindparam` placeholders (named ``b_*``: a bind named after a
column is reserved for INSERT/UPDATE values); the ``ON CONFLICT DO NOTHING``
inserts differ per dialect: :func:`ignoring_conflicts` builds them, and
:func:`per_backend` keeps any other dialect-specific statement built once per backend.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any, Concatenate, Final, ParamSpec, TypeVar, cast

from sqlalchemy import Connection, exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement, Insert
from sqlalchemy.sql.schema import Table
from sqlalchemy.types import TypeEngine

from did_agents.storage.engine import Backend, backend_of
from did_agents.storage.schema import UTCDateTime

__all__ = [
    "DirectResult",
    "dialect_insert",
    "direct_datetime",
    "execute_direct",
    "ignoring_conflicts",
    "per_backend",
]

_P = ParamSpec("_P")
_S = TypeVar("_S")


def per_backend(build: Callable[Concatenate[Backend, _P], _S]) -> Callable[Concatenate[Connection, _P], _S]:
    """``build(backend, *args)`` run once per backend and arguments, then the same statement
    for ``conn`` (the ``ON CONFLICT`` inserts are dialect-specific constructs).

    Two threads may both build one: equal statements, either one is kept.
    """
    built = cast(Callable[Concatenate[Backend, _P], _S], functools.cache(build))

    @functools.wraps(build)
    def statement(conn: Connection, /, *args: _P.args, **kwargs: _P.kwargs) -> _S:
        return built(backend_of(conn), *args, **kwargs)

    return statement


def dialect_insert(backend: Backend, table: Table) -> postgresql.Insert | sqlite.Insert:
    """``INSERT`` with the backend's ``on_conflict_do_nothing`` (SQLite ≥ 3.24, PostgreSQL ≥ 9.5)."""
    return postgresql.insert(table) if backend == "postgresql" else sqlite.insert(table)


@per_backend
def ignoring_conflicts(backend: Backend, table: Table) -> Insert:
    """``INSERT INTO table ... ON CONFLICT DO NOTHING`` for ``conn``'s backend (SQLite ≥ 3.24,
    PostgreSQL ≥ 9.5), built once per backend and table; called as ``ignoring_conflicts(conn, table)``.

    Execute it with a parameter dict (its keys are the columns inserted) and read
    ``rowcount``: 1 if the row went in, 0 on a unique-constraint conflict, which
    neither raises nor (on PostgreSQL) aborts the surrounding transaction.
    """
    # SQLAlchemy memoizes rowcount for UPDATE/DELETE only; psycopg's cursor is
    # closed after an INSERT, so ask for it explicitly.
    return dialect_insert(backend, table).on_conflict_do_nothing().execution_options(preserve_rowcount=True)


# -- direct execution on SQLite -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DirectResult:
    """What a statement run by :func:`execute_direct` returned: its rows (plain tuples) and
    the DBAPI ``rowcount``."""

    rows: list[tuple[Any, ...]]
    rowcount: int


class _Plan:
    """A statement compiled for SQLite: its SQL and how to turn a parameter dict into the
    positional values (bind processors applied; binds fixed in the statement filled in)."""

    __slots__ = ("_constants", "_fetch", "_processors", "sql")

    def __init__(
        self,
        sql: str,
        names: tuple[str, ...],
        processors: tuple[Callable[[Any], Any] | None, ...],
        constants: Mapping[str, Any],
    ) -> None:
        self.sql = sql
        #: Values of binds fixed in the statement itself (``where(id == 1)``), already processed.
        self._constants = dict(constants)
        fetch = itemgetter(*names) if names else None
        # itemgetter of one name returns the value itself, not a 1-tuple.
        self._fetch: Callable[[Mapping[str, Any]], tuple[Any, ...]] | None = (
            (lambda params: (fetch(params),)) if len(names) == 1 and fetch is not None else fetch
        )
        self._processors = tuple(
            (i, process)
            for i, (name, process) in enumerate(zip(names, processors, strict=True))
            if process is not None and name not in constants
        )

    def bind(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        if self._fetch is None:
            return ()
        if self._constants:
            params = {**params, **self._constants}
        values = self._fetch(params)
        if not self._processors:
            return values
        out = list(values)
        for i, process in self._processors:
            out[i] = process(out[i])
        return tuple(out)


_PLANS: Final[dict[tuple[Executable, frozenset[str]], _Plan]] = {}
_MAX_PLANS: Final = 256


def _sqlite_utc_text(value: datetime | None) -> str | None:
    # UTCDateTime on SQLite: the UTC wall time in SQLAlchemy's DATETIME storage format
    # ("%Y-%m-%d %H:%M:%S.%f"), which is what datetime.isoformat(" ", "microseconds") writes.
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime given to the database")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def direct_datetime(value: Any) -> datetime | None:
    """A :class:`~did_agents.storage.schema.UTCDateTime` column as :func:`execute_direct`
    returned it (SQLite: the stored text; PostgreSQL: already an aware datetime), as an
    aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    raise TypeError("expected a datetime from the database")


def _bind_processor(type_: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    if isinstance(type_, UTCDateTime):
        return _sqlite_utc_text  # the same text as SQLAlchemy's processors, a tenth of the cost
    # dialect_impl: the dialect-specific type (SQLite stores DATETIME as text in its own format).
    return type_.dialect_impl(dialect).bind_processor(dialect)


def _plan(dialect: Dialect, statement: Executable, keys: frozenset[str]) -> _Plan:
    compiled = cast(
        SQLCompiler, cast(ClauseElement, statement).compile(dialect=dialect, column_keys=sorted(keys))
    )
    if not compiled.positional or compiled.positiontup is None:
        raise ValueError("direct execution needs a positional (qmark) dialect")
    if compiled.insert_prefetch or compiled.update_prefetch:
        # Python-side column defaults are filled in by SQLAlchemy's execution context.
        raise ValueError("direct execution cannot run statements with Python-side defaults")
    names = tuple(compiled.positiontup)
    processors = tuple(_bind_processor(compiled.binds[name].type, dialect) for name in names)
    constants: dict[str, Any] = {}
    for name, process in zip(names, processors, strict=True):
        if name in keys:
            continue
        bind = compiled.binds[name]
        if bind.required or bind.callable is not None:
            raise ValueError(f"direct execution needs a value for {name!r}")
        constants[name] = process(bind.value) if process is not None else bind.value
    return _Plan(compiled.string, names, processors, constants)


def execute_direct(conn: Connection, statement: Executable, params: Mapping[str, Any]) -> DirectResult:
    """Run a prebuilt ``statement`` with ``params`` in ``conn``'s transaction.

    On SQLite the statement is compiled once (per statement and set of parameter
    names) and then run on the ``sqlite3`` cursor of the same connection, so the
    same transaction, with the bind processors of its column types applied
    (e.g. :class:`~did_agents.storage.schema.UTCDateTime`); SQLAlchemy's
    execution context, which costs two to three times the SQLite work of a small
    INSERT, is skipped. Driver errors are raised as SQLAlchemy's
    ``DBAPIError`` so :func:`~did_agents.storage.engine.translate_errors` treats
    them as it treats any other statement's. Result values come back as the
    driver returns them: use it for statements whose result columns are plain
    integers and strings. ``execute``-time event hooks do not see these
    statements. On PostgreSQL (network round trips dominate) this is
    ``conn.execute``.
    """
    dialect = conn.dialect
    if dialect.name != "sqlite":
        result = conn.execute(statement, dict(params))
        rows = [tuple(row) for row in result] if result.returns_rows else []
        return DirectResult(rows, result.rowcount)
    key = (statement, frozenset(params))
    plan = _PLANS.get(key)
    if plan is None:
        plan = _plan(dialect, statement, key[1])
        if len(_PLANS) >= _MAX_PLANS:  # statements are meant to be prebuilt; stay bounded anyway
            _PLANS.clear()
        _PLANS[key] = plan
    driver = conn.connection.driver_connection
    assert driver is not None
    values = plan.bind(params)
    try:
        cursor = driver.execute(plan.sql, values)
        try:
            rows = cursor.fetchall() if cursor.description is not None else []
            return DirectResult(rows, cursor.rowcount)
        finally:
            cursor.close()
    except dialect.loaded_dbapi.Error as error:
        raise exc.DBAPIError.instance(
            plan.sql, values, error, dialect.loaded_dbapi.Error, dialect=dialect
        ) from error
