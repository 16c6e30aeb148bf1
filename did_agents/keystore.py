"""File key store: private keys as JWK dicts, encrypted at rest.

The store is one JSON file. Its header names the format, the key-derivation
parameters and the cipher; the body is the AES-256-GCM encryption (NIST SP
800-38D) of the key list, with the header bytes as additional authenticated data
so a header edit (a KDF downgrade, a swapped salt) fails decryption::

    {"format": "did-agents/keystore", "version": 1,
     "kdf": {"alg": "scrypt", "salt": <b64url>, "n": 131072, "r": 8, "p": 1},
     "enc": "A256GCM", "nonce": <b64url 12 bytes>, "ciphertext": <b64url>}

The key-encryption key is either derived from a passphrase with scrypt
(RFC 7914; random 16-byte salt; parameters stored in the header) or given
directly as 32 random bytes (``"kdf": {"alg": "dir"}``, the name RFC 7518 §4.5
uses for a directly shared key). Which one is used is decided by the caller
(CLI / settings): pass a :class:`Passphrase` or a :class:`RawKey`.

Rules (DESIGN §9, SECURITY FLT-07):

- writes are atomic (temporary file, ``fsync``, ``rename``, ``fsync`` of the
  directory) and the file is mode ``0600``;
- opening refuses a missing file (unless ``create=True``), a corrupt file, a
  wrong secret and a file readable by group or others, each with a
  :class:`~did_agents.errors.KeyStoreError` and its own ``reason`` — a new store
  is never created silently;
- private material never appears in ``repr``/``str``, errors or log records;
- writers in several processes are serialized with an advisory lock on a
  sidecar ``.<name>.lock`` file and re-read the file before changing it.

The JWK dicts are stored opaquely; ``did_agents.keys`` converts them to key
objects.
"""

from __future__ import annotations

import base64
import binascii
import builtins
import copy
import fcntl
import json
import logging
import os
import secrets
import stat
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from did_agents import jcs, strict_json
from did_agents.clock import Clock, SystemClock, format_datetime, parse_datetime
from did_agents.errors import KeyStoreError, MalformedError
from did_agents.files import write_private_file

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "KeyEntry",
    "KeyStatus",
    "KeyStore",
    "Passphrase",
    "RawKey",
    "ScryptParams",
]

FORMAT = "did-agents/keystore"
FORMAT_VERSION = 1
_ENC = "A256GCM"
_NONCE_BYTES = 12  # SP 800-38D §8.2: 96-bit IVs
_SALT_BYTES = 16
_KEY_BYTES = 32  # AES-256
_MAX_FILE_BYTES = 8 * 1024 * 1024
_MAX_KID_LENGTH = 256

KeyStatus = Literal["active", "retired"]

_log = logging.getLogger(__name__)


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: object) -> bytes:
    if not isinstance(text, str):
        raise ValueError("expected a base64url string")
    if "=" in text or "+" in text or "/" in text:
        raise ValueError("not unpadded base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64url") from exc


@dataclass(frozen=True, repr=False)
class Passphrase:
    """A passphrase the key-encryption key is derived from (scrypt)."""

    value: str = field(compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.value, str) or not self.value:
            raise ValueError("the key store passphrase must be a non-empty string")

    def __repr__(self) -> str:
        return "Passphrase(<redacted>)"


@dataclass(frozen=True, repr=False)
class RawKey:
    """A 32-byte key-encryption key given directly (e.g. base64url in an env var)."""

    value: bytes = field(compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.value, bytes) or len(self.value) != _KEY_BYTES:
            raise ValueError("the key store key must be exactly 32 bytes")

    def __repr__(self) -> str:
        return "RawKey(<redacted>)"

    @classmethod
    def from_base64url(cls, text: str) -> RawKey:
        """Parse 32 bytes written as unpadded base64url (43 characters)."""
        try:
            raw = _b64decode(text.strip())
        except ValueError as exc:
            raise KeyStoreError("the key store key is not base64url", reason="keystore_bad_secret") from exc
        if len(raw) != _KEY_BYTES:
            raise KeyStoreError("the key store key must decode to 32 bytes", reason="keystore_bad_secret")
        return cls(raw)

    @classmethod
    def generate(cls) -> RawKey:
        return cls(secrets.token_bytes(_KEY_BYTES))

    def to_base64url(self) -> str:
        return _b64encode(self.value)


