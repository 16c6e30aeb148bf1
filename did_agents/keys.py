"""Key pairs: Ed25519 (default) and P-256.

Public keys serialize as JWK (RFC 7517, RFC 8037 for OKP) and as Multikey
(W3C CID 1.0 §Multikey: multibase base58-btc of a multicodec-prefixed key;
P-256 keys are SEC1-compressed). Signatures are raw: 64 bytes for Ed25519
(RFC 8032) and IEEE P1363 ``r || s`` for ES256 (RFC 7518 §3.4), which is also
what ecdsa-rdfc-2019 uses.

Ed25519 verification uses libsodium (PyNaCl), which refuses non-canonical
``S >= L`` (RFC 8032 §5.1.7) and small-order keys; P-256 uses ``cryptography``.
Private material never appears in ``repr``/``str``.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import nacl.bindings
import nacl.exceptions
import nacl.signing
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from did_agents import multibase
from did_agents.errors import MalformedError, SignatureError

__all__ = ["KeyType", "PrivateKey", "PublicKey", "generate"]

_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


class KeyType(StrEnum):
    ED25519 = "Ed25519"
    P256 = "P-256"

    @property
    def alg(self) -> str:
        """The JOSE algorithm for this key type (RFC 8037 §3.1, RFC 7518 §3.4)."""
        return "EdDSA" if self is KeyType.ED25519 else "ES256"

    @classmethod
    def parse(cls, value: str) -> KeyType:
        normalized = value.strip().lower().replace("-", "")
        for member in cls:
            if member.value.lower().replace("-", "") == normalized:
                return member
        raise ValueError(f"unknown key type {value!r} (use ed25519 or p256)")


def _b64(value: bytes) -> str:
    return multibase.b64url_encode(value)


def _jwk_member(jwk: dict[str, Any], name: str, size: int) -> bytes:
    value = jwk.get(name)
    if not isinstance(value, str):
        raise MalformedError(f"JWK member {name!r} missing", reason="malformed_key")
    raw = multibase.b64url_decode(value)
    if len(raw) != size:
        raise MalformedError(f"JWK member {name!r} has the wrong length", reason="malformed_key")
    return raw


@dataclass(frozen=True, slots=True)
class PublicKey:
    """A verification key. ``raw`` is 32 bytes (Ed25519) or 33 compressed bytes (P-256)."""

    key_type: KeyType
    raw: bytes
    _impl: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.key_type is KeyType.ED25519:
            if len(self.raw) != 32:
                raise MalformedError("Ed25519 public key must be 32 bytes", reason="malformed_key")
            # did:key §Signature Method Creation step 4 (invalidPublicKey); SECURITY SEC-28: refuse
            # non-canonical encodings, points off the curve and small-order points (e.g. the identity)
            # at import, not only when a signature is checked.
            if not nacl.bindings.crypto_core_ed25519_is_valid_point(self.raw):
                raise MalformedError("Ed25519 public key is not a valid curve point", reason="malformed_key")
            impl: Any = nacl.signing.VerifyKey(self.raw)
        else:
            if len(self.raw) != 33 or self.raw[0] not in (2, 3):
                raise MalformedError("P-256 public key must be 33 compressed bytes", reason="malformed_key")
            try:
                impl = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), self.raw)
            except ValueError as exc:
                raise MalformedError("P-256 point is not on the curve", reason="malformed_key") from exc
        object.__setattr__(self, "_impl", impl)

    # -- encodings ---------------------------------------------------------------------------

    @property
    def alg(self) -> str:
        return self.key_type.alg

    @property
    def multicodec(self) -> int:
        return multibase.ED25519_PUB if self.key_type is KeyType.ED25519 else multibase.P256_PUB

    def to_multikey(self) -> str:
        """``publicKeyMultibase`` (CID 1.0 §Multikey): ``z6Mk…`` or ``zDn…``."""
        return multibase.encode(multibase.encode_multicodec(self.multicodec, self.raw))

    @classmethod
    def from_multikey(cls, value: str) -> PublicKey:
        if not isinstance(value, str) or not value.startswith("z"):
            raise MalformedError("Multikey must be base58-btc ('z')", reason="malformed_key")
        code, raw = multibase.decode_multicodec(multibase.decode(value))
        if code == multibase.ED25519_PUB:
            return cls(KeyType.ED25519, raw)
        if code == multibase.P256_PUB:
            return cls(KeyType.P256, raw)
        raise MalformedError(f"unsupported multicodec 0x{code:x}", reason="unsupported_key")

    def to_jwk(self) -> dict[str, str]:
        if self.key_type is KeyType.ED25519:
            return {"kty": "OKP", "crv": "Ed25519", "x": _b64(self.raw)}
        numbers = self._impl.public_numbers()
        return {
            "kty": "EC",
            "crv": "P-256",
            "x": _b64(numbers.x.to_bytes(32, "big")),
            "y": _b64(numbers.y.to_bytes(32, "big")),
        }

    @classmethod
    def from_jwk(cls, jwk: Any) -> PublicKey:
        """Import a public JWK. Only OKP/Ed25519 and EC/P-256 are accepted."""
        if not isinstance(jwk, dict):
            raise MalformedError("JWK must be an object", reason="malformed_key")
        kty, crv = jwk.get("kty"), jwk.get("crv")
        if kty == "OKP" and crv == "Ed25519":
            return cls(KeyType.ED25519, _jwk_member(jwk, "x", 32))
        if kty == "EC" and crv == "P-256":
            x = _jwk_member(jwk, "x", 32)
            y = _jwk_member(jwk, "y", 32)
            uncompressed = b"\x04" + x + y
            try:
                point = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), uncompressed)
            except ValueError as exc:
                raise MalformedError("P-256 point is not on the curve", reason="malformed_key") from exc
            return cls(KeyType.P256, point.public_bytes(Encoding.X962, PublicFormat.CompressedPoint))
        raise MalformedError(f"unsupported JWK kty={kty!r} crv={crv!r}", reason="unsupported_key")

    def thumbprint(self) -> str:
        """RFC 7638 JWK thumbprint (SHA-256, base64url)."""
        jwk = self.to_jwk()
        required = ("crv", "kty", "x") if self.key_type is KeyType.ED25519 else ("crv", "kty", "x", "y")
        canonical = json.dumps({k: jwk[k] for k in required}, separators=(",", ":"), sort_keys=True)
        return _b64(hashlib.sha256(canonical.encode()).digest())

    # -- verification ------------------------------------------------------------------------

    def verify(self, signature: bytes, message: bytes) -> None:
        """Raise ``SignatureError`` unless ``signature`` is valid for ``message``."""
        if self.key_type is KeyType.ED25519:
            if len(signature) != 64:
                raise SignatureError("Ed25519 signature must be 64 bytes")
            try:
                self._impl.verify(message, signature)
            except nacl.exceptions.BadSignatureError as exc:
                raise SignatureError("signature does not verify") from exc
            return
        if len(signature) != 64:
            raise SignatureError("ES256 signature must be 64 bytes (r || s)")
        r = int.from_bytes(signature[:32], "big")
        s = int.from_bytes(signature[32:], "big")
        if not (0 < r < _P256_ORDER and 0 < s < _P256_ORDER):
            raise SignatureError("ES256 signature out of range")
        try:
            self._impl.verify(encode_dss_signature(r, s), message, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature as exc:
            raise SignatureError("signature does not verify") from exc


class PrivateKey:
    """A signing key. Construct with :func:`generate` or the ``from_*`` class methods."""

    __slots__ = ("_impl", "_secret", "key_type", "public_key")

    def __init__(self, key_type: KeyType, secret: bytes) -> None:
        if len(secret) != 32:
            raise MalformedError("private key must be 32 bytes", reason="malformed_key")
        self.key_type = key_type
        self._secret = secret
        if key_type is KeyType.ED25519:
            signing = nacl.signing.SigningKey(secret)
            self._impl: Any = signing
            self.public_key = PublicKey(key_type, bytes(signing.verify_key))
        else:
            value = int.from_bytes(secret, "big")
            if not 0 < value < _P256_ORDER:
                raise MalformedError("P-256 private scalar out of range", reason="malformed_key")
            priv = ec.derive_private_key(value, ec.SECP256R1())
            self._impl = priv
            self.public_key = PublicKey(
                key_type,
                priv.public_key().public_bytes(Encoding.X962, PublicFormat.CompressedPoint),
            )

    def __repr__(self) -> str:
        return f"PrivateKey({self.key_type.value}, public={self.public_key.to_multikey()})"

    __str__ = __repr__

    @property
    def alg(self) -> str:
        return self.key_type.alg

    def sign(self, message: bytes) -> bytes:
        """Raw signature: 64 bytes Ed25519, or ``r || s`` for ES256."""
        if self.key_type is KeyType.ED25519:
            return bytes(self._impl.sign(message).signature)
        der = self._impl.sign(message, ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def to_jwk(self) -> dict[str, str]:
        """Private JWK (with ``d``). Handle with care: this is the secret."""
        return {**self.public_key.to_jwk(), "d": _b64(self._secret)}

    @classmethod
    def from_jwk(cls, jwk: Any) -> PrivateKey:
        public = PublicKey.from_jwk(jwk)
        key = cls(public.key_type, _jwk_member(jwk, "d", 32))
        if key.public_key != public:
            raise MalformedError("JWK private and public parts do not match", reason="malformed_key")
        return key

    def to_multikey_secret(self) -> str:
        """``secretKeyMultibase`` (CID 1.0 §Multikey): ed25519-priv / p256-priv multicodec."""
        code = multibase.ED25519_PRIV if self.key_type is KeyType.ED25519 else multibase.P256_PRIV
        return multibase.encode(multibase.encode_multicodec(code, self._secret))

    @classmethod
    def from_multikey_secret(cls, value: str) -> PrivateKey:
        code, raw = multibase.decode_multicodec(multibase.decode(value))
        if code == multibase.ED25519_PRIV:
            return cls(KeyType.ED25519, raw)
        if code == multibase.P256_PRIV:
            return cls(KeyType.P256, raw)
        raise MalformedError(f"unsupported secret multicodec 0x{code:x}", reason="unsupported_key")


def generate(key_type: KeyType | str = KeyType.ED25519) -> PrivateKey:
    """A fresh key pair from the OS CSPRNG."""
    kt = key_type if isinstance(key_type, KeyType) else KeyType.parse(key_type)
    if kt is KeyType.ED25519:
        return PrivateKey(kt, bytes(nacl.signing.SigningKey.generate()))
    while True:
        secret = os.urandom(32)
        if 0 < int.from_bytes(secret, "big") < _P256_ORDER:
            return PrivateKey(kt, secret)
