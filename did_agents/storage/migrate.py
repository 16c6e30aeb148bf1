"""Run the bundled Alembic migrations (``did_agents/storage/migrations``).

Services call :func:`upgrade` at start-up. Several instances may start at once:
the upgrade runs in one transaction that holds the write lock (SQLite
``BEGIN IMMEDIATE``) or a transaction-scoped advisory lock (PostgreSQL), so the
second instance waits and then finds nothing to do. DDL is transactional on
both backends, so a failed upgrade leaves the previous schema intact.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from did_agents.errors import StorageError
from did_agents.storage.engine import backend_of, create_engine_for, translate_errors

__all__ = ["MIGRATIONS_DIR", "current_revision", "downgrade", "head_revision", "upgrade"]

MIGRATIONS_DIR: Final = Path(__file__).with_name("migrations")
_LOCK_KEY: Final = int.from_bytes(hashlib.sha256(b"did-agents/migrations").digest()[:8], "big", signed=True)


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    """The newest revision bundled with this version of did-agents."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    if head is None:
        raise RuntimeError("no migrations bundled")
    return head


def _run(target: Engine | str | URL, action: Callable[[Config], None]) -> None:
    engine = target if isinstance(target, Engine) else create_engine_for(target)
    try:
        with translate_errors(), engine.connect() as conn, conn.begin():
            if backend_of(conn) == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
            config = _config()
            config.attributes["connection"] = conn
            action(config)
    finally:
        if engine is not target:
            engine.dispose()


def upgrade(target: Engine | str | URL, revision: str = "head", *, attempts: int = 5) -> None:
    """Bring the database at ``target`` up to ``revision`` (default: head).

    SQLite can answer "database is locked" without waiting when several
    processes open a new file at once (switching it to WAL needs an exclusive
    lock, and SQLite skips the busy handler where waiting could deadlock); the
    upgrade is one transaction, so it is simply tried again.
    """
    for attempt in range(1, attempts + 1):
        try:
            _run(target, lambda config: command.upgrade(config, revision))
            return
        except StorageError as exc:
            if exc.reason != "storage_busy" or attempt == attempts:
                raise
            time.sleep(0.05 * attempt)  # back off before retrying the whole transaction


def downgrade(target: Engine | str | URL, revision: str) -> None:
    """Step the schema back to ``revision`` (``"base"``: drop everything). Destroys data."""
    _run(target, lambda config: command.downgrade(config, revision))


def current_revision(target: Engine) -> str | None:
    """The revision the database is at, or ``None`` if it was never migrated."""
    with translate_errors(), target.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
