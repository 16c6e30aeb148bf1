"""Key pairs (did_agents.keys): RFC vectors, encodings, and refusal of malleable or invalid input.

Vectors: tests/vectors/keys/ (RFC 8037 Appendix A, RFC 7515 Appendix A.3).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from hypothesis import given, settings
from hypothesis import strategies as st

from did_agents import multibase
from did_agents.errors import MalformedError, SignatureError
from did_agents.keys import KeyType, PrivateKey, PublicKey, generate

VECTORS = Path(__file__).parent / "vectors" / "keys"
RFC8037 = json.loads((VECTORS / "rfc8037.json").read_text())
RFC7515_A3 = json.loads((VECTORS / "rfc7515-a3.json").read_text())

ED25519_L = 2**252 + 27742317777372353535851937790883648493  # RFC 8032 §5.1
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
P256_P = 2**256 - 2**224 + 2**192 + 2**96 - 1


def b64(text: str) -> bytes:
    return multibase.b64url_decode(text)


@contextmanager
def malformed(reason: str = "malformed_key") -> Iterator[None]:
    with pytest.raises(MalformedError) as caught:
        yield
    assert caught.value.reason == reason, caught.value.description


# -- RFC 8037 Appendix A (Ed25519) ---------------------------------------------------------------


def test_rfc8037_a1_private_key_gives_the_a2_public_key() -> None:
    key = PrivateKey.from_jwk(RFC8037["a1_private_jwk"])
    assert key.key_type is KeyType.ED25519
    assert key.public_key.to_jwk() == RFC8037["a2_public_jwk"]
    assert PublicKey.from_jwk(RFC8037["a2_public_jwk"]) == key.public_key


def test_rfc8037_a3_jwk_thumbprint() -> None:
    assert PublicKey.from_jwk(RFC8037["a2_public_jwk"]).thumbprint() == RFC8037["a3_thumbprint"]


def test_rfc8037_a4_signature_is_reproduced() -> None:
    key = PrivateKey.from_jwk(RFC8037["a1_private_jwk"])
    assert key.sign(RFC8037["a4_signing_input"].encode()) == b64(RFC8037["a4_signature"])


def test_rfc8037_a5_signature_verifies() -> None:
    public = PublicKey.from_jwk(RFC8037["a2_public_jwk"])
    public.verify(b64(RFC8037["a4_signature"]), RFC8037["a4_signing_input"].encode())


def test_ed25519_signature_over_other_bytes_is_refused() -> None:
    public = PublicKey.from_jwk(RFC8037["a2_public_jwk"])
    signature = b64(RFC8037["a4_signature"])
    with pytest.raises(SignatureError):
        public.verify(signature, RFC8037["a4_signing_input"].encode() + b".")
    flipped = bytes([signature[0] ^ 1]) + signature[1:]
    with pytest.raises(SignatureError):
        public.verify(flipped, RFC8037["a4_signing_input"].encode())


def test_ed25519_non_canonical_s_plus_l_is_refused() -> None:
    # RFC 8032 §5.1.7 step 1: reject S >= L. S + L verifies under lax implementations (SEC-12).
    public = PublicKey.from_jwk(RFC8037["a2_public_jwk"])
    signature = b64(RFC8037["a4_signature"])
    s = int.from_bytes(signature[32:], "little")
    assert s + ED25519_L < 2**256
    malleated = signature[:32] + (s + ED25519_L).to_bytes(32, "little")
    with pytest.raises(SignatureError):
        public.verify(malleated, RFC8037["a4_signing_input"].encode())


@pytest.mark.parametrize("length", [0, 63, 65, 128])
def test_ed25519_signature_of_wrong_length_is_refused(length: int) -> None:
    public = PublicKey.from_jwk(RFC8037["a2_public_jwk"])
    signature = (b64(RFC8037["a4_signature"]) * 2)[:length]
    with pytest.raises(SignatureError):
        public.verify(signature, RFC8037["a4_signing_input"].encode())


SMALL_ORDER_OR_INVALID_ED25519 = {
    "identity (order 1)": "01" + "00" * 31,
    "order 2 (y = -1)": "ec" + "ff" * 30 + "7f",
    "order 4 (y = 0)": "00" * 32,
    "order 4 (y = 0, sign bit)": "00" * 31 + "80",
    "non-canonical y = p": "ed" + "ff" * 30 + "7f",
    "not on the curve": "02" + "00" * 31,
}


@pytest.mark.parametrize(
    "raw", SMALL_ORDER_OR_INVALID_ED25519.values(), ids=SMALL_ORDER_OR_INVALID_ED25519.keys()
)
def test_ed25519_public_key_must_be_a_valid_point(raw: str) -> None:
    # did:key §Signature Method Creation step 4 (invalidPublicKey); SECURITY SEC-28.
    with malformed():
        PublicKey(KeyType.ED25519, bytes.fromhex(raw))


@given(st.binary(min_size=32, max_size=32))
@settings(max_examples=200)
def test_any_32_bytes_are_either_refused_or_a_usable_key(raw: bytes) -> None:
    try:
        key = PublicKey(KeyType.ED25519, raw)
    except MalformedError as exc:
        assert exc.reason == "malformed_key"
        return
    assert PublicKey.from_multikey(key.to_multikey()) == key
    assert PublicKey.from_jwk(key.to_jwk()) == key
    with pytest.raises(SignatureError):
        key.verify(bytes(64), b"message")


# -- ES256 (RFC 7515 A.3, RFC 7518 §3.4) -----------------------------------------------------------


def test_rfc7515_a3_es256_signature_verifies() -> None:
    public = PublicKey.from_jwk(RFC7515_A3["public_jwk"])
    public.verify(b64(RFC7515_A3["signature"]), RFC7515_A3["signing_input"].encode())


def test_rfc7515_a3_private_key_matches_its_public_key() -> None:
    key = PrivateKey.from_jwk({**RFC7515_A3["public_jwk"], "d": RFC7515_A3["d"]})
    assert key.public_key.to_jwk() == RFC7515_A3["public_jwk"]
    message = RFC7515_A3["signing_input"].encode()
    key.public_key.verify(key.sign(message), message)


def _es256_parts() -> tuple[PublicKey, bytes, int, int]:
    public = PublicKey.from_jwk(RFC7515_A3["public_jwk"])
    signature = b64(RFC7515_A3["signature"])
    return public, signature, int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")


def test_es256_der_signature_is_refused() -> None:
    # RFC 7518 §3.4: JWS ECDSA signatures are R || S, 64 bytes; DER is another encoding (SEC-12).
    public, _, r, s = _es256_parts()
    der = encode_dss_signature(r, s)
    with pytest.raises(SignatureError):
        public.verify(der, RFC7515_A3["signing_input"].encode())


@pytest.mark.parametrize("length", [0, 32, 63, 65, 96])
def test_es256_signature_of_wrong_length_is_refused(length: int) -> None:
    public, signature, _, _ = _es256_parts()
    with pytest.raises(SignatureError):
        public.verify((signature * 2)[:length], RFC7515_A3["signing_input"].encode())


@pytest.mark.parametrize(
    "which",
    ["r = 0", "s = 0", "r = n", "s = n", "r = 2^256 - 1", "s = 2^256 - 1"],
)
def test_es256_signature_values_out_of_range_are_refused(which: str) -> None:
    public, _, r, s = _es256_parts()
    value = {"0": 0, "n": P256_N, "2^256 - 1": 2**256 - 1}[which.split(" = ")[1]]
    r, s = (value, s) if which.startswith("r") else (r, value)
    with pytest.raises(SignatureError):
        public.verify(r.to_bytes(32, "big") + s.to_bytes(32, "big"), RFC7515_A3["signing_input"].encode())


def test_es256_signature_over_other_bytes_is_refused() -> None:
    public, signature, _, _ = _es256_parts()
    with pytest.raises(SignatureError):
        public.verify(signature, RFC7515_A3["signing_input"].encode() + b"x")


@given(st.binary(min_size=64, max_size=64))
@settings(max_examples=100)
def test_arbitrary_es256_signatures_fail_only_with_signature_error(signature: bytes) -> None:
    public, _, _, _ = _es256_parts()
    with pytest.raises(SignatureError):
        public.verify(signature, b"not the signing input")


def test_p256_jwk_point_not_on_curve_is_refused() -> None:
    jwk = dict(RFC7515_A3["public_jwk"])
    y = int.from_bytes(b64(jwk["y"]), "big")
    jwk["y"] = multibase.b64url_encode(((y + 1) % P256_P).to_bytes(32, "big"))
    with malformed():
        PublicKey.from_jwk(jwk)


def test_p256_jwk_coordinate_not_reduced_is_refused() -> None:
    jwk = dict(RFC7515_A3["public_jwk"])
    x = int.from_bytes(b64(jwk["x"]), "big")
    if x + P256_P < 2**256:
        jwk["x"] = multibase.b64url_encode((x + P256_P).to_bytes(32, "big"))
    else:
        jwk["x"] = multibase.b64url_encode(P256_P.to_bytes(32, "big"))
    with malformed():
        PublicKey.from_jwk(jwk)


@pytest.mark.parametrize(
    "raw",
    [
        b"\x02" + (1).to_bytes(32, "big"),  # x = 1: x^3 - 3x + b is not a square mod p
        b"\x04" + bytes(32),  # uncompressed tag on 33 bytes
        b"\x00" + bytes(32),  # point at infinity tag
        bytes(65),
        b"\x02" + P256_P.to_bytes(32, "big"),  # x = p
    ],
)
def test_p256_compressed_point_must_be_on_the_curve(raw: bytes) -> None:
    with malformed():
        PublicKey(KeyType.P256, raw)


@pytest.mark.parametrize("scalar", [0, P256_N, P256_N + 1])
def test_p256_private_scalar_must_be_in_range(scalar: int) -> None:
    with malformed():
        PrivateKey(KeyType.P256, scalar.to_bytes(32, "big"))


# -- JWK and Multikey round trips --------------------------------------------------------------------


@pytest.mark.parametrize("key_type", list(KeyType))
def test_public_jwk_round_trip(key_type: KeyType) -> None:
    for _ in range(5):
        public = generate(key_type).public_key
        assert PublicKey.from_jwk(public.to_jwk()) == public


@pytest.mark.parametrize("key_type", list(KeyType))
def test_private_jwk_round_trip(key_type: KeyType) -> None:
    key = generate(key_type)
    again = PrivateKey.from_jwk(key.to_jwk())
    assert again.public_key == key.public_key
    message = b"round trip"
    key.public_key.verify(again.sign(message), message)


@pytest.mark.parametrize(("key_type", "prefix"), [(KeyType.ED25519, "z6Mk"), (KeyType.P256, "zDn")])
def test_multikey_round_trip(key_type: KeyType, prefix: str) -> None:
    # CID 1.0 §Multikey: ed25519-pub 0xed → z6Mk…, p256-pub 0x1200 (compressed) → zDn…
    public = generate(key_type).public_key
    value = public.to_multikey()
    assert value.startswith(prefix)
    assert PublicKey.from_multikey(value) == public


@pytest.mark.parametrize(
    ("key_type", "code"), [(KeyType.ED25519, multibase.ED25519_PRIV), (KeyType.P256, multibase.P256_PRIV)]
)
def test_secret_multikey_round_trip(key_type: KeyType, code: int) -> None:
    key = generate(key_type)
    value = key.to_multikey_secret()
    assert multibase.decode_multicodec(multibase.decode(value))[0] == code
    assert PrivateKey.from_multikey_secret(value).public_key == key.public_key


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (multibase.encode(b"\xed\x01" + bytes(31) + b"\x01", "u"), "malformed_key"),  # base64url Multikey
        ("z" + "1" * 10, "unsupported_key"),
        (multibase.encode(multibase.encode_multicodec(0xE7, b"\x02" + bytes(32))), "unsupported_key"),
        (multibase.encode(multibase.encode_multicodec(multibase.X25519_PUB, bytes(32))), "unsupported_key"),
    ],
)
def test_multikey_refusals(value: str, reason: str) -> None:
    with malformed(reason):
        PublicKey.from_multikey(value)


X = RFC8037["a2_public_jwk"]["x"]

BAD_JWKS: dict[str, tuple[Any, str]] = {
    "not an object": ([X], "malformed_key"),
    "RSA": ({"kty": "RSA", "n": "AQAB", "e": "AQAB"}, "unsupported_key"),
    "X25519": ({"kty": "OKP", "crv": "X25519", "x": X}, "unsupported_key"),
    "Ed448": ({"kty": "OKP", "crv": "Ed448", "x": X}, "unsupported_key"),
    "secp256k1": ({"kty": "EC", "crv": "secp256k1", "x": X, "y": X}, "unsupported_key"),
    "P-384": ({"kty": "EC", "crv": "P-384", "x": X, "y": X}, "unsupported_key"),
    "oct": ({"kty": "oct", "k": X}, "unsupported_key"),
    "missing x": ({"kty": "OKP", "crv": "Ed25519"}, "malformed_key"),
    "x not a string": ({"kty": "OKP", "crv": "Ed25519", "x": 7}, "malformed_key"),
    "x 31 bytes": (
        {"kty": "OKP", "crv": "Ed25519", "x": multibase.b64url_encode(b64(X)[:31])},
        "malformed_key",
    ),
    "missing y": ({**RFC7515_A3["public_jwk"], "y": None}, "malformed_key"),
    "x padded": ({"kty": "OKP", "crv": "Ed25519", "x": X + "="}, "malformed"),
    "x in standard base64": ({"kty": "OKP", "crv": "Ed25519", "x": X.replace("_", "/")}, "malformed"),
}


@pytest.mark.parametrize(("jwk", "reason"), BAD_JWKS.values(), ids=BAD_JWKS.keys())
def test_jwk_refusals(jwk: Any, reason: str) -> None:
    with malformed(reason):
        PublicKey.from_jwk(jwk)


def test_private_jwk_whose_halves_do_not_match_is_refused() -> None:
    other = generate().public_key.to_jwk()["x"]
    with malformed():
        PrivateKey.from_jwk({**RFC8037["a1_private_jwk"], "x": other})


def test_private_key_never_shows_its_secret() -> None:
    key = PrivateKey.from_jwk(RFC8037["a1_private_jwk"])
    for text in (repr(key), str(key)):
        assert RFC8037["a1_private_jwk"]["d"] not in text
        assert key.to_multikey_secret() not in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ed25519", KeyType.ED25519),
        ("Ed25519", KeyType.ED25519),
        ("p256", KeyType.P256),
        ("P-256", KeyType.P256),
    ],
)
def test_key_type_names(text: str, expected: KeyType) -> None:
    assert KeyType.parse(text) is expected


def test_unknown_key_type_name_is_refused() -> None:
    with pytest.raises(ValueError):
        KeyType.parse("secp256k1")


def test_algorithms_come_from_the_key_type() -> None:
    assert generate(KeyType.ED25519).alg == "EdDSA"
    assert generate(KeyType.P256).public_key.alg == "ES256"