@dataclass(frozen=True)
class ScryptParams:
    """scrypt cost parameters (RFC 7914 §2). The default follows OWASP's 2023
    recommendation (N=2^17, r=8, p=1: 128 MiB, a few hundred milliseconds)."""

    n: int = 2**17
    r: int = 8
    p: int = 1

    def __post_init__(self) -> None:
        # RFC 7914 §2: N is a power of two > 1. The upper bounds keep a crafted
        # header from making ``open`` allocate gigabytes.
        if not (2**10 <= self.n <= 2**20) or self.n & (self.n - 1):
            raise ValueError("scrypt n must be a power of two in [2^10, 2^20]")
        if not (1 <= self.r <= 32) or not (1 <= self.p <= 16):
            raise ValueError("scrypt r must be in [1, 32] and p in [1, 16]")
        if 128 * self.n * self.r > 1024**3:
            raise ValueError("scrypt parameters need more than 1 GiB")


@dataclass(frozen=True)
class KeyEntry:
    """What the store says about a key, without its private material."""

    kid: str
    purpose: str
    status: KeyStatus
    created_at: datetime
    retired_at: datetime | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _StoredKey:
    entry: KeyEntry
    jwk: dict[str, Any] = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        e = self.entry
        return {
            "kid": e.kid,
            "purpose": e.purpose,
            "status": e.status,
            "created_at": format_datetime(e.created_at),
            "retired_at": None if e.retired_at is None else format_datetime(e.retired_at),
            "metadata": dict(e.metadata),
            "jwk": self.jwk,
        }

    @classmethod
    def from_json(cls, value: Any) -> _StoredKey:
        if not isinstance(value, dict):
            raise ValueError("key record is not an object")
        kid, purpose, status = value.get("kid"), value.get("purpose"), value.get("status")
        jwk, metadata = value.get("jwk"), value.get("metadata")
        if not isinstance(kid, str) or not isinstance(purpose, str):
            raise ValueError("key record without kid/purpose")
        if status not in ("active", "retired"):
            raise ValueError("key record with an unknown status")
        if not isinstance(jwk, dict) or not isinstance(metadata, dict):
            raise ValueError("key record without jwk/metadata")
        retired = value.get("retired_at")
        entry = KeyEntry(
            kid=kid,
            purpose=purpose,
            status=status,
            created_at=parse_datetime(value.get("created_at")),
            retired_at=None if retired is None else parse_datetime(retired),
            metadata=metadata,
        )
        return cls(entry=entry, jwk=jwk)


@dataclass(frozen=True)
class _Header:
    kdf: dict[str, Any]

    def aad(self) -> bytes:
        # Everything but nonce and ciphertext is authenticated (SP 800-38D AAD).
        return jcs.canonicalize({"format": FORMAT, "version": FORMAT_VERSION, "kdf": self.kdf, "enc": _ENC})


def _derive(secret: Passphrase | RawKey, kdf: Mapping[str, Any]) -> bytes:
    alg = kdf.get("alg")
    if alg == "dir":
        if not isinstance(secret, RawKey):
            raise KeyStoreError(
                "this key store is encrypted with a raw key, not a passphrase",
                reason="keystore_secret_kind",
            )
        return secret.value
    if alg == "scrypt":
        if not isinstance(secret, Passphrase):
            raise KeyStoreError(
                "this key store is encrypted with a passphrase, not a raw key",
                reason="keystore_secret_kind",
            )
        try:
            params = ScryptParams(n=kdf["n"], r=kdf["r"], p=kdf["p"])
            salt = _b64decode(kdf["salt"])
        except (KeyError, TypeError, ValueError) as exc:
            raise KeyStoreError(
                "key store header has bad scrypt parameters", reason="keystore_corrupt"
            ) from exc
        if len(salt) < _SALT_BYTES or any(type(kdf[k]) is not int for k in ("n", "r", "p")):
            raise KeyStoreError("key store header has bad scrypt parameters", reason="keystore_corrupt")
        return Scrypt(salt=salt, length=_KEY_BYTES, n=params.n, r=params.r, p=params.p).derive(
            secret.value.encode("utf-8")
        )
    raise KeyStoreError("key store header names an unknown KDF", reason="keystore_corrupt")


