"""Run the bundled Alembic migrations (``did_agents/storage/migrations``).

Services call :func:`upgrade` at start-up. Several instances may start at once:
the upgrade runs in one transaction that holds the write lock (SQLite
``BEGIN IMMEDIATE``) or a transaction-scoped advisory lock (PostgreSQL), so the
second instance waits and then finds nothing to do. DDL is transactional on
both backends, so a failed upgrade leaves the previous schema intact.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from did_agents.storage.engine import backend_of, create_engine_for, translate_errors

__all__ = ["MIGRATIONS_DIR", "current_revision", "head_revision", "upgrade"]

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


def upgrade(target: Engine | str | URL, revision: str = "head") -> None:
    """Bring the database at ``target`` up to ``revision`` (default: head)."""
    engine = target if isinstance(target, Engine) else create_engine_for(target)
    try:
        with translate_errors(), engine.connect() as conn, conn.begin():
            if backend_of(conn) == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
            config = _config()
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
    finally:
        if engine is not target:
            engine.dispose()


def current_revision(target: Engine) -> str | None:
    """The revision the database is at, or ``None`` if it was never migrated."""
    with translate_errors(), target.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
