"""RFC 9068 JWT access tokens: the verifier's signing keys, minting, JWKS, and self-verification.

Signing keys live in the encrypted key store under purpose
``access-token`` (``did_agents.keystore``). The active key signs; retired keys
stay published in the JWKS until deleted, so tokens signed before a rotation
keep verifying at resource servers while they live (key rotation with overlap,
SECURITY FLT-08). ``kid`` is the key's RFC 7638 thumbprint.

Header (RFC 9068 §2.1): ``{"alg", "typ": "at+jwt", "kid"}``; ``alg`` is the
key's own algorithm: ``EdDSA`` (default) or ``ES256``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from did_agents import jws
from did_agents.errors import KeyStoreError, VerificationError
from did_agents.keys import KeyType, PrivateKey, PublicKey, generate
from did_agents.keystore import KeyStore

__all__ = [
    "ACCESS_TOKEN_TYP",
    "KEY_PURPOSE",
    "AccessTokenSigner",
    "SigningAlgorithm",
    "create_first_key",
]

_log = logging.getLogger(__name__)

#: RFC 9068 §2.1: "at+jwt" (the "application/" prefix omitted, RFC 7515 §4.1.9).
ACCESS_TOKEN_TYP: Final = "at+jwt"  # noqa: S105 - a media type / URN, not a secret
KEY_PURPOSE: Final = "access-token"
SigningAlgorithm = Literal["EdDSA", "ES256"]
_KEY_TYPES: Final[Mapping[str, KeyType]] = {"EdDSA": KeyType.ED25519, "ES256": KeyType.P256}


@dataclass(frozen=True, slots=True)
class _Key:
    kid: str
    public: PublicKey


class AccessTokenSigner:
    """Signs access tokens with the key store's active ``access-token`` key; serves the JWKS."""

    def __init__(self, keystore: KeyStore, *, algorithm: SigningAlgorithm = "EdDSA") -> None:
        if algorithm not in _KEY_TYPES:
            raise ValueError(f"unsupported access-token algorithm {algorithm!r}")
        self._keystore = keystore
        self._algorithm: SigningAlgorithm = algorithm
        self._lock = threading.Lock()
        self._active: tuple[str, PrivateKey] | None = None
        self._published: dict[str, _Key] = {}
        self.refresh()

    @property
    def algorithm(self) -> SigningAlgorithm:
        return self._algorithm

    @classmethod
    def open(
        cls, keystore: KeyStore, *, algorithm: SigningAlgorithm = "EdDSA", create: bool = True
    ) -> AccessTokenSigner:
        """The signer for ``keystore``. ``did-agents init`` creates the first access-token key
        (:func:`create_first_key`); with ``create``, a store that has *no* access-token key at
        all (made before that) gets one here, with a warning in the log. A store whose keys
        are all retired is an error (nothing is generated silently, SECURITY FLT-07)."""
        if not any(entry.purpose == KEY_PURPOSE for entry in keystore.list()):
            if not create:
                raise KeyStoreError(
                    "the key store has no access-token signing key (`did-agents init` creates it)",
                    reason="no_active_key",
                )
            kid = _store_new_key(keystore, algorithm)
            # Stores made before `did-agents init` created this key: said out loud (SECURITY FLT-07).
            _log.warning("the key store had no access-token signing key: created %s", kid)
        return cls(keystore, algorithm=algorithm)

    def refresh(self) -> None:
        """Re-read the key store (after a rotation, possibly by another process)."""
        entries = [e for e in self._keystore.list() if e.purpose == KEY_PURPOSE]
        published: dict[str, _Key] = {}
        active: tuple[str, PrivateKey] | None = None
        for entry in entries:
            private = PrivateKey.from_jwk(self._keystore.get(entry.kid))
            published[entry.kid] = _Key(entry.kid, private.public_key)
            if entry.status == "active":
                active = (entry.kid, private)
        if active is None:
            raise KeyStoreError("no active access-token signing key", reason="no_active_key")
        if active[1].alg != self._algorithm:
            raise KeyStoreError(
                f"the active access-token key is {active[1].alg}, but {self._algorithm} is configured",
                reason="key_algorithm_mismatch",
            )
        with self._lock:
            self._active = active
            self._published = published

    def rotate(self) -> str:
        """Make a new active key; the previous one stays published (retired). Returns the new kid."""
        kid = _store_new_key(self._keystore, self._algorithm)
        self.refresh()
        return kid

    def remove(self, kid: str) -> None:
        """Delete a retired key: tokens it signed stop verifying at resource servers."""
        self._keystore.delete(kid)
        self.refresh()

    @property
    def active_kid(self) -> str:
        assert self._active is not None
        return self._active[0]

    def sign(self, claims: Mapping[str, Any]) -> tuple[str, str]:
        """``(token, kid)`` for ``claims`` (RFC 9068 §2.1 header)."""
        with self._lock:
            assert self._active is not None
            kid, key = self._active
        return jws.sign_compact(claims, key, typ=ACCESS_TOKEN_TYP, kid=kid), kid

    def jwks(self) -> dict[str, Any]:
        """RFC 7517 §5 JWK Set of every published key (public members only)."""
        with self._lock:
            keys = sorted(self._published.values(), key=lambda k: k.kid)
        return {
            "keys": [{**k.public.to_jwk(), "kid": k.kid, "alg": k.public.alg, "use": "sig"} for k in keys]
        }

    def verify(self, token: str) -> dict[str, Any]:
        """Verify a token we minted: known ``kid``, ``typ`` ``at+jwt``, signature. Claims are
        returned unchecked (the caller checks ``iss``/``exp``)."""
        parsed = jws.parse_compact(token)
        kid = parsed.header.get("kid")
        with self._lock:
            key = self._published.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise VerificationError("unknown kid", reason="unknown_key")
        verified = jws.verify_parsed(parsed, key.public, typ=ACCESS_TOKEN_TYP)
        if verified.claims is None:
            raise VerificationError("access token payload is not a JSON object", reason="malformed")
        return verified.claims


def create_first_key(keystore: KeyStore, algorithm: SigningAlgorithm = "EdDSA") -> str | None:
    """Create the first ``access-token`` signing key of a new key store (``did-agents init``)
    and return its kid; ``None`` (nothing created) if the store already has one."""
    if algorithm not in _KEY_TYPES:
        raise ValueError(f"unsupported access-token algorithm {algorithm!r}")
    if any(entry.purpose == KEY_PURPOSE for entry in keystore.list()):
        return None
    return _store_new_key(keystore, algorithm)


def _store_new_key(keystore: KeyStore, algorithm: SigningAlgorithm) -> str:
    key = generate(_KEY_TYPES[algorithm])
    kid = key.public_key.thumbprint()
    keystore.put(kid, key.to_jwk(), purpose=KEY_PURPOSE, metadata={"alg": key.alg}, active=True)
    return kid
