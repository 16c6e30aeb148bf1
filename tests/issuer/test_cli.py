"""The issuer CLI commands: init, operator, org keys, audit — on SQLite and PostgreSQL
(issue 3: the whole issuer test suite runs against both). The database comes from
``DID_AGENTS_DATABASE_URL``, set to ``db_url`` (``tests.db_fixtures``): a new SQLite file,
or a new PostgreSQL schema dropped after the test."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from did_agents.cli import audit, init, operator
from did_agents.keystore import RawKey
from did_agents.storage.database import Database
from did_agents.storage.schema import metadata

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DID_AGENTS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DID_AGENTS_DATABASE_URL", db_url)
    monkeypatch.setenv("DID_AGENTS_BASE_URL", "https://issuer.example")
    monkeypatch.setenv("DID_AGENTS_KEYSTORE_KEY", RawKey.generate().to_base64url())
    return tmp_path


def _dump(url: str) -> str:
    """Every row of every table, as text."""
    database = Database.connect(url)
    try:
        with database.read() as conn:
            return repr([list(conn.execute(select(table))) for table in metadata.sorted_tables])
    finally:
        database.dispose()


def test_init_creates_identity_and_refuses_to_run_twice(env: Path, db_url: str) -> None:
    result = runner.invoke(init.app, ["--admin", "alice"])
    assert result.exit_code == 0, result.output
    # Written to DID_AGENTS_DATABASE_URL, not to the data directory's default SQLite file.
    assert "did:web:issuer.example" in _dump(db_url) and not (env / "did-agents.db").exists()
    assert "did:web:issuer.example" in result.output and "admin token for alice" in result.output
    assert (env / "keystore.json").stat().st_mode & 0o077 == 0
    again = runner.invoke(init.app, [])
    assert again.exit_code == 2 and "keystore_exists" in again.output


def test_operator_tokens_are_created_listed_and_revoked(env: Path, db_url: str) -> None:
    assert runner.invoke(init.app, []).exit_code == 0
    created = runner.invoke(operator.app, ["create", "audrey", "--role", "auditor"])
    assert created.exit_code == 0, created.output
    token = created.output.strip().splitlines()[-1]
    assert token not in _dump(db_url)  # stored hashed
    if db_url.startswith("sqlite"):
        assert token not in Path(str(make_url(db_url).database)).read_bytes().decode("latin-1")
    assert "audrey" in runner.invoke(operator.app, ["list"]).output
    assert runner.invoke(operator.app, ["revoke", "audrey"]).exit_code == 0
    assert "revoked" in runner.invoke(operator.app, ["list"]).output
    assert runner.invoke(operator.app, ["create", "x", "--role", "root"]).exit_code == 2


def test_org_key_rotation_and_audit_verify(env: Path) -> None:
    assert runner.invoke(init.app, []).exit_code == 0
    rotated = runner.invoke(init.org_app, ["rotate-key"])
    assert rotated.exit_code == 0, rotated.output
    keys = runner.invoke(init.org_app, ["keys"]).output
    assert keys.count("did:web:issuer.example#") == 2 and "retired" in keys
    verified = runner.invoke(audit.app, ["verify"])
    assert verified.exit_code == 0 and "chain intact" in verified.output
