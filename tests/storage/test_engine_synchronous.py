"""SQLite ``PRAGMA synchronous`` as a setting (``DID_AGENTS_SQLITE_SYNCHRONOUS``).

sqlite.org/pragma.html#pragma_synchronous: 2 = FULL, 1 = NORMAL. FULL stays the
default (SECURITY §2); NORMAL is an explicit choice.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from did_agents.clock import SystemClock
from did_agents.errors import ConfigurationError
from did_agents.issuance.organization import init_organization
from did_agents.keystore import KeyStore, RawKey
from did_agents.storage import Database, create_engine_for
from did_agents.storage.engine import DEFAULT_SQLITE_SYNCHRONOUS
from issuer.app import build_issuer
from issuer.settings import IssuerSettings

_LEVELS = {"FULL": 2, "NORMAL": 1}


def _synchronous(database: Database) -> object:
    with database.read() as conn:
        return conn.exec_driver_sql("PRAGMA synchronous").scalar()


def test_full_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DID_AGENTS_SQLITE_SYNCHRONOUS", raising=False)
    assert DEFAULT_SQLITE_SYNCHRONOUS == "FULL"
    assert IssuerSettings().sqlite_synchronous == "FULL"


@pytest.mark.parametrize("mode", ["FULL", "NORMAL"])
def test_every_pooled_connection_gets_the_chosen_level(tmp_path: Path, mode: str) -> None:
    database = Database(create_engine_for(f"sqlite:///{tmp_path / 'x.db'}", sqlite_synchronous=mode))  # type: ignore[arg-type]
    try:
        with database.read() as first, database.read() as second:  # two connections from the pool
            levels = {conn.exec_driver_sql("PRAGMA synchronous").scalar() for conn in (first, second)}
            journal = first.exec_driver_sql("PRAGMA journal_mode").scalar()
    finally:
        database.dispose()
    assert levels == {_LEVELS[mode]}
    assert journal == "wal"  # NORMAL is only offered together with WAL


@pytest.mark.parametrize("value", ["OFF", "EXTRA", "full; DROP TABLE x", ""])
def test_other_levels_are_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigurationError) as exc:
        create_engine_for(f"sqlite:///{tmp_path / 'x.db'}", sqlite_synchronous=value)  # type: ignore[arg-type]
    assert exc.value.reason == "sqlite_synchronous"


def test_setting_is_read_from_the_environment_case_insensitively(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DID_AGENTS_SQLITE_SYNCHRONOUS", "normal")
    assert IssuerSettings().sqlite_synchronous == "NORMAL"
    monkeypatch.setenv("DID_AGENTS_SQLITE_SYNCHRONOUS", "off")
    with pytest.raises(ValidationError):
        IssuerSettings()


def test_the_issuer_opens_its_database_with_the_setting(tmp_path: Path) -> None:
    key = RawKey.generate()
    url = f"sqlite:///{tmp_path / 'did-agents.db'}"
    setup = Database.connect(url, upgrade=True)
    init_organization(
        setup, KeyStore.create(tmp_path / "keystore.json", key), "https://issuer.example", clock=SystemClock()
    )
    setup.dispose()
    settings = IssuerSettings(
        base_url="https://issuer.example",
        data_dir=tmp_path,
        keystore_key=key.to_base64url(),
        sqlite_synchronous="NORMAL",
    )
    issuer = build_issuer(settings)
    try:
        assert _synchronous(issuer.database) == 1
    finally:
        issuer.database.dispose()
