"""``did-agents init`` creates the verifier's first ``access-token`` signing key, so the verifier
starts with it instead of generating one (SECURITY FLT-07: keys are made on purpose)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

from did_agents.cli import init
from did_agents.exchange.access_token import KEY_PURPOSE, create_first_key
from did_agents.keystore import KeyStore, RawKey
from verifier.app import create_app
from verifier.settings import VerifierSettings

POLICY = (
    'version = 1\n[[trusted_issuers]]\ndid = "did:web:issuer.example"\nscopes = ["orders:read"]\n'
    '[[resources]]\nurl = "https://mcp.example/mcp"\n'
)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, RawKey]:
    key = RawKey.generate()
    monkeypatch.setenv("DID_AGENTS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DID_AGENTS_BASE_URL", "https://issuer.example")
    monkeypatch.setenv("DID_AGENTS_KEYSTORE_KEY", key.to_base64url())
    (tmp_path / "policy.toml").write_text(POLICY)
    return tmp_path, key


def _token_keys(path: Path, key: RawKey) -> list[str]:
    store = KeyStore.open(path / "keystore.json", key)
    return [entry.kid for entry in store.list() if entry.purpose == KEY_PURPOSE]


@pytest.mark.parametrize("algorithm", ["EdDSA", "ES256"])
def test_init_creates_the_first_access_token_key(
    env: tuple[Path, RawKey],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    algorithm: str,
) -> None:
    path, key = env
    monkeypatch.setenv("DID_AGENTS_TOKEN_ALGORITHM", algorithm)
    result = CliRunner().invoke(init.app, [])
    assert result.exit_code == 0, result.output
    [kid] = _token_keys(path, key)
    assert f"access-token key: {kid}" in result.output
    with caplog.at_level(logging.WARNING):
        app = create_app(VerifierSettings())
    assert "had no access-token signing key" not in caplog.text  # nothing generated at start
    jwks = app.state.verifier.exchange.signer.jwks()
    assert [(k["kid"], k["alg"]) for k in jwks["keys"]] == [(kid, algorithm)]
    assert _token_keys(path, key) == [kid]


def test_a_store_from_before_init_made_the_key_gets_one_with_a_warning(
    env: tuple[Path, RawKey], caplog: pytest.LogCaptureFixture
) -> None:
    path, key = env
    KeyStore.create(path / "keystore.json", key)
    with caplog.at_level(logging.WARNING):
        create_app(VerifierSettings())
    assert "had no access-token signing key" in caplog.text
    assert len(_token_keys(path, key)) == 1


def test_create_first_key_only_creates_the_first(tmp_path: Path) -> None:
    store = KeyStore.create(tmp_path / "keystore.json", RawKey.generate())
    kid = create_first_key(store)
    assert kid is not None
    assert create_first_key(store) is None
    assert [e.kid for e in store.list() if e.purpose == KEY_PURPOSE] == [kid]
