"""``DID_AGENTS_VC_API_OPEN_ISSUE``: for conformance runs only, off by default, and loud when on
(issue 3 "W3C VC API")."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from did_agents.keystore import RawKey
from issuer.app import create_app
from issuer.settings import IssuerSettings
from tests.issuer.conftest import BASE_URL, Harness

_VARIABLE = "DID_AGENTS_VC_API_OPEN_ISSUE"


@pytest.fixture
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env file
    monkeypatch.delenv(_VARIABLE, raising=False)
    monkeypatch.setenv("DID_AGENTS_BASE_URL", BASE_URL)
    monkeypatch.setenv("DID_AGENTS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DID_AGENTS_KEYSTORE_KEY", RawKey.generate().to_base64url())


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and _VARIABLE in r.getMessage()
    ]


@pytest.mark.usefixtures("environment")
def test_open_issue_is_off_by_default_and_silent(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    settings = IssuerSettings()
    assert settings.vc_api_open_issue is False
    with caplog.at_level(logging.WARNING):
        create_app(settings, issuer=harness.issuer)
    assert _warnings(caplog) == []


@pytest.mark.usefixtures("environment")
def test_open_issue_logs_a_warning_at_app_creation(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(_VARIABLE, "true")
    settings = IssuerSettings()
    assert settings.vc_api_open_issue is True
    with caplog.at_level(logging.WARNING):
        create_app(settings, issuer=harness.issuer)
    assert len(_warnings(caplog)) == 1
    assert "conformance" in _warnings(caplog)[0]
