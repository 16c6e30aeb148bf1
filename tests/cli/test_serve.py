"""``did-agents serve``: how it starts uvicorn (uvicorn.run replaced; no socket is opened)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import uvicorn
from typer.testing import CliRunner

from did_agents.cli import init, serve
from did_agents.keystore import RawKey


@pytest.fixture
def started(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    monkeypatch.setenv("DID_AGENTS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DID_AGENTS_BASE_URL", "https://issuer.example")
    monkeypatch.setenv("DID_AGENTS_KEYSTORE_KEY", RawKey.generate().to_base64url())
    monkeypatch.delenv("DID_AGENTS_ACCESS_LOG", raising=False)
    result = CliRunner().invoke(init.app, [])
    assert result.exit_code == 0, result.output
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append(options))
    return calls


def test_serve_runs_uvloop_and_httptools_without_an_access_log_by_default(
    started: list[dict[str, Any]],
) -> None:
    result = CliRunner().invoke(serve.app, ["--port", "8123"])
    assert result.exit_code == 0, result.output
    [options] = started
    assert options["loop"] == "uvloop" and options["http"] == "httptools"
    assert (options["host"], options["port"]) == ("127.0.0.1", 8123)
    assert options["access_log"] is False


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        (["--access-log"], None, True),
        (["--no-access-log"], "true", False),
        ([], "true", True),
    ],
)
def test_access_log_by_flag_or_environment(
    started: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    env: str | None,
    expected: bool,
) -> None:
    if env is not None:
        monkeypatch.setenv("DID_AGENTS_ACCESS_LOG", env)
    result = CliRunner().invoke(serve.app, argv)
    assert result.exit_code == 0, result.output
    assert started[0]["access_log"] is expected


def test_serve_refuses_to_start_without_a_key_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DID_AGENTS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DID_AGENTS_BASE_URL", "https://issuer.example")
    monkeypatch.setenv("DID_AGENTS_KEYSTORE_KEY", RawKey.generate().to_base64url())
    calls: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append(options))
    result = CliRunner().invoke(serve.app, [])
    assert result.exit_code != 0 and calls == []
    assert not (tmp_path / "keystore.json").exists()  # nothing created on the way
