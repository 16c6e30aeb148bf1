"""The file key store (DESIGN §9, SECURITY FLT-07)."""

from __future__ import annotations

import base64
import json
import logging
import os
import stat
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from did_agents.clock import FixedClock
from did_agents.errors import KeyStoreError
from did_agents.keystore import KeyStore, Passphrase, RawKey, ScryptParams

FAST = ScryptParams(n=2**10, r=8, p=1)
PASS = Passphrase("correct horse battery staple")
SECRET_D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
JWK: dict[str, Any] = {
    "kty": "OKP",
    "crv": "Ed25519",
    "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
    "d": SECRET_D,
}


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "keys" / "org.keystore"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


def _store(path: Path, clock: FixedClock) -> KeyStore:
    return KeyStore.create(path, PASS, scrypt=FAST, clock=clock)


def _reason(exc: pytest.ExceptionInfo[KeyStoreError]) -> str:
    return exc.value.reason


class TestRoundTrip:
    def test_put_get_survives_reopen(self, path: Path, clock: FixedClock) -> None:
        store = _store(path, clock)
        store.put("k1", JWK, purpose="assertion", metadata={"alg": "EdDSA"})
        again = KeyStore.open(path, PASS, clock=clock)
        assert again.get("k1") == JWK
        [entry] = again.list()
        assert (entry.kid, entry.purpose, entry.status, dict(entry.metadata)) == (
            "k1",
            "assertion",
            "active",
            {"alg": "EdDSA"},
        )
        assert entry.created_at == clock.now()

    def test_get_returns_a_copy(self, path: Path, clock: FixedClock) -> None:
        store = _store(path, clock)
        store.put("k1", JWK, purpose="assertion")
        store.get("k1")["d"] = "changed"
        assert store.get("k1")["d"] == SECRET_D

    def test_raw_key_round_trip(self, path: Path, clock: FixedClock) -> None:
        key = RawKey.generate()
        KeyStore.create(path, key, clock=clock).put("k1", JWK, purpose="assertion")
        reopened = KeyStore.open(path, RawKey.from_base64url(key.to_base64url()), clock=clock)
        assert reopened.get("k1") == JWK
        assert json.loads(path.read_text())["kdf"] == {"alg": "dir"}

    def test_file_is_mode_0600_whatever_the_umask(self, path: Path, clock: FixedClock) -> None:
        old = os.umask(0)
        try:
            store = _store(path, clock)
            store.put("k1", JWK, purpose="assertion")
        finally:
            os.umask(old)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600

    def test_atomic_write_leaves_no_temporary_files(self, path: Path, clock: FixedClock) -> None:
        store = _store(path, clock)
        for i in range(3):
            store.put(f"k{i}", JWK, purpose=f"p{i}")
        assert sorted(p.name for p in path.parent.iterdir()) == [".org.keystore.lock", "org.keystore"]

    def test_private_material_is_not_in_the_file_in_clear(self, path: Path, clock: FixedClock) -> None:
        _store(path, clock).put("k1", JWK, purpose="assertion")
        assert SECRET_D not in path.read_text()
        assert base64.b64decode(SECRET_D + "=", altchars=b"-_") not in path.read_bytes()

    def test_two_instances_do_not_lose_each_others_keys(self, path: Path, clock: FixedClock) -> None:
        a = _store(path, clock)
        b = KeyStore.open(path, PASS, clock=clock)
        a.put("k1", JWK, purpose="p1")
        b.put("k2", JWK, purpose="p2")  # re-reads the file under the lock first
        assert {e.kid for e in KeyStore.open(path, PASS).list()} == {"k1", "k2"}
        a.reload()
        assert "k2" in a


