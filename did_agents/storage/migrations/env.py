"""Alembic environment for did-agents.

Programmatic use (``did_agents.storage.migrate.upgrade``) passes an open
connection, already inside a transaction, in ``config.attributes["connection"]``.
From the ``alembic`` command line the URL comes from ``-x url=...``, the
``sqlalchemy.url`` option, or ``DID_AGENTS_DATABASE_URL``.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection

from did_agents.storage.engine import create_engine_for
from did_agents.storage.schema import metadata


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,  # SQLite ALTERs go through table copies
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    url = (
        context.get_x_argument(as_dictionary=True).get("url")
        or context.config.get_main_option("sqlalchemy.url")
        or os.environ.get("DID_AGENTS_DATABASE_URL")
    )
    if not url:
        raise SystemExit("no database URL: use -x url=... or DID_AGENTS_DATABASE_URL")
    return url


def run() -> None:
    if context.is_offline_mode():
        context.configure(url=_url(), target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = context.config.attributes.get("connection")
    if isinstance(connection, Connection):
        _configure_and_run(connection)
        return
    engine = create_engine_for(_url())
    try:
        with engine.begin() as conn:
            _configure_and_run(conn)
    finally:
        engine.dispose()


run()