def _new_kdf(secret: Passphrase | RawKey, scrypt: ScryptParams) -> dict[str, Any]:
    if isinstance(secret, RawKey):
        return {"alg": "dir"}
    return {
        "alg": "scrypt",
        "salt": _b64encode(secrets.token_bytes(_SALT_BYTES)),
        "n": scrypt.n,
        "r": scrypt.r,
        "p": scrypt.p,
    }


def _lock_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.lock")


def _check_kid(kid: object) -> str:
    if not isinstance(kid, str) or not kid or len(kid) > _MAX_KID_LENGTH:
        raise ValueError("kid must be a non-empty string of at most 256 characters")
    if not kid.isprintable():
        raise ValueError("kid must be printable")
    return kid


class KeyStore:
    """An encrypted file of private JWKs, keyed by key id.

    At most one key per ``purpose`` is active; storing a new active key for a
    purpose retires the previous one (it stays available for verification,
    SECURITY FLT-08). Use :meth:`create` or :meth:`open`; the constructor is
    private.
    """

    def __init__(
        self,
        path: Path,
        header: _Header,
        key: bytes,
        keys: dict[str, _StoredKey],
        clock: Clock,
    ) -> None:
        self._path = path
        self._header = header
        self._key = key
        self._keys = keys
        self._clock = clock
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"KeyStore(path={str(self._path)!r}, keys={len(self._keys)})"

    __str__ = __repr__

    @property
    def path(self) -> Path:
        return self._path

    # -- opening ---------------------------------------------------------------

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        secret: Passphrase | RawKey,
        *,
        scrypt: ScryptParams | None = None,
        clock: Clock | None = None,
    ) -> KeyStore:
        """Create a new, empty store. Refuses to overwrite an existing file."""
        target = Path(path)
        header = _Header(kdf=_new_kdf(secret, scrypt or ScryptParams()))
        key = _derive(secret, header.kdf)
        store = cls(target, header, key, {}, clock or SystemClock())
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with store._file_lock():
            if target.exists() or target.is_symlink():
                raise KeyStoreError("a key store already exists at this path", reason="keystore_exists")
            store._write({})
        _log.info("created key store %s", target)
        return store

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        secret: Passphrase | RawKey,
        *,
        create: bool = False,
        scrypt: ScryptParams | None = None,
        clock: Clock | None = None,
    ) -> KeyStore:
        """Open and decrypt an existing store.

        A missing file is an error unless ``create`` is true (DESIGN §9: a
        missing key store stops start-up instead of generating a new key).
        """
        target = Path(path)
        if not target.exists() and create:
            return cls.create(target, secret, scrypt=scrypt, clock=clock)
        header, key, keys = _read(target, secret, cached=None)
        store = cls(target, header, key, keys, clock or SystemClock())
        _log.info("opened key store %s (%d keys)", target, len(keys))
        return store

    def reload(self) -> None:
        """Re-read the file (to see keys another process stored)."""
        with self._lock:
            self._header, self._key, self._keys = _read(self._path, None, cached=(self._header, self._key))

    # -- reading ---------------------------------------------------------------

    def get(self, kid: str) -> dict[str, Any]:
        """A copy of the private JWK stored under ``kid``."""
        with self._lock:
            stored = self._keys.get(kid)
            if stored is None:
                raise KeyStoreError("no key with this kid in the key store", reason="unknown_kid")
            return copy.deepcopy(stored.jwk)

    def entry(self, kid: str) -> KeyEntry:
        with self._lock:
            stored = self._keys.get(kid)
            if stored is None:
                raise KeyStoreError("no key with this kid in the key store", reason="unknown_kid")
            return stored.entry

    def __contains__(self, kid: object) -> bool:
        return kid in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def active_kid(self, purpose: str) -> str:
        """The kid of the active key for ``purpose``."""
        with self._lock:
            for stored in self._keys.values():
                if stored.entry.purpose == purpose and stored.entry.status == "active":
                    return stored.entry.kid
        raise KeyStoreError(f"no active key for purpose {purpose!r}", reason="no_active_key")

    # -- changing --------------------------------------------------------------

    def put(
        self,
        kid: str,
        jwk: Mapping[str, Any],
        *,
        purpose: str,
        metadata: Mapping[str, Any] | None = None,
        active: bool = True,
    ) -> KeyEntry:
        """Store ``jwk`` under ``kid``. If ``active``, the purpose's previous
        active key is retired in the same write."""
        _check_kid(kid)
        if not purpose:
            raise ValueError("purpose must be a non-empty string")
        if not isinstance(jwk, Mapping) or not isinstance(jwk.get("kty"), str):
            raise ValueError("jwk must be a JWK object with a kty member (RFC 7517 §4.1)")
        try:
            # Own copy, and proof that it is plain JSON.
            jwk_copy = strict_json.loads(json.dumps(dict(jwk), allow_nan=False))
            meta_copy = strict_json.loads(json.dumps(dict(metadata or {}), allow_nan=False))
        except (TypeError, ValueError, MalformedError) as exc:
            raise ValueError("jwk and metadata must be JSON objects") from exc
        now = self._clock.now()
        status: KeyStatus = "active" if active else "retired"
        new_entry = KeyEntry(
            kid=kid,
            purpose=purpose,
            status=status,
            created_at=now,
            retired_at=None if active else now,
            metadata=meta_copy,
        )

        def change(keys: dict[str, _StoredKey]) -> None:
            if kid in keys:
                raise KeyStoreError("a key with this kid already exists", reason="duplicate_kid")
            if active:
                for other_kid, other in list(keys.items()):
                    if other.entry.purpose == purpose and other.entry.status == "active":
                        keys[other_kid] = replace(
                            other,
                            entry=replace(other.entry, status="retired", retired_at=now),
                        )
            keys[kid] = _StoredKey(entry=new_entry, jwk=jwk_copy)

        self._mutate(change)
        _log.info("stored key %s (purpose %s, %s)", kid, purpose, status)
        return new_entry

    def retire(self, kid: str) -> KeyEntry:
        """Mark ``kid`` not active; it stays in the store for verification."""
        now = self._clock.now()

        def change(keys: dict[str, _StoredKey]) -> None:
            stored = keys.get(kid)
            if stored is None:
                raise KeyStoreError("no key with this kid in the key store", reason="unknown_kid")
            if stored.entry.status == "active":
                keys[kid] = replace(stored, entry=replace(stored.entry, status="retired", retired_at=now))

        self._mutate(change)
        _log.info("retired key %s", kid)
        return self.entry(kid)

    def delete(self, kid: str) -> None:
        """Remove a retired key for good (after its tokens can no longer be valid)."""

        def change(keys: dict[str, _StoredKey]) -> None:
            stored = keys.get(kid)
            if stored is None:
                raise KeyStoreError("no key with this kid in the key store", reason="unknown_kid")
            if stored.entry.status == "active":
                raise KeyStoreError("retire a key before deleting it", reason="key_active")
            del keys[kid]

        self._mutate(change)
        _log.info("deleted key %s", kid)

    def list(self) -> builtins.list[KeyEntry]:
        """Every key's entry (no private material), oldest first."""
        with self._lock:
            return sorted((s.entry for s in self._keys.values()), key=lambda e: e.created_at)

    # -- file I/O --------------------------------------------------------------

    @contextmanager
    def _file_lock(self) -> Iterator[None]:
        with self._lock:
            fd = os.open(_lock_path(self._path), os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # closing releases the flock

    def _mutate(self, change: Callable[[dict[str, _StoredKey]], None]) -> None:
        with self._file_lock():
            # Another process may have written since we read: start from the file.
            header, key, keys = _read(self._path, None, cached=(self._header, self._key))
            change(keys)
            self._header, self._key = header, key
            self._write(keys)
            self._keys = keys

    def _write(self, keys: Mapping[str, _StoredKey]) -> None:
        plaintext = json.dumps({"keys": [k.to_json() for k in keys.values()]}, separators=(",", ":")).encode(
            "utf-8"
        )
        nonce = secrets.token_bytes(_NONCE_BYTES)
        ciphertext = AESGCM(self._key).encrypt(nonce, plaintext, self._header.aad())
        document = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "kdf": self._header.kdf,
            "enc": _ENC,
            "nonce": _b64encode(nonce),
            "ciphertext": _b64encode(ciphertext),
        }
        write_private_file(self._path, json.dumps(document, indent=1).encode("utf-8") + b"\n")


