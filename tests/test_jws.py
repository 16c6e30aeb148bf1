"""did_agents.jws: RFC 7515 compact JWS, RFC 7519 claims, and SECURITY SEC-01 … SEC-14."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from did_agents import jws
from did_agents.errors import (
    DIDAgentsError,
    InputTooLargeError,
    MalformedError,
    SignatureError,
    VerificationError,
)
from did_agents.keys import KeyType, PrivateKey, PublicKey, generate

VECTORS = Path(__file__).parent / "vectors" / "jose"
ED = generate(KeyType.ED25519)
P256 = generate(KeyType.P256)
MALLORY = generate(KeyType.ED25519)
NOW = 1_796_115_600  # 2026-12-01T09:00:00Z
AS = "https://sts.example.com"
MCP_A = "https://mcp-a.example.com/mcp"


def b64(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def forge(
    header: dict[str, Any] | str | bytes,
    payload: dict[str, Any] | bytes = b'{"sub":"x"}',
    *,
    key: PrivateKey | None = ED,
    signature: bytes | None = None,
) -> str:
    """A token with an arbitrary header, signed by ``key`` (or carrying ``signature``)."""
    if isinstance(header, dict):
        header = json.dumps(header, separators=(",", ":"))
    encoded_payload = b64(
        json.dumps(payload, separators=(",", ":")) if isinstance(payload, dict) else payload
    )
    signing_input = b64(header) + "." + encoded_payload
    if signature is None:
        signature = key.sign(signing_input.encode()) if key is not None else b""
    return signing_input + "." + b64(signature)


def load(name: str) -> dict[str, Any]:
    return json.loads((VECTORS / name).read_text())


def refused(exc: pytest.ExceptionInfo[DIDAgentsError], cls: type[DIDAgentsError], reason: str) -> None:
    assert type(exc.value) is cls, f"{type(exc.value).__name__}: {exc.value}"
    assert exc.value.reason == reason


# -- RFC vectors ----------------------------------------------------------------------------------


def test_rfc8037_a4_signer_reproduces_the_published_jws_byte_for_byte() -> None:
    vector = load("rfc8037-a4-ed25519.json")
    key = PrivateKey.from_jwk(vector["private_jwk"])
    token = jws.sign_compact(vector["payload_text"].encode(), key, typ=None, kid=None)
    assert token == vector["compact"]
    assert token.split(".") == [vector["encoded_header"], vector["encoded_payload"], vector["signature"]]


def test_rfc8037_a4_verifier_accepts_the_published_jws() -> None:
    vector = load("rfc8037-a4-ed25519.json")
    verified = jws.verify_compact(
        vector["compact"], PublicKey.from_jwk(vector["public_jwk"]), typ=(), typ_optional=True
    )
    assert verified.header == vector["protected_header"]
    assert verified.payload == vector["payload_text"].encode()
    assert verified.claims is None  # not a JSON claims set


def test_rfc7515_a3_es256_published_token_verifies() -> None:
    vector = load("rfc7515-a3-es256.json")
    verified = jws.verify_compact(
        vector["compact"], PublicKey.from_jwk(vector["public_jwk"]), typ=(), typ_optional=True
    )
    assert verified.header == {"alg": "ES256"}
    assert verified.payload == vector["payload_text"].encode()
    assert verified.claims == {"iss": "joe", "exp": 1300819380, "http://example.com/is_root": True}


def test_rfc7515_a3_key_signs_tokens_that_verify() -> None:
    vector = load("rfc7515-a3-es256.json")
    key = PrivateKey.from_jwk(vector["private_jwk"])
    token = jws.sign_compact(vector["payload_text"].encode(), key, typ=None, kid=None)
    assert token.startswith(vector["encoded_header"] + "." + vector["encoded_payload"] + ".")
    jws.verify_compact(token, PublicKey.from_jwk(vector["public_jwk"]), typ=(), typ_optional=True)


@pytest.mark.parametrize("name", ["rfc8037-a4-ed25519.json", "rfc7515-a3-es256.json"])
def test_rfc_vectors_with_a_flipped_signature_bit_are_refused(name: str) -> None:
    vector = load(name)
    signature = bytearray(base64.urlsafe_b64decode(vector["signature"] + "=="))
    signature[10] ^= 1
    token = vector["encoded_header"] + "." + vector["encoded_payload"] + "." + b64(bytes(signature))
    with pytest.raises(SignatureError) as exc:
        jws.verify_compact(token, PublicKey.from_jwk(vector["public_jwk"]), typ=(), typ_optional=True)
    refused(exc, SignatureError, "bad_signature")


# -- round trips and API shape ---------------------------------------------------------------------


@pytest.mark.parametrize("key", [ED, P256], ids=["EdDSA", "ES256"])
def test_sign_and_verify_round_trip_with_claims(key: PrivateKey) -> None:
    claims = {"iss": "did:key:z6Mk", "sub": "é", "exp": NOW + 60}
    token = jws.sign_compact(claims, key, typ="actor+jwt", kid="did:key:z6Mk#z6Mk")
    verified = jws.verify_compact(token, key.public_key, typ="actor+jwt")
    assert verified.header == {"alg": key.alg, "typ": "actor+jwt", "kid": "did:key:z6Mk#z6Mk"}
    assert verified.claims == claims


def test_header_members_are_alg_typ_kid_then_extras_in_order() -> None:
    token = jws.sign_compact(b"x", ED, typ="vc+jwt", kid="k", extra_headers={"cty": "vc"})
    header = base64.urlsafe_b64decode(token.split(".")[0] + "==")
    assert header == b'{"alg":"EdDSA","typ":"vc+jwt","kid":"k","cty":"vc"}'


@pytest.mark.parametrize("name", ["alg", "typ", "kid", "crit", "b64", "jwk", "jku", "x5c", "zip"])
def test_sign_refuses_extra_headers_that_the_verifier_would_refuse(name: str) -> None:
    with pytest.raises(ValueError):
        jws.sign_compact(b"x", ED, typ="JWT", kid=None, extra_headers={name: "x"})


def test_parse_compact_does_not_verify_but_checks_the_header() -> None:
    token = forge({"alg": "EdDSA", "kid": "k"}, signature=b"\x00" * 64)
    parsed = jws.parse_compact(token)
    assert parsed.header == {"alg": "EdDSA", "kid": "k"}
    assert parsed.signing_input == token.rsplit(".", 1)[0].encode()
    assert parsed.signature == b"\x00" * 64


def test_a_remembered_header_is_a_fresh_dict_for_every_parse() -> None:
    # parse_compact remembers checked headers by their encoded form; callers
    # still get their own dict, so one caller's change never reaches another.
    token = forge({"alg": "EdDSA", "typ": "JWT", "kid": "k-remembered"}, signature=b"\x00" * 64)
    first = jws.parse_compact(token)
    first.header["kid"] = "changed"
    first.header["jwk"] = {"kty": "OKP"}
    assert jws.parse_compact(token).header == {"alg": "EdDSA", "typ": "JWT", "kid": "k-remembered"}


def test_nested_header_members_are_not_shared_between_parses() -> None:
    token = forge({"alg": "EdDSA", "typ": "JWT", "x-extra": {"a": 1}}, signature=b"\x00" * 64)
    jws.parse_compact(token).header["x-extra"]["a"] = 2
    assert jws.parse_compact(token).header["x-extra"] == {"a": 1}


def test_a_refused_header_is_refused_every_time() -> None:
    token = forge({"alg": "EdDSA", "typ": "JWT", "kid": "bad\u0085kid"})
    for _ in range(3):
        with pytest.raises(MalformedError) as exc:
            jws.parse_compact(token)
        refused(exc, MalformedError, "malformed")


def test_unknown_header_parameters_are_ignored() -> None:
    # RFC 7515 §4: parameters that are not understood MUST be ignored (unless listed in crit).
    token = forge({"alg": "EdDSA", "typ": "JWT", "x-extra": {"a": 1}})
    assert jws.verify_compact(token, ED.public_key, typ="JWT").header["x-extra"] == {"a": 1}


def test_payload_that_looks_like_json_must_be_strict_json() -> None:
    token = forge({"alg": "EdDSA", "typ": "JWT"}, b'{"sub": "a", "sub": "b"}')
    with pytest.raises(MalformedError) as exc:
        jws.verify_compact(token, ED.public_key, typ="JWT")
    refused(exc, MalformedError, "duplicate_member")


def test_token_length_is_bounded() -> None:
    token = jws.sign_compact(b"x" * 2000, ED, typ="JWT", kid=None)
    with pytest.raises(InputTooLargeError):
        jws.parse_compact(token, max_length=1000)
    with pytest.raises(InputTooLargeError):
        jws.parse_compact("a" * (jws.DEFAULT_MAX_TOKEN_LENGTH + 1))


@pytest.mark.parametrize("token", [None, 7, b"\xff.\xff.\xff", "", "a.b", "a.b.c.d"])
def test_non_tokens_are_malformed(token: Any) -> None:
    with pytest.raises(MalformedError) as exc:
        jws.parse_compact(token)
    refused(exc, MalformedError, "malformed")


@pytest.mark.parametrize("header", ['"EdDSA"', "[]", "{", ""])
def test_header_must_be_a_json_object(header: str) -> None:
    with pytest.raises(MalformedError):
        jws.parse_compact(forge(header))


def test_header_without_alg_is_malformed() -> None:
    with pytest.raises(MalformedError) as exc:
        jws.parse_compact(forge({"typ": "JWT"}))
    refused(exc, MalformedError, "malformed")


@pytest.mark.parametrize("name", ["typ", "cty"])
def test_typ_and_cty_must_be_strings(name: str) -> None:
    with pytest.raises(MalformedError):
        jws.parse_compact(forge({"alg": "EdDSA", name: ["JWT"]}))


# -- interop ---------------------------------------------------------------------------------------


def _joserfc_key(key: PrivateKey) -> Any:
    from joserfc.jwk import ECKey, OKPKey

    return (OKPKey if key.key_type is KeyType.ED25519 else ECKey).import_key(key.to_jwk())


def _cryptography_key(key: PrivateKey) -> Any:
    from joserfc.jwk import ECKey, OKPKey

    cls = OKPKey if key.key_type is KeyType.ED25519 else ECKey
    return cls.import_key(key.to_jwk()).private_key


@pytest.fixture
def no_joserfc_security_warning() -> Any:
    from joserfc.errors import SecurityWarning

    # joserfc warns that "EdDSA" is deprecated by RFC 9864 (in favour of "Ed25519"); EdDSA is our wire alg.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)
        yield


@pytest.mark.interop
@pytest.mark.usefixtures("no_joserfc_security_warning")
@pytest.mark.parametrize("key", [ED, P256], ids=["EdDSA", "ES256"])
def test_joserfc_tokens_verify_with_ours(key: PrivateKey) -> None:
    from joserfc import jwt

    token = jwt.encode(
        {"alg": key.alg, "typ": "at+jwt", "kid": "k1"},
        {"sub": "u", "exp": NOW + 60},
        _joserfc_key(key),
        algorithms=[key.alg],
    )
    verified = jws.verify_compact(token, key.public_key, typ="at+jwt")
    assert verified.claims == {"sub": "u", "exp": NOW + 60}
    jws.validate_claims(verified.claims, now=NOW)


@pytest.mark.interop
@pytest.mark.usefixtures("no_joserfc_security_warning")
@pytest.mark.parametrize("key", [ED, P256], ids=["EdDSA", "ES256"])
def test_our_tokens_verify_with_joserfc(key: PrivateKey) -> None:
    from joserfc import jwt
    from joserfc.jwk import ECKey, OKPKey

    token = jws.sign_compact({"sub": "u", "exp": NOW + 60}, key, typ="at+jwt", kid="k1")
    public = (OKPKey if key.key_type is KeyType.ED25519 else ECKey).import_key(key.public_key.to_jwk())
    decoded = jwt.decode(token, public, algorithms=[key.alg])
    assert decoded.claims == {"sub": "u", "exp": NOW + 60}
    assert decoded.header == {"alg": key.alg, "typ": "at+jwt", "kid": "k1"}


@pytest.mark.interop
@pytest.mark.parametrize("key", [ED, P256], ids=["EdDSA", "ES256"])
def test_pyjwt_tokens_verify_with_ours(key: PrivateKey) -> None:
    import jwt as pyjwt

    token = pyjwt.encode(
        {"sub": "u", "aud": MCP_A},
        _cryptography_key(key),
        algorithm=key.alg,
        headers={"typ": "at+jwt", "kid": "k"},
    )
    verified = jws.verify_compact(token, key.public_key, typ="at+jwt")
    assert verified.claims == {"sub": "u", "aud": MCP_A}
    assert verified.header["kid"] == "k"


@pytest.mark.interop
@pytest.mark.parametrize("key", [ED, P256], ids=["EdDSA", "ES256"])
def test_our_tokens_verify_with_pyjwt(key: PrivateKey) -> None:
    import jwt as pyjwt

    token = jws.sign_compact({"sub": "u", "aud": MCP_A}, key, typ="at+jwt", kid="k")
    public = pyjwt.PyJWK(key.public_key.to_jwk(), algorithm=key.alg).key
    assert pyjwt.decode(token, public, algorithms=[key.alg], audience=MCP_A) == {"sub": "u", "aud": MCP_A}
    assert pyjwt.get_unverified_header(token) == {"alg": key.alg, "typ": "at+jwt", "kid": "k"}


# -- SECURITY section A ---------------------------------------------------------------------------

_CLAIMS = {"iss": AS, "sub": "did:key:z6MkUser", "aud": MCP_A, "exp": NOW + 300, "scope": "tools:*"}
_HEADER = {"alg": "EdDSA", "kid": "K1", "typ": "at+jwt"}
_GOOD = forge(_HEADER, _CLAIMS)
_H, _P, _S = _GOOD.split(".")


def _hmac_token(secret: bytes) -> str:
    signing_input = b64(json.dumps({"alg": "HS256", "kid": "K1", "typ": "at+jwt"})) + "." + _P
    return signing_input + "." + b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())


def _public_encodings() -> dict[str, bytes]:
    from joserfc.jwk import OKPKey

    crypto_key = OKPKey.import_key(ED.public_key.to_jwk()).public_key
    return {
        "pem": crypto_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "der": crypto_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "openssh": crypto_key.public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        ),
        "jwk": json.dumps(ED.public_key.to_jwk()).encode(),
        "raw": ED.public_key.raw,
    }


def _p384_token(header_alg: str) -> str:
    p384 = ec.generate_private_key(ec.SECP384R1())
    signing_input = b64(json.dumps({"alg": header_alg, "typ": "at+jwt"})) + "." + _P
    r_s = p384.sign(signing_input.encode(), ec.ECDSA(hashes.SHA384()))
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    r, s = decode_dss_signature(r_s)
    return signing_input + "." + b64(r.to_bytes(48, "big") + s.to_bytes(48, "big"))


def _ed25519_s_plus_l() -> str:
    # RFC 8032 §5.1.7: S must be < L. S' = S + L verifies with lax implementations.
    order = 2**252 + 27742317777372353535851937790883648493
    signature = base64.urlsafe_b64decode(_S + "==")
    s = int.from_bytes(signature[32:], "little") + order
    return _H + "." + _P + "." + b64(signature[:32] + s.to_bytes(32, "little"))


def _es256_der() -> str:
    token = forge({"alg": "ES256", "typ": "at+jwt"}, _CLAIMS, key=P256)
    raw = base64.urlsafe_b64decode(token.split(".")[2] + "==")
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    return token.rsplit(".", 1)[0] + "." + b64(der)


def _jwe(header: dict[str, Any]) -> str:
    return ".".join(
        [b64(json.dumps(header)), b64(b"k" * 40), b64(b"i" * 12), b64(b"c" * 1000), b64(b"t" * 16)]
    )


def _trailing_bits_signature() -> str:
    # 64 bytes → 86 chars; the last char carries 4 unused bits. "A"→"B" sets one of them.
    last = _S[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    twin = alphabet[alphabet.index(last) ^ 1]
    return _H + "." + _P + "." + _S[:-1] + twin


# (id, token, verification key, expected class, expected reason). All are checked with typ="at+jwt".
ATTACKS: list[tuple[str, str, PublicKey, type[DIDAgentsError], str]] = [
    # SEC-01 alg none / unsigned
    *[
        (
            f"SEC-01-{alg}-empty-signature",
            forge({"alg": alg, "typ": "at+jwt"}, _CLAIMS, key=None),
            ED.public_key,
            VerificationError,
            "alg_not_allowed",
        )
        for alg in ("none", "None", "NONE", "nOnE")
    ],
    (
        "SEC-01-none-with-original-signature",
        forge({"alg": "none", "typ": "at+jwt"}, _CLAIMS, signature=b"\x01" * 64),
        ED.public_key,
        VerificationError,
        "alg_not_allowed",
    ),
    ("SEC-01-no-signature-segment", _H + "." + _P, ED.public_key, MalformedError, "malformed"),
    # SEC-02 HMAC keyed with the public key in every encoding
    *[
        (f"SEC-02-HS256-{name}", _hmac_token(secret), ED.public_key, VerificationError, "alg_not_allowed")
        for name, secret in _public_encodings().items()
    ],
    # SEC-03 algorithm / key type / case games
    (
        "SEC-03a-ES256-header-Ed25519-key",
        forge({"alg": "ES256", "typ": "at+jwt"}, _CLAIMS),
        ED.public_key,
        VerificationError,
        "alg_key_mismatch",
    ),
    (
        "SEC-03a-EdDSA-header-P256-key",
        forge({"alg": "EdDSA", "typ": "at+jwt"}, _CLAIMS, key=P256),
        P256.public_key,
        VerificationError,
        "alg_key_mismatch",
    ),
    (
        "SEC-03b-ES256-header-P384-signature",
        _p384_token("ES256"),
        P256.public_key,
        SignatureError,
        "bad_signature",
    ),
    ("SEC-03b-ES384", _p384_token("ES384"), P256.public_key, VerificationError, "alg_not_allowed"),
    *[
        (
            f"SEC-03-{alg}",
            forge({"alg": alg, "typ": "at+jwt"}, _CLAIMS),
            ED.public_key,
            VerificationError,
            "alg_not_allowed",
        )
        for alg in ("eddsa", "EDDSA", "es256", "ES256K", "RS256", "PS256", "Ed25519", "HS512", "ES512")
    ],
    (
        "SEC-03-alg-not-a-string",
        forge({"alg": ["EdDSA"], "typ": "at+jwt"}, _CLAIMS),
        ED.public_key,
        VerificationError,
        "alg_not_allowed",
    ),
    # SEC-04 keys carried in the header, signed by Mallory, "verified" with Mallory's own key
    (
        "SEC-04-jwk",
        forge({**_HEADER, "jwk": MALLORY.public_key.to_jwk()}, _CLAIMS, key=MALLORY),
        MALLORY.public_key,
        VerificationError,
        "header_not_allowed",
    ),
    (
        "SEC-04-x5c",
        forge({**_HEADER, "x5c": ["MIIBszCCAVmgAwIBAgIU"]}, _CLAIMS, key=MALLORY),
        MALLORY.public_key,
        VerificationError,
        "header_not_allowed",
    ),
    (
        "SEC-04-x5t",
        forge({**_HEADER, "x5t#S256": "abc"}, _CLAIMS),
        ED.public_key,
        VerificationError,
        "header_not_allowed",
    ),
    # SEC-05 key URLs (SSRF)
    *[
        (
            f"SEC-05-{name}-{i}",
            forge({**_HEADER, name: url}, _CLAIMS),
            ED.public_key,
            VerificationError,
            "header_not_allowed",
        )
        for i, (name, url) in enumerate(
            [
                ("jku", "http://169.254.169.254/latest/meta-data/"),
                ("jku", "https://attacker.example/jwks.json"),
                ("x5u", "file:///etc/passwd"),
                ("jku", "http://[::ffff:127.0.0.1]:6379/"),
            ]
        )
    ],
    # SEC-06 kid injection / types
    (
        "SEC-06-kid-NUL",
        forge({**_HEADER, "kid": "k1\u0000"}, _CLAIMS),
        ED.public_key,
        MalformedError,
        "malformed",
    ),
    (
        "SEC-06-kid-CR",
        forge({**_HEADER, "kid": "k1\r\nx"}, _CLAIMS),
        ED.public_key,
        MalformedError,
        "malformed",
    ),
    (
        "SEC-06-kid-C1",
        forge({**_HEADER, "kid": "k1\u0085"}, _CLAIMS),
        ED.public_key,
        MalformedError,
        "malformed",
    ),
    ("SEC-06-kid-int", forge({**_HEADER, "kid": 7}, _CLAIMS), ED.public_key, MalformedError, "malformed"),
    ("SEC-06-kid-null", forge({**_HEADER, "kid": None}, _CLAIMS), ED.public_key, MalformedError, "malformed"),
    ("SEC-06-kid-empty", forge({**_HEADER, "kid": ""}, _CLAIMS), ED.public_key, MalformedError, "malformed"),
    (
        "SEC-06-kid-1025",
        forge({**_HEADER, "kid": "k" * 1025}, _CLAIMS),
        ED.public_key,
        MalformedError,
        "malformed",
    ),
    (
        "SEC-06-kid-64KiB",
        forge({**_HEADER, "kid": "k" * 65536}, _CLAIMS),
        ED.public_key,
        MalformedError,
        "malformed",
    ),
    # SEC-07 crit, in every shape
    (
        "SEC-07-crit-extension",
        forge({**_HEADER, "crit": ["x-policy"], "x-policy": "require-mfa"}, _CLAIMS),
        ED.public_key,
        VerificationError,
        "crit_not_understood",
    ),
    *[
        (
            f"SEC-07-crit-{i}",
            forge({**_HEADER, "crit": crit}, _CLAIMS),
            ED.public_key,
            VerificationError,
            "crit_not_understood",
        )
        for i, crit in enumerate([[], "b64", ["alg"], ["exp"], [7], None, {}])
    ],
    (
        "SEC-07-json-serialization-with-unprotected-crit",
        json.dumps({"payload": _P, "protected": _H, "header": {"crit": ["exp"]}, "signature": _S}),
        ED.public_key,
        MalformedError,
        "malformed",
    ),
    # SEC-08 unencoded / detached payloads
    (
        "SEC-08-b64-false-crit",
        forge({**_HEADER, "b64": False, "crit": ["b64"]}, _CLAIMS),
        ED.public_key,
        VerificationError,
        "crit_not_understood",
    ),
    (
        "SEC-08-b64-false-detached",
        forge({**_HEADER, "b64": False, "crit": ["b64"]}, b""),
        ED.public_key,
        VerificationError,
        "crit_not_understood",
    ),
    (
        "SEC-08-b64-false-without-crit",
        forge({**_HEADER, "b64": False}, _CLAIMS),
        ED.public_key,
        VerificationError,
        "header_not_allowed",
    ),
    (
        "SEC-08-b64-true",
        forge({**_HEADER, "b64": True}, _CLAIMS),
        ED.public_key,
        VerificationError,
        "header_not_allowed",
    ),
    ("SEC-08-detached-payload", _H + ".." + _S, ED.public_key, SignatureError, "bad_signature"),
    # SEC-09 typ confusion
    (
        "SEC-09-actor-token-as-access-token",
        forge({**_HEADER, "typ": "actor+jwt"}, _CLAIMS),
        ED.public_key,
        VerificationError,
        "wrong_typ",
    ),
    (
        "SEC-09-vc-jwt-as-access-token",
        forge({**_HEADER, "typ": "vc+jwt"}, _CLAIMS),
        ED.public_key,
        VerificationError,
        "wrong_typ",
    ),
    (
        "SEC-09-typ-JWT",
        forge({**_HEADER, "typ": "JWT"}, _CLAIMS),
        ED.public_key,
        VerificationError,
        "wrong_typ",
    ),
    (
        "SEC-09-no-typ",
        forge({"alg": "EdDSA", "kid": "K1"}, _CLAIMS),
        ED.public_key,
        VerificationError,
        "wrong_typ",
    ),
    (
        "SEC-09-typ-case",
        forge({**_HEADER, "typ": "AT+JWT"}, _CLAIMS),
        ED.public_key,
        VerificationError,
        "wrong_typ",
    ),
    (
        "SEC-09-application-prefix-not-allowed",
        forge({**_HEADER, "typ": "application/at+jwt"}, _CLAIMS),
        ED.public_key,
        VerificationError,
        "wrong_typ",
    ),
    # SEC-10 JWE / compression / PBES2
    (
        "SEC-10-jwe-5-segments",
        _jwe({"alg": "RSA-OAEP", "enc": "A256GCM"}),
        ED.public_key,
        MalformedError,
        "malformed",
    ),
    (
        "SEC-10-jwe-zip-DEF",
        _jwe({"alg": "dir", "enc": "A128GCM", "zip": "DEF"}),
        ED.public_key,
        MalformedError,
        "malformed",
    ),
    (
        "SEC-10-zip-in-jws",
        forge({**_HEADER, "zip": "DEF"}, _CLAIMS),
        ED.public_key,
        VerificationError,
        "header_not_allowed",
    ),
    (
        "SEC-10-pbes2",
        forge({"alg": "PBES2-HS256+A128KW", "p2c": 2_000_000_000, "p2s": "c2FsdA"}, _CLAIMS),
        ED.public_key,
        VerificationError,
        "alg_not_allowed",
    ),
    (
        "SEC-10-enc-in-jws",
        forge({**_HEADER, "enc": "A128GCM"}, _CLAIMS),
        ED.public_key,
        VerificationError,
        "header_not_allowed",
    ),
    # SEC-11 duplicate members
    (
        "SEC-11-duplicate-alg",
        forge('{"alg":"EdDSA","kid":"K1","typ":"at+jwt","alg":"none"}', _CLAIMS),
        ED.public_key,
        MalformedError,
        "duplicate_member",
    ),
    (
        "SEC-11-duplicate-sub",
        forge(_HEADER, b'{"iss":"https://sts.example.com","sub":"did:key:z6MkUser","sub":"did:key:z6MkM"}'),
        ED.public_key,
        MalformedError,
        "duplicate_member",
    ),
    # SEC-12 non-canonical encodings and malleability
    ("SEC-12-padding", _H + "." + _P + "." + _S + "==", ED.public_key, MalformedError, "malformed"),
    ("SEC-12-header-padding", _H + "=." + _P + "." + _S, ED.public_key, MalformedError, "malformed"),
    (
        "SEC-12-plus-slash",
        _H + "." + _P + "." + _S[:-3] + "+/" + _S[-1],
        ED.public_key,
        MalformedError,
        "malformed",
    ),
    ("SEC-12-whitespace", _H + "." + _P + ". " + _S, ED.public_key, MalformedError, "malformed"),
    (
        "SEC-12-crlf",
        _H + "." + _P[:10] + "\r\n" + _P[10:] + "." + _S,
        ED.public_key,
        MalformedError,
        "malformed",
    ),
    ("SEC-12-trailing-bits", _trailing_bits_signature(), ED.public_key, MalformedError, "malformed"),
    ("SEC-12-ed25519-S-plus-L", _ed25519_s_plus_l(), ED.public_key, SignatureError, "bad_signature"),
    ("SEC-12-es256-der-signature", _es256_der(), P256.public_key, SignatureError, "bad_signature"),
    ("SEC-12-non-ascii", _H + "." + _P + "." + _S[:-1] + "é", ED.public_key, MalformedError, "malformed"),
]


@pytest.mark.parametrize(
    ("token", "key", "cls", "reason"), [a[1:] for a in ATTACKS], ids=[a[0] for a in ATTACKS]
)
def test_security_section_a_attacks_are_refused(
    token: str, key: PublicKey, cls: type[DIDAgentsError], reason: str
) -> None:
    with pytest.raises(DIDAgentsError) as exc:
        jws.verify_compact(token, key, typ="at+jwt")
    refused(exc, cls, reason)


def test_the_unattacked_token_verifies() -> None:
    # The control for the table above: only the mutation makes each case fail.
    verified = jws.verify_compact(_GOOD, ED.public_key, typ="at+jwt")
    assert verified.claims == _CLAIMS


def test_sec05_key_urls_cause_no_network_io(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("network I/O attempted")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    for url in ("http://169.254.169.254/latest/meta-data/", "https://attacker.example/jwks.json"):
        with pytest.raises(VerificationError):
            jws.verify_compact(forge({**_HEADER, "jku": url}, _CLAIMS), ED.public_key, typ="at+jwt")


@pytest.mark.parametrize(
    "kid", ["' OR '1'='1", "../../../../dev/null", "did:web:attacker.example#key-1", "k" * 1024]
)
def test_sec06_kid_is_an_opaque_string_for_the_caller(kid: str) -> None:
    # jws never interprets kid: it is returned as-is for the caller's own lookup (which must be exact).
    token = forge({**_HEADER, "kid": kid}, _CLAIMS)
    assert jws.verify_compact(token, ED.public_key, typ="at+jwt").header["kid"] == kid


def test_sec09_application_prefix_accepted_only_when_the_caller_allows_it() -> None:
    token = forge({**_HEADER, "typ": "application/at+jwt"}, _CLAIMS)
    assert jws.verify_compact(token, ED.public_key, typ="at+jwt", allow_application_prefix=True).claims
    with pytest.raises(VerificationError):
        jws.verify_compact(
            forge({**_HEADER, "typ": "application/x/at+jwt"}, _CLAIMS),
            ED.public_key,
            typ="at+jwt",
            allow_application_prefix=True,
        )


def test_sec09_several_expected_typ_values() -> None:
    token = forge({**_HEADER, "typ": "vp+jwt"}, _CLAIMS)
    assert jws.verify_compact(token, ED.public_key, typ=("vc+jwt", "vp+jwt")).header["typ"] == "vp+jwt"


def test_sec10_jwe_is_refused_quickly_without_decryption() -> None:
    big = _jwe({"alg": "dir", "enc": "A128GCM", "zip": "DEF"}) + "A" * 400_000
    start = time.perf_counter()
    with pytest.raises(MalformedError):
        jws.verify_compact(big, ED.public_key, typ="at+jwt")
    assert time.perf_counter() - start < 0.1


def test_sec12_reencoded_copy_does_not_verify() -> None:
    # A replay cache keyed on token bytes can't be bypassed: no other encoding of _GOOD verifies.
    for variant in (_GOOD + "=", _GOOD.replace(".", ".=", 1), " " + _GOOD, _GOOD + "\n"):
        with pytest.raises(MalformedError):
            jws.verify_compact(variant, ED.public_key, typ="at+jwt")


# -- SEC-13 NumericDate types -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": True}, "bad_claim_type"),
        ({"exp": False}, "bad_claim_type"),
        ({"exp": "9999999999"}, "bad_claim_type"),
        ({"exp": 2**63}, "bad_claim_type"),
        ({"exp": 2**53}, "bad_claim_type"),
        ({"exp": 1.7e308}, "bad_claim_type"),
        ({"exp": float(NOW + 60)}, "bad_claim_type"),
        ({"exp": float("nan")}, "bad_claim_type"),
        ({"exp": -1}, "bad_claim_type"),
        ({"exp": None}, "bad_claim_type"),
        ({"exp": NOW + 60, "nbf": False}, "bad_claim_type"),
        ({"exp": NOW + 60, "iat": [NOW]}, "bad_claim_type"),
    ],
)
def test_sec13_numeric_dates_must_be_ints_in_range(claims: dict[str, Any], reason: str) -> None:
    with pytest.raises(MalformedError) as exc:
        jws.validate_claims(claims, now=NOW)
    refused(exc, MalformedError, reason)


@pytest.mark.parametrize(
    "payload",
    [
        b'{"exp":1e400}',
        b'{"exp":NaN}',
        b'{"exp":Infinity}',
        b'{"exp":-Infinity}',
        b'{"exp":' + b"9" * 5000 + b"}",
    ],
    ids=["1e400", "NaN", "Infinity", "-Infinity", "5000-digits"],
)
def test_sec13_non_json_numbers_are_refused_at_parse_time(payload: bytes) -> None:
    with pytest.raises(MalformedError) as exc:
        jws.verify_compact(forge(_HEADER, payload), ED.public_key, typ="at+jwt")
    refused(exc, MalformedError, "malformed")


def test_sec13_iat_in_year_3000_is_refused() -> None:
    with pytest.raises(VerificationError) as exc:
        jws.validate_claims({"exp": NOW + 60, "iat": 32503680000}, now=NOW)
    refused(exc, VerificationError, "iat_in_future")


# -- SEC-14 issuer / audience exact match --------------------------------------------------------------


@pytest.mark.parametrize(
    "iss", ["https://sts.example.com.evil.tld", "https://sts.example", "https://STS.example.com", AS + "/"]
)
def test_sec14_issuer_must_match_exactly(iss: str) -> None:
    with pytest.raises(VerificationError) as exc:
        jws.validate_claims({**_CLAIMS, "iss": iss}, now=NOW, expected_iss=AS, expected_aud=MCP_A)
    refused(exc, VerificationError, "wrong_issuer")


@pytest.mark.parametrize(
    ("aud", "allow_list"),
    [
        ([MCP_A, "https://evil"], False),
        ([MCP_A, "https://evil"], True),
        ([MCP_A], False),
        ("https://mcp-a.example.com/mcp/../admin", False),
        ("https://MCP-A.example.com/mcp", False),
        (MCP_A + "/", False),
        ([], True),
    ],
)
def test_sec14_audience_must_match_exactly(aud: Any, allow_list: bool) -> None:
    with pytest.raises(VerificationError) as exc:
        jws.validate_claims(
            {**_CLAIMS, "aud": aud}, now=NOW, expected_iss=AS, expected_aud=MCP_A, allow_aud_list=allow_list
        )
    refused(exc, VerificationError, "wrong_audience")


@pytest.mark.parametrize("aud", [[AS, "https://other-as"], AS + "/oauth/token", [AS]])
def test_sec14_actor_token_audience_is_exactly_the_sts_as_one_string(aud: Any) -> None:
    with pytest.raises(VerificationError) as exc:
        jws.validate_claims({"iss": "did:key:a", "aud": aud, "exp": NOW + 60}, now=NOW, expected_aud=AS)
    refused(exc, VerificationError, "wrong_audience")


def test_single_element_aud_list_is_accepted_only_when_allowed() -> None:
    jws.validate_claims({**_CLAIMS, "aud": [MCP_A]}, now=NOW, expected_aud=MCP_A, allow_aud_list=True)


def test_aud_present_but_no_expected_audience_is_refused() -> None:
    # RFC 7519 §4.1.3: a recipient that does not identify itself in a present aud MUST reject.
    with pytest.raises(VerificationError) as exc:
        jws.validate_claims(_CLAIMS, now=NOW)
    refused(exc, VerificationError, "wrong_audience")


def test_expected_audience_but_no_aud_is_refused() -> None:
    with pytest.raises(VerificationError) as exc:
        jws.validate_claims({"exp": NOW + 60}, now=NOW, expected_aud=MCP_A)
    refused(exc, VerificationError, "wrong_audience")


@pytest.mark.parametrize("aud", [7, [MCP_A, 7], {"a": 1}])
def test_aud_of_the_wrong_type_is_refused(aud: Any) -> None:
    with pytest.raises(MalformedError) as exc:
        jws.validate_claims({"exp": NOW + 60, "aud": aud}, now=NOW, expected_aud=MCP_A, allow_aud_list=True)
    refused(exc, MalformedError, "bad_claim_type")


def test_iss_of_the_wrong_type_is_refused() -> None:
    with pytest.raises(MalformedError) as exc:
        jws.validate_claims({"exp": NOW + 60, "iss": ["a"]}, now=NOW)
    refused(exc, MalformedError, "bad_claim_type")


# -- RFC 7519 §4.1.4-4.1.6 time rules ------------------------------------------------------------------


def test_rfc7519_exp_current_time_must_be_before_exp() -> None:
    jws.validate_claims({"exp": NOW + 1}, now=NOW)
    with pytest.raises(VerificationError) as exc:
        jws.validate_claims({"exp": NOW}, now=NOW)
    refused(exc, VerificationError, "expired")


def test_rfc7519_exp_leeway() -> None:
    jws.validate_claims({"exp": NOW - 59}, now=NOW, leeway=60)
    with pytest.raises(VerificationError):
        jws.validate_claims({"exp": NOW - 60}, now=NOW, leeway=60)


def test_rfc7519_nbf_current_time_must_be_at_or_after_nbf() -> None:
    jws.validate_claims({"exp": NOW + 60, "nbf": NOW}, now=NOW)
    with pytest.raises(VerificationError) as exc:
        jws.validate_claims({"exp": NOW + 60, "nbf": NOW + 1}, now=NOW)
    refused(exc, VerificationError, "not_yet_valid")
    jws.validate_claims({"exp": NOW + 60, "nbf": NOW + 1}, now=NOW, leeway=1)


def test_iat_equal_to_now_is_accepted_and_later_refused() -> None:
    jws.validate_claims({"exp": NOW + 60, "iat": NOW}, now=NOW)
    with pytest.raises(VerificationError):
        jws.validate_claims({"exp": NOW + 60, "iat": NOW + 1}, now=NOW)


def test_required_claims_must_be_present() -> None:
    with pytest.raises(VerificationError) as exc:
        jws.validate_claims({"sub": "x"}, now=NOW)
    refused(exc, VerificationError, "missing_claim")
    jws.validate_claims({"sub": "x"}, now=NOW, require=())


def test_validate_claims_takes_an_aware_datetime() -> None:
    jws.validate_claims({"exp": NOW + 1}, now=datetime.fromtimestamp(NOW, UTC))
    with pytest.raises(ValueError):
        jws.validate_claims({"exp": NOW + 1}, now=datetime(2026, 12, 1))
    with pytest.raises(TypeError):
        jws.validate_claims({"exp": NOW + 1}, now=float(NOW))  # type: ignore[arg-type]


def test_validate_claims_refuses_a_non_object() -> None:
    with pytest.raises(MalformedError):
        jws.validate_claims(["exp"], now=NOW)  # type: ignore[arg-type]


# -- properties ----------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    payload=st.binary(max_size=300),
    kid=st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=40),
)
def test_any_payload_and_printable_kid_round_trip(payload: bytes, kid: str) -> None:
    assume(not payload.lstrip(b" \t\r\n").startswith(b"{"))  # those must be JSON claims sets
    token = jws.sign_compact(payload, ED, typ="JWT", kid=kid)
    verified = jws.verify_compact(token, ED.public_key, typ="JWT")
    assert verified.payload == payload
    assert verified.header["kid"] == kid
    assert verified.claims is None


@settings(max_examples=60, deadline=None)
@given(
    claims=st.dictionaries(
        st.text(max_size=8),
        st.one_of(st.text(max_size=20), st.integers(0, 2**53 - 1), st.booleans(), st.none()),
        max_size=6,
    )
)
def test_any_claims_set_round_trips(claims: dict[str, Any]) -> None:
    token = jws.sign_compact(claims, P256, typ="JWT", kid=None)
    assert jws.verify_compact(token, P256.public_key, typ="JWT").claims == claims


@settings(max_examples=200, deadline=None)
@given(position=st.integers(min_value=0, max_value=len(_GOOD) - 1), replacement=st.sampled_from("A_-.=+/ x9"))
def test_any_single_character_change_is_refused(position: int, replacement: str) -> None:
    mutated = _GOOD[:position] + replacement + _GOOD[position + 1 :]
    if mutated == _GOOD:
        return
    with pytest.raises(DIDAgentsError):
        jws.verify_compact(mutated, ED.public_key, typ="at+jwt")