class TestRotation:
    def test_new_active_key_retires_the_previous_one_for_that_purpose(
        self, path: Path, clock: FixedClock
    ) -> None:
        store = _store(path, clock)
        store.put("k1", JWK, purpose="token-signing")
        store.put("other", JWK, purpose="assertion")
        clock.advance(timedelta(days=1))
        store.put("k2", JWK, purpose="token-signing")
        assert store.active_kid("token-signing") == "k2"
        assert store.active_kid("assertion") == "other"
        k1 = store.entry("k1")
        assert (k1.status, k1.retired_at) == ("retired", clock.now())
        assert store.get("k1") == JWK  # kept for verification (FLT-08)

    def test_retire_keeps_the_key_but_leaves_no_active_kid(self, path: Path, clock: FixedClock) -> None:
        store = _store(path, clock)
        store.put("k1", JWK, purpose="assertion")
        store.retire("k1")
        assert KeyStore.open(path, PASS).entry("k1").status == "retired"
        with pytest.raises(KeyStoreError) as exc:
            store.active_kid("assertion")
        assert _reason(exc) == "no_active_key"

    def test_delete_refuses_an_active_key(self, path: Path, clock: FixedClock) -> None:
        store = _store(path, clock)
        store.put("k1", JWK, purpose="assertion")
        with pytest.raises(KeyStoreError) as exc:
            store.delete("k1")
        assert _reason(exc) == "key_active"
        store.retire("k1")
        store.delete("k1")
        assert "k1" not in KeyStore.open(path, PASS)

    def test_duplicate_kid_refused(self, path: Path, clock: FixedClock) -> None:
        store = _store(path, clock)
        store.put("k1", JWK, purpose="assertion")
        with pytest.raises(KeyStoreError) as exc:
            store.put("k1", JWK, purpose="assertion")
        assert _reason(exc) == "duplicate_kid"

    def test_unknown_kid(self, path: Path, clock: FixedClock) -> None:
        with pytest.raises(KeyStoreError) as exc:
            _store(path, clock).get("nope")
        assert _reason(exc) == "unknown_kid"

    @pytest.mark.parametrize("jwk", [{}, {"kty": 1}, {"kty": "OKP", "x": float("nan")}])
    def test_put_refuses_non_jwk(self, path: Path, clock: FixedClock, jwk: dict[str, Any]) -> None:
        with pytest.raises(ValueError):
            _store(path, clock).put("k1", jwk, purpose="assertion")