def _corrupt(message: str) -> KeyStoreError:
    return KeyStoreError(f"key store is corrupt: {message}", reason="keystore_corrupt")


def _read(
    path: Path,
    secret: Passphrase | RawKey | None,
    *,
    cached: tuple[_Header, bytes] | None,
) -> tuple[_Header, bytes, dict[str, _StoredKey]]:
    """Read, check and decrypt the file; reuse the cached key if the header is unchanged."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise KeyStoreError(
            f"no key store at {path}; create one explicitly (never generated silently)",
            reason="keystore_missing",
        ) from None
    except OSError as exc:
        raise KeyStoreError(
            f"cannot stat key store {path}: {exc.strerror}", reason="keystore_unreadable"
        ) from exc
    if not stat.S_ISREG(st.st_mode):
        raise _corrupt("not a regular file")
    if st.st_mode & 0o077:
        raise KeyStoreError(
            f"key store {path} is accessible by group or others "
            f"(mode {stat.S_IMODE(st.st_mode):04o}); chmod 600 it",
            reason="keystore_permissions",
        )
    if st.st_size > _MAX_FILE_BYTES:
        raise _corrupt("file too large")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise KeyStoreError(
            f"cannot read key store {path}: {exc.strerror}", reason="keystore_unreadable"
        ) from exc
    try:
        document = strict_json.loads(raw, max_bytes=_MAX_FILE_BYTES)
    except MalformedError as exc:
        raise _corrupt("not JSON") from exc
    if not isinstance(document, dict):
        raise _corrupt("not a JSON object")
    if document.get("format") != FORMAT:
        raise _corrupt("not a did-agents key store")
    if document.get("version") != FORMAT_VERSION or document.get("enc") != _ENC:
        raise _corrupt("unsupported version or cipher")
    kdf = document.get("kdf")
    if not isinstance(kdf, dict):
        raise _corrupt("no kdf")
    try:
        nonce = _b64decode(document.get("nonce"))
        ciphertext = _b64decode(document.get("ciphertext"))
    except ValueError as exc:
        raise _corrupt("bad base64url") from exc
    if len(nonce) != _NONCE_BYTES or len(ciphertext) < 16:
        raise _corrupt("bad nonce or ciphertext length")
    header = _Header(kdf=kdf)
    if cached is not None and cached[0] == header:
        key = cached[1]
    elif secret is not None:
        key = _derive(secret, kdf)
    else:
        raise KeyStoreError(
            "the key store was re-keyed by another process; open it again",
            reason="keystore_rekeyed",
        )
    try:
        plaintext = AESGCM(key).decrypt(nonce, ciphertext, header.aad())
    except InvalidTag:
        raise KeyStoreError(
            "cannot decrypt the key store: wrong passphrase/key, or the file was altered",
            reason="keystore_wrong_secret",
        ) from None
    try:
        body = strict_json.loads(plaintext, max_bytes=_MAX_FILE_BYTES)
        records = body["keys"]
        if not isinstance(records, builtins.list):
            raise ValueError("keys is not a list")
        keys: dict[str, _StoredKey] = {}
        for record in records:
            stored = _StoredKey.from_json(record)
            if stored.entry.kid in keys:
                raise ValueError("duplicate kid")
            keys[stored.entry.kid] = stored
    except (MalformedError, KeyError, TypeError, ValueError) as exc:
        raise _corrupt("decrypted content is malformed") from exc
    return header, key, keys
