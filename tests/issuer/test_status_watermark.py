"""SECURITY FLT-14 (backup/restore resurrection): a database restored from a backup taken
before a suspension must not make the agent valid again.

The issuer keeps each status list's newest committed state outside the database (the status
watermark); it refuses to start on a database older than that, and ``did-agents status
reconcile`` writes the newer bits back. Real SQLite files, a real backup (the SQLite online
backup API) and the real issuer start-up (``build_issuer``) and CLI.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from did_agents.audit import AuditLog, AuditQuery
from did_agents.cli.main import app as cli
from did_agents.clock import SystemClock
from did_agents.errors import ConfigurationError
from did_agents.issuance.agents import OnboardingRequest, onboard_agent, resume_agent, suspend_agent
from did_agents.issuance.context import Actor
from did_agents.issuance.organization import init_organization
from did_agents.keystore import KeyStore, RawKey
from did_agents.status.watermark import ListState, StatusWatermark, check
from did_agents.storage import Database
from did_agents.storage.credentials import CredentialRepository
from did_agents.storage.status_lists import StatusListRepository
from issuer.app import build_issuer
from issuer.settings import IssuerSettings

BASE_URL = "https://issuer.urbanbites.example"
OPERATOR = Actor("operator:alice", "admin")
CAPS = [{"resource": "https://mcp.urbanbites.example/", "scopes": ["orders:read"]}]


def _settings(tmp_path: Path) -> IssuerSettings:
    key = RawKey.generate()
    setup = Database.connect(f"sqlite:///{tmp_path / 'did-agents.db'}", upgrade=True)
    init_organization(setup, KeyStore.create(tmp_path / "keystore.json", key), BASE_URL, clock=SystemClock())
    setup.dispose()
    return IssuerSettings(base_url=BASE_URL, data_dir=tmp_path, keystore_key=key.to_base64url())


def _backup(source: Path, target: Path) -> None:
    with sqlite3.connect(source) as live, sqlite3.connect(target) as copy:
        live.backup(copy)


def _suspended(settings: IssuerSettings, credential_id: str) -> bool:
    database = Database.connect(settings.resolved_database_url)
    try:
        with database.read() as conn:
            entry = next(
                e
                for e in CredentialRepository(conn).status_entries(credential_id)
                if e.purpose == "suspension"
            )
            return StatusListRepository(conn).get_bit(entry.list_id, entry.index)
    finally:
        database.dispose()


def _onboard(settings: IssuerSettings) -> tuple[str, str]:
    issuer = build_issuer(settings)
    try:
        result = onboard_agent(
            issuer,
            OnboardingRequest(
                mode="generate",
                name="ordering",
                owner="mailto:ops@x.example",
                kind="delegated",
                capabilities=CAPS,
            ),
            OPERATOR,
        )
        return result.agent.id, result.credential_id
    finally:
        issuer.database.dispose()


def test_restored_database_is_refused_until_reconciled_and_the_suspension_stays(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    database_file = tmp_path / "did-agents.db"
    agent_id, credential_id = _onboard(settings)
    _backup(database_file, tmp_path / "before-suspension.db")

    issuer = build_issuer(settings)
    try:
        suspend_agent(issuer, agent_id, OPERATOR)
    finally:
        issuer.database.dispose()
    assert _suspended(settings, credential_id)
    watermark = settings.resolved_status_watermark_path
    assert stat.S_IMODE(os.stat(watermark).st_mode) == 0o600

    # The operator restores yesterday's backup: the suspension is gone from the database.
    for suffix in ("-wal", "-shm"):
        Path(f"{database_file}{suffix}").unlink(missing_ok=True)
    os.replace(tmp_path / "before-suspension.db", database_file)
    assert not _suspended(settings, credential_id)
    recorded = watermark.read_bytes()

    with pytest.raises(ConfigurationError) as refused:
        build_issuer(settings)
    assert refused.value.reason == "status_rollback"
    assert "did-agents status reconcile" in refused.value.description
    assert watermark.read_bytes() == recorded  # the refusal changed nothing

    result = CliRunner().invoke(cli, ["status", "reconcile", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "bits written back" in result.output and "recorded as suspended again" in result.output
    assert _suspended(settings, credential_id)  # in force again

    issuer = build_issuer(settings)  # starts again
    try:
        with issuer.database.read() as conn:
            events = AuditLog(conn, SystemClock()).query(AuditQuery(type="status.reconciled"))
        assert len(events) == 1 and events[0].event.decision == "info"
        resume_agent(issuer, agent_id, OPERATOR)  # and the lists move on from there
    finally:
        issuer.database.dispose()
    assert not _suspended(settings, credential_id)
    again = CliRunner().invoke(cli, ["status", "reconcile", "--data-dir", str(tmp_path)])
    assert again.exit_code == 0 and "at least as new" in again.output


def test_first_start_creates_the_watermark_and_a_newer_database_raises_it(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    agent_id, _ = _onboard(settings)
    watermark = StatusWatermark(settings.resolved_status_watermark_path)
    first = watermark.load()
    assert first is not None and all(state.version == 0 for state in first.values())
    issuer = build_issuer(settings)
    try:
        suspend_agent(issuer, agent_id, OPERATOR)  # the watermark follows the commit
    finally:
        issuer.database.dispose()
    after = watermark.load()
    assert after is not None and max(state.version for state in after.values()) == 1


def test_merge_keeps_the_newer_version_of_each_list(tmp_path: Path) -> None:
    watermark = StatusWatermark(tmp_path / "w.json")
    old, new = ListState(1, "revocation", 16, b"\x00\x01"), ListState(2, "revocation", 16, b"\x80\x01")
    watermark.record({"a": new, "b": old})
    watermark.record({"a": old, "b": new})
    assert watermark.load() == {"a": new, "b": new}
    check(lambda: {"a": new, "b": new, "c": old}, watermark)  # at or past the watermark: starts
    assert watermark.load() == {"a": new, "b": new, "c": old}
    with pytest.raises(ConfigurationError) as refused:
        check(lambda: {"a": new}, watermark)  # "b" and "c" are missing, with bits set
    assert refused.value.reason == "status_rollback" and "b missing" in refused.value.description
    assert watermark.load() == {"a": new, "b": new, "c": old}  # the refusal wrote nothing


def test_a_database_that_lost_nothing_starts_and_the_watermark_follows_it(tmp_path: Path) -> None:
    watermark = StatusWatermark(tmp_path / "w.json")
    suspended_then_resumed = ListState(4, "suspension", 16, b"\x00\x00")
    never_set = ListState(0, "revocation", 16, b"\x00\x00")
    watermark.record({"s": suspended_then_resumed, "r": never_set})
    # A backup from before the suspend/resume pair and before list "r" was created.
    before = ListState(2, "suspension", 16, b"\x00\x00")
    check(lambda: {"s": before}, watermark)
    assert watermark.load() == {"s": before}
    # Bits that differ at an older version are a loss.
    watermark.record({"s": ListState(3, "suspension", 16, b"\x01\x00")})
    with pytest.raises(ConfigurationError):
        check(lambda: {"s": before}, watermark)


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        '{"format": "other"}',
        json.dumps({"format": "did-agents-status-watermark", "version": 1, "lists": {"a": {"version": 1}}}),
    ],
)
def test_an_unreadable_watermark_refuses_to_start(tmp_path: Path, content: str) -> None:
    path = tmp_path / "w.json"
    path.write_text(content)
    with pytest.raises(ConfigurationError) as refused:
        check(dict, StatusWatermark(path))
    assert refused.value.reason == "status_watermark"
    assert path.read_text() == content


def test_reconcile_with_an_unreadable_watermark_is_one_line_and_changes_nothing(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    watermark = settings.resolved_status_watermark_path
    watermark.write_text("{not json")
    before = (tmp_path / "did-agents.db").read_bytes()
    result = CliRunner().invoke(cli, ["status", "reconcile", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "status_watermark" in result.output and "Traceback" not in result.output
    assert watermark.read_text() == "{not json"
    assert (tmp_path / "did-agents.db").read_bytes() == before