class TestRefusals:
    """A key store that cannot be trusted stops start-up (DESIGN §9, FLT-07)."""

    def test_missing_file_refused(self, path: Path) -> None:
        with pytest.raises(KeyStoreError) as exc:
            KeyStore.open(path, PASS)
        assert _reason(exc) == "keystore_missing"
        assert not path.exists()

    def test_missing_file_created_only_when_asked(self, path: Path) -> None:
        store = KeyStore.open(path, PASS, create=True, scrypt=FAST)
        assert len(store) == 0 and path.exists()

    def test_create_refuses_to_overwrite(self, path: Path, clock: FixedClock) -> None:
        _store(path, clock).put("k1", JWK, purpose="assertion")
        with pytest.raises(KeyStoreError) as exc:
            KeyStore.create(path, PASS, scrypt=FAST)
        assert _reason(exc) == "keystore_exists"
        assert KeyStore.open(path, PASS).get("k1") == JWK

    def test_wrong_passphrase_refused(self, path: Path, clock: FixedClock) -> None:
        _store(path, clock)
        with pytest.raises(KeyStoreError) as exc:
            KeyStore.open(path, Passphrase("wrong"))
        assert _reason(exc) == "keystore_wrong_secret"

    def test_wrong_raw_key_refused(self, path: Path, clock: FixedClock) -> None:
        KeyStore.create(path, RawKey.generate(), clock=clock)
        with pytest.raises(KeyStoreError) as exc:
            KeyStore.open(path, RawKey.generate())
        assert _reason(exc) == "keystore_wrong_secret"

    def test_secret_of_the_wrong_kind_refused(self, path: Path, clock: FixedClock) -> None:
        _store(path, clock)
        with pytest.raises(KeyStoreError) as exc:
            KeyStore.open(path, RawKey.generate())
        assert _reason(exc) == "keystore_secret_kind"

    @pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620])
    def test_group_or_world_accessible_file_refused(self, path: Path, clock: FixedClock, mode: int) -> None:
        _store(path, clock)
        path.chmod(mode)
        with pytest.raises(KeyStoreError) as exc:
            KeyStore.open(path, PASS)
        assert _reason(exc) == "keystore_permissions"

    @pytest.mark.parametrize(
        "corrupt",
        [
            pytest.param(lambda d: b"", id="empty"),
            pytest.param(lambda d: b"{not json", id="not-json"),
            pytest.param(lambda d: d[: len(d) // 2], id="truncated"),
            pytest.param(lambda d: b"[]", id="not-an-object"),
            pytest.param(lambda d: _edit(d, format="something-else"), id="wrong-format"),
            pytest.param(lambda d: _edit(d, version=2), id="unknown-version"),
            pytest.param(lambda d: _edit(d, nonce="AAAA"), id="short-nonce"),
            pytest.param(lambda d: _edit(d, ciphertext="not base64!"), id="bad-base64"),
            pytest.param(lambda d: _edit(d, kdf={"alg": "pbkdf2"}), id="unknown-kdf"),
            pytest.param(lambda d: _edit_kdf(d, n=2**30), id="absurd-scrypt-cost"),
            pytest.param(lambda d: _edit_kdf(d, n=True), id="boolean-scrypt-cost"),
            pytest.param(lambda d: d.replace(b'"enc"', b'"enc":"x","enc"', 1), id="duplicate-member"),
        ],
    )
    def test_corrupt_file_refused(self, path: Path, clock: FixedClock, corrupt: Any) -> None:
        _store(path, clock).put("k1", JWK, purpose="assertion")
        path.write_bytes(corrupt(path.read_bytes()))
        with pytest.raises(KeyStoreError) as exc:
            KeyStore.open(path, PASS)
        assert _reason(exc) == "keystore_corrupt"

    @pytest.mark.parametrize(
        "tamper",
        [
            pytest.param(lambda d: _flip_ciphertext(d), id="ciphertext-bit"),
            pytest.param(lambda d: _edit_kdf(d, n=2**11), id="header-cost-changed"),
            pytest.param(lambda d: _edit_kdf(d, salt="A" * 22), id="header-salt-changed"),
        ],
    )
    def test_tampered_file_fails_authentication(self, path: Path, clock: FixedClock, tamper: Any) -> None:
        # SP 800-38D: the header is AAD, so any change fails the tag check.
        _store(path, clock).put("k1", JWK, purpose="assertion")
        path.write_bytes(tamper(path.read_bytes()))
        with pytest.raises(KeyStoreError) as exc:
            KeyStore.open(path, PASS)
        assert _reason(exc) == "keystore_wrong_secret"

    @pytest.mark.parametrize("text", ["", "short", "A" * 44, "+" * 43])
    def test_raw_key_must_be_32_bytes_base64url(self, text: str) -> None:
        with pytest.raises(KeyStoreError) as exc:
            RawKey.from_base64url(text)
        assert _reason(exc) == "keystore_bad_secret"


class TestNoLeaks:
    def test_private_material_never_in_repr_str_errors_or_logs(
        self, path: Path, clock: FixedClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG, logger="did_agents.keystore")
        raw = RawKey.generate()
        store = _store(path, clock)
        entry = store.put("k1", JWK, purpose="assertion")
        texts = [repr(store), str(store), repr(entry), repr(PASS), str(PASS), repr(raw), str(raw)]
        with pytest.raises(KeyStoreError) as exc:
            KeyStore.open(path, Passphrase("Zq8-hunter2-not-it"))
        texts += [str(exc.value), repr(exc.value), caplog.text]
        blob = "\n".join(texts)
        for secret in (SECRET_D, PASS.value, "Zq8-hunter2-not-it", raw.to_base64url()):
            assert secret not in blob
        assert "k1" in caplog.text  # the log does say what happened


def _edit(data: bytes, **changes: Any) -> bytes:
    document = json.loads(data)
    document.update(changes)
    return json.dumps(document).encode()


def _edit_kdf(data: bytes, **changes: Any) -> bytes:
    document = json.loads(data)
    document["kdf"].update(changes)
    return json.dumps(document).encode()


def _flip_ciphertext(data: bytes) -> bytes:
    document = json.loads(data)
    ct = bytearray(base64.urlsafe_b64decode(document["ciphertext"] + "=="))
    ct[0] ^= 1
    document["ciphertext"] = base64.urlsafe_b64encode(bytes(ct)).rstrip(b"=").decode()
    return json.dumps(document).encode()
