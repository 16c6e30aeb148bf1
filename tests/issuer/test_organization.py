"""Organization identity: start-up refusals (DESIGN §9, SECURITY FLT-07) and key rotation (FLT-08)."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from did_agents.clock import FixedClock
from did_agents.credentials.verify import verify_credential
from did_agents.errors import ConfigurationError, ConflictError, KeyStoreError
from did_agents.issuance.organization import (
    did_web_for,
    init_organization,
    load_organization,
    remove_signing_key,
    rotate_signing_key,
)
from did_agents.keystore import KeyStore, RawKey
from did_agents.storage.database import Database
from issuer.app import create_app
from issuer.settings import IssuerSettings
from tests.issuer.conftest import BASE_URL, Harness


def _settings(tmp_path: Path, db: Database, key: RawKey) -> IssuerSettings:
    return IssuerSettings(
        base_url=BASE_URL,
        data_dir=tmp_path,
        database_url=db.engine.url.render_as_string(hide_password=False),
        keystore_key=key.to_base64url(),
    )


def test_did_web_percent_encodes_the_port() -> None:
    assert did_web_for("https://Issuer.Example:8443") == (
        "did:web:issuer.example%3A8443",
        "issuer.example:8443",
    )
    with pytest.raises(ConfigurationError):
        did_web_for("https://issuer.example/path")


def test_start_up_refuses_a_missing_key_store(tmp_path: Path, db: Database) -> None:
    with pytest.raises(KeyStoreError) as refused:
        create_app(_settings(tmp_path, db, RawKey.generate()))
    assert not (tmp_path / "keystore.json").exists()  # nothing created silently
    assert refused.value.reason


def test_start_up_refuses_a_corrupt_key_store(tmp_path: Path, db: Database) -> None:
    key = RawKey.generate()
    store = KeyStore.create(tmp_path / "keystore.json", key)
    init_organization(db, store, BASE_URL, clock=FixedClock())
    path = tmp_path / "keystore.json"
    path.write_bytes(path.read_bytes()[:-20] + b'garbage"}')
    with pytest.raises(KeyStoreError):
        create_app(_settings(tmp_path, db, key))


def test_start_up_refuses_a_database_without_organization(tmp_path: Path, db: Database) -> None:
    key = RawKey.generate()
    KeyStore.create(tmp_path / "keystore.json", key)
    with pytest.raises(ConfigurationError) as refused:
        create_app(_settings(tmp_path, db, key))
    assert refused.value.reason == "organization_missing"


def test_start_up_refuses_a_key_store_without_the_signing_key(tmp_path: Path, db: Database) -> None:
    init_organization(
        db, KeyStore.create(tmp_path / "a.json", RawKey.generate()), BASE_URL, clock=FixedClock()
    )
    other = RawKey.generate()
    KeyStore.create(tmp_path / "keystore.json", other)
    with pytest.raises(KeyStoreError) as refused:
        create_app(_settings(tmp_path, db, other))
    assert refused.value.reason == "key_missing"


def test_init_refuses_a_second_organization(tmp_path: Path, db: Database) -> None:
    store = KeyStore.create(tmp_path / "keystore.json", RawKey.generate())
    init_organization(db, store, BASE_URL, clock=FixedClock())
    with pytest.raises(ConflictError):
        init_organization(db, store, BASE_URL, clock=FixedClock())


def test_restart_keeps_the_same_identity(tmp_path: Path, db: Database) -> None:
    key = RawKey.generate()
    store = KeyStore.create(tmp_path / "keystore.json", key)
    first = init_organization(db, store, BASE_URL, clock=FixedClock())
    again = load_organization(db, KeyStore.open(tmp_path / "keystore.json", key), BASE_URL)
    assert (again.did, again.signing_kid, again.did_document()) == (
        first.did,
        first.signing_kid,
        first.did_document(),
    )


def test_rotation_keeps_old_keys_published_until_removed(harness: Harness) -> None:
    old = harness.onboard()["credential"]
    issuer = harness.issuer
    before = issuer.organization.signing_kid
    issuer.organization = rotate_signing_key(
        issuer.database, issuer.keystore, issuer.organization, clock=harness.clock
    )
    assert issuer.organization.signing_kid != before
    document = harness.client.get("/.well-known/did.json").json()
    assert set(document["assertionMethod"]) == {before, issuer.organization.signing_kid}
    new = harness.onboard()["credential"]
    assert new["proof"]["verificationMethod"] == issuer.organization.signing_kid

    def verified(credential: dict[str, object]) -> bool:
        return anyio.run(
            lambda: verify_credential(credential, resolver=harness.resolver(), clock=harness.clock)
        ).verified

    assert verified(old) and verified(new)
    with pytest.raises(ConflictError):
        remove_signing_key(
            issuer.database, issuer.keystore, issuer.organization, issuer.organization.signing_kid
        )
    issuer.organization = remove_signing_key(issuer.database, issuer.keystore, issuer.organization, before)
    assert not verified(old) and verified(new)
