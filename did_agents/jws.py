"""Strict JWS Compact Serialization (RFC 7515) and JWT claim checks (RFC 7519).

The one JOSE implementation of did-agents: VC-JOSE (``vc+jwt`` / ``vp+jwt``),
actor tokens and access tokens are all signed and verified here. No third-party
JOSE library is trusted with verification; this module refuses, by design:

* anything but exactly three segments (a five-segment JWE is refused without
  any decryption attempt; SECURITY SEC-10);
* non-canonical base64url: padding, ``+``/``/``, whitespace, stray bits (SEC-12);
* a header that is not a strict JSON object, e.g. with duplicate members (SEC-11);
* ``alg`` outside the allowlist ``EdDSA``/``ES256`` (case-sensitive; ``none``,
  ``HS*``, ``RS*``, ``PS*``, ``ES256K``, ``ES384``… refused, SEC-01/02/03), and an
  ``alg`` that differs from the verification key's own algorithm: the algorithm
  comes from the key, the header must merely agree (RFC 8725 §3.1);
* any ``crit`` (we understand no extension, so every ``crit``, even ``[]`` or a
  non-list, is refused; RFC 7515 §4.1.11, SEC-07);
* ``b64`` (RFC 7797; unencoded payloads are never accepted for tokens, SEC-08);
* key-carrying or key-locating headers ``jwk``, ``jku``, ``x5u``, ``x5c``,
  ``x5t``, ``x5t#S256`` (keys are never taken from the token, SEC-04/05);
* ``zip`` and JWE-only headers (SEC-10);
* a ``kid`` that is not a string of 1…1024 characters without control characters (SEC-06);
* a ``typ`` other than what the caller expects (RFC 8725 §3.11, SEC-09).

Errors (``did_agents.errors``): ``MalformedError`` reason ``malformed`` for
syntax, ``InputTooLargeError`` beyond the size bounds, ``VerificationError``
with reasons ``alg_not_allowed``, ``alg_key_mismatch``, ``crit_not_understood``,
``header_not_allowed``, ``wrong_typ``, ``expired``, ``not_yet_valid``,
``iat_in_future``, ``wrong_issuer``, ``wrong_audience``, ``missing_claim``;
``MalformedError`` reason ``bad_claim_type``; ``SignatureError`` reason
``bad_signature``.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from did_agents import multibase, strict_json
from did_agents.errors import (
    InputTooLargeError,
    MalformedError,
    SignatureError,
    VerificationError,
)
from did_agents.keys import PrivateKey, PublicKey

__all__ = [
    "ALLOWED_ALGORITHMS",
    "DEFAULT_MAX_TOKEN_LENGTH",
    "MAX_KID_LENGTH",
    "REFUSED_HEADERS",
    "ParsedJWS",
    "VerifiedJWS",
    "check_numeric_date",
    "check_typ",
    "parse_compact",
    "sign_compact",
    "validate_claims",
    "verify_compact",
    "verify_parsed",
]

#: RFC 8037 §3.1 ``EdDSA`` (Ed25519) and RFC 7518 §3.4 ``ES256`` (P-256). Case-sensitive (RFC 7515 §4.1.1).
ALLOWED_ALGORITHMS: Final = frozenset({"EdDSA", "ES256"})

#: Header parameters whose presence refuses the token (besides ``crit``, which has its own reason).
REFUSED_HEADERS: Final = frozenset(
    {
        # RFC 7797 §3: unencoded payload option.
        "b64",
        # RFC 7515 §4.1.2-4.1.8: keys and key locations carried by the token itself (RFC 8725 §3.10).
        "jku",
        "jwk",
        "x5u",
        "x5c",
        "x5t",
        "x5t#S256",
        # RFC 7516 §4.1.3 compression, and JWE-only parameters (RFC 7516 §4.1, RFC 7518 §4.6-4.8).
        "zip",
        "enc",
        "epk",
        "apu",
        "apv",
        "iv",
        "tag",
        "p2s",
        "p2c",
    }
)

#: Whole compact token, in characters. A VP-JWT carrying a delegation chain stays far below.
DEFAULT_MAX_TOKEN_LENGTH: Final = 512 * 1024
#: The encoded protected header, in characters.
MAX_HEADER_LENGTH: Final = 8 * 1024
#: SECURITY SEC-06: an absurdly long ``kid`` is refused before it reaches any lookup.
MAX_KID_LENGTH: Final = 1024
#: RFC 7519 §2 NumericDate, kept to integers that are exact in IEEE 754 doubles (SEC-13).
MAX_NUMERIC_DATE: Final = 2**53

_NUMERIC_DATE_CLAIMS: Final = ("exp", "nbf", "iat")
#: C0 controls, DEL and C1 controls (SEC-06).
_KID_CONTROL: Final = re.compile("[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True, slots=True)
class ParsedJWS:
    """A strictly parsed, *unverified* compact JWS."""

    header: dict[str, Any]
    payload: bytes
    signing_input: bytes
    signature: bytes


@dataclass(frozen=True, slots=True)
class VerifiedJWS:
    """A JWS whose signature verified. ``claims`` is the payload when it is a JSON object."""

    header: dict[str, Any]
    payload: bytes
    claims: dict[str, Any] | None


# -- signing ---------------------------------------------------------------------------------


def _encode_json(value: Mapping[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def sign_compact(
    payload: bytes | Mapping[str, Any],
    key: PrivateKey,
    *,
    typ: str | None,
    kid: str | None,
    extra_headers: Mapping[str, Any] | None = None,
) -> str:
    """Sign ``payload`` as a JWS Compact Serialization (RFC 7515 §5.1, §7.1).

    The header is ``{"alg", "typ", "kid", **extra_headers}`` in that order, compact
    JSON; ``alg`` is the key's own algorithm. ``typ=None`` / ``kid=None`` omit the
    member. A mapping payload is serialized as compact UTF-8 JSON. Extra headers
    may not override ``alg``/``typ``/``kid`` nor carry anything this module's
    verifier would refuse (``ValueError``: that is a programming error).
    """
    header: dict[str, Any] = {"alg": key.alg}
    if typ is not None:
        header["typ"] = typ
    if kid is not None:
        _check_kid(kid)
        header["kid"] = kid
    for name, value in (extra_headers or {}).items():
        if name in ("alg", "typ", "kid") or name == "crit" or name in REFUSED_HEADERS:
            raise ValueError(f"header parameter {name!r} cannot be set through extra_headers")
        header[name] = value
    body = payload if isinstance(payload, bytes) else _encode_json(payload)
    signing_input = (
        multibase.b64url_encode(_encode_json(header)) + "." + multibase.b64url_encode(body)
    ).encode("ascii")
    signature = key.sign(signing_input)
    return signing_input.decode("ascii") + "." + multibase.b64url_encode(signature)


# -- parsing ---------------------------------------------------------------------------------


def _check_kid(kid: Any) -> None:
    # SECURITY SEC-06; RFC 7515 §4.1.4 (kid is a case-sensitive string).
    if not isinstance(kid, str) or not kid:
        raise MalformedError("kid must be a non-empty string", reason="malformed")
    if len(kid) > MAX_KID_LENGTH:
        raise MalformedError(f"kid longer than {MAX_KID_LENGTH} characters", reason="malformed")
    if _KID_CONTROL.search(kid):
        raise MalformedError("kid contains control characters", reason="malformed")


def _check_header(header: dict[str, Any]) -> None:
    alg = header.get("alg")
    if "alg" not in header:
        raise MalformedError("JWS header has no alg", reason="malformed")
    # RFC 7515 §4.1.1 (case-sensitive); RFC 8725 §3.1-3.2: allowlist, never "none".
    if not isinstance(alg, str) or alg not in ALLOWED_ALGORITHMS:
        raise VerificationError(f"JWS algorithm {str(alg)[:32]!r} is not allowed", reason="alg_not_allowed")
    # RFC 7515 §4.1.11: recipients MUST reject crit naming extensions they do not understand;
    # we understand none, and an empty or non-list crit is malformed anyway (SEC-07).
    if "crit" in header:
        raise VerificationError("JWS crit header is not understood", reason="crit_not_understood")
    refused = sorted(REFUSED_HEADERS.intersection(header))
    if refused:
        raise VerificationError(
            f"JWS header parameter {refused[0]!r} is not allowed", reason="header_not_allowed"
        )
    if "kid" in header:
        _check_kid(header["kid"])
    for name in ("typ", "cty"):
        if name in header and not isinstance(header[name], str):
            raise MalformedError(f"JWS header {name} must be a string", reason="malformed")


def _segment(text: str, what: str) -> bytes:
    try:
        return multibase.b64url_decode(text)
    except MalformedError as exc:
        raise MalformedError(f"JWS {what} is not canonical base64url", reason="malformed") from exc


def _checked_header(encoded_header: str) -> dict[str, Any]:
    # RFC 7515 §5.2 steps 2-4: base64url-decode, strict JSON object, then the header policy.
    header_bytes = _segment(encoded_header, "header")
    header = strict_json.loads(header_bytes, max_bytes=MAX_HEADER_LENGTH, max_depth=8)
    if not isinstance(header, dict):
        raise MalformedError("JWS header is not a JSON object", reason="malformed")
    _check_header(header)
    return header


@functools.lru_cache(maxsize=256)
def _checked_flat_header(encoded_header: str) -> tuple[tuple[str, Any], ...] | None:
    # An issuer's tokens share one header ({"alg","typ","kid"}), so the checked
    # header is remembered by its encoded form: the checks are a pure function
    # of it, and only headers that passed them are kept (a refusal raises, and
    # lru_cache does not keep exceptions). Headers with nested values (None)
    # are parsed every time, so no caller can share a mutable member.
    header = _checked_header(encoded_header)
    if all(type(value) in (str, int, bool) for value in header.values()):
        return tuple(header.items())
    return None


def parse_compact(token: Any, *, max_length: int = DEFAULT_MAX_TOKEN_LENGTH) -> ParsedJWS:
    """Parse and check a compact JWS without verifying its signature.

    RFC 7515 §5.2 steps 1-6, plus the header policy in the module docstring.
    Raises ``MalformedError``/``InputTooLargeError``/``VerificationError``.
    """
    if isinstance(token, bytes):
        try:
            token = token.decode("ascii")
        except UnicodeDecodeError as exc:
            raise MalformedError("JWS is not ASCII", reason="malformed") from exc
    if not isinstance(token, str):
        raise MalformedError("JWS must be a string", reason="malformed")
    if len(token) > max_length:
        raise InputTooLargeError(f"JWS longer than {max_length} characters")
    parts = token.split(".")
    if len(parts) != 3:
        # RFC 7516 §9: five parts is a JWE; we accept signed JWTs only (SEC-10).
        kind = "a JWE" if len(parts) == 5 else f"{len(parts)} segments"
        raise MalformedError(f"expected a compact JWS with 3 segments, got {kind}", reason="malformed")
    encoded_header, encoded_payload, encoded_signature = parts
    if not encoded_header or len(encoded_header) > MAX_HEADER_LENGTH:
        raise MalformedError("JWS header segment missing or too long", reason="malformed")
    cached = _checked_flat_header(encoded_header)
    header = dict(cached) if cached is not None else _checked_header(encoded_header)
    payload = _segment(encoded_payload, "payload")
    signature = _segment(encoded_signature, "signature")
    return ParsedJWS(
        header=header,
        payload=payload,
        signing_input=(encoded_header + "." + encoded_payload).encode("ascii"),
        signature=signature,
    )


# -- verification ----------------------------------------------------------------------------


def _typ_matches(typ: Any, expected: tuple[str, ...], allow_application_prefix: bool) -> bool:
    if typ in expected:
        return True
    # RFC 7515 §4.1.9: "application/" MAY be omitted from a typ value that has no other "/".
    if allow_application_prefix and isinstance(typ, str) and typ.startswith("application/"):
        short = typ[len("application/") :]
        return "/" not in short and short in expected
    return False


def check_typ(
    header: Mapping[str, Any],
    typ: str | tuple[str, ...],
    *,
    typ_optional: bool = False,
    allow_application_prefix: bool = False,
) -> None:
    """Raise ``VerificationError(wrong_typ)`` unless the header's ``typ`` is an expected one.

    RFC 8725 §3.11 explicit typing; exact, case-sensitive match (see :func:`verify_compact`).
    Callers that must look a key up first use this to refuse a wrong token before any lookup.
    """
    expected = (typ,) if isinstance(typ, str) else tuple(typ)
    header_typ = header.get("typ")
    if header_typ is None and typ_optional:
        return
    if not _typ_matches(header_typ, expected, allow_application_prefix):
        raise VerificationError(f"JWS typ {str(header_typ)[:64]!r} is not {expected}", reason="wrong_typ")


def _claims_of(payload: bytes, max_length: int) -> dict[str, Any] | None:
    stripped = payload.lstrip(b" \t\r\n")
    if not stripped.startswith(b"{"):
        return None
    # A payload that looks like a claims set must parse strictly (RFC 7519 §7.2 step 10, SEC-11).
    claims = strict_json.loads(payload, max_bytes=max_length)
    if not isinstance(claims, dict):  # pragma: no cover - a "{" document is an object or invalid
        raise MalformedError("JWT claims set is not a JSON object", reason="malformed")
    return claims


def verify_compact(
    token: Any,
    key: PublicKey,
    *,
    typ: str | tuple[str, ...],
    typ_optional: bool = False,
    allow_application_prefix: bool = False,
    max_length: int = DEFAULT_MAX_TOKEN_LENGTH,
) -> VerifiedJWS:
    """Verify a compact JWS with ``key``, the key the *caller* chose.

    ``alg`` is taken from ``key`` and the header must agree (``alg_key_mismatch``
    otherwise). ``typ`` is matched exactly (case-sensitive) against ``typ``;
    ``allow_application_prefix`` also accepts ``application/<typ>`` (RFC 7515
    §4.1.9) and ``typ_optional`` accepts a header without ``typ`` (VCDM 1.1 §6.3.1
    JWTs, which carry none). Claims are *not* validated: see :func:`validate_claims`.
    """
    return verify_parsed(
        parse_compact(token, max_length=max_length),
        key,
        typ=typ,
        typ_optional=typ_optional,
        allow_application_prefix=allow_application_prefix,
        max_length=max_length,
    )


def verify_parsed(
    parsed: ParsedJWS,
    key: PublicKey,
    *,
    typ: str | tuple[str, ...],
    typ_optional: bool = False,
    allow_application_prefix: bool = False,
    max_length: int = DEFAULT_MAX_TOKEN_LENGTH,
) -> VerifiedJWS:
    """:func:`verify_compact` for a token already parsed with :func:`parse_compact`.

    For callers that must read the (unverified) header first, e.g. ``kid`` to
    find the key, without parsing the token twice.
    """
    # RFC 8725 §3.1: the algorithm belongs to the key; the header only has to agree with it.
    if parsed.header["alg"] != key.alg:
        raise VerificationError(
            f"JWS alg {parsed.header['alg']} does not match the {key.key_type.value} key",
            reason="alg_key_mismatch",
        )
    check_typ(
        parsed.header, typ, typ_optional=typ_optional, allow_application_prefix=allow_application_prefix
    )
    try:
        key.verify(parsed.signature, parsed.signing_input)
    except SignatureError as exc:
        raise SignatureError("JWS signature does not verify", reason="bad_signature") from exc
    return VerifiedJWS(
        header=parsed.header, payload=parsed.payload, claims=_claims_of(parsed.payload, max_length)
    )


# -- JWT claims (RFC 7519 §4.1) --------------------------------------------------------------


def check_numeric_date(claims: Mapping[str, Any], name: str) -> int | None:
    """The NumericDate claim ``name`` as an int, or ``None`` when absent.

    RFC 7519 §2 allows non-integer values; we do not (SECURITY SEC-13): the value
    must be an ``int`` that is not a ``bool``, with 0 <= value < 2**53.
    """
    if name not in claims:
        return None
    value = claims[name]
    if type(value) is not int or not 0 <= value < MAX_NUMERIC_DATE:
        raise MalformedError(f"JWT claim {name} is not a NumericDate", reason="bad_claim_type")
    return value


def _timestamp(now: datetime | int) -> int:
    if isinstance(now, datetime):
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        return int(now.timestamp())
    if type(now) is not int:
        raise TypeError("now must be a datetime or an int timestamp")
    return now


def validate_claims(
    claims: Mapping[str, Any],
    *,
    now: datetime | int,
    expected_iss: str | None = None,
    expected_aud: str | None = None,
    allow_aud_list: bool = False,
    require: Iterable[str] = ("exp",),
    leeway: int = 0,
) -> None:
    """Check registered JWT claims (RFC 7519 §4.1, §7.2 step 10) against ``now``.

    * ``exp``/``nbf``/``iat``: NumericDate type rules (:func:`check_numeric_date`);
      ``now >= exp + leeway`` → ``expired``; ``now + leeway < nbf`` →
      ``not_yet_valid``; ``iat > now + leeway`` → ``iat_in_future``.
    * ``iss``: exact, case-sensitive string equality with ``expected_iss`` (SEC-14).
    * ``aud``: RFC 7519 §4.1.3 — if ``aud`` is present the recipient must identify
      itself in it, so an ``aud`` with no ``expected_aud`` is refused. Matching is
      exact. A list is refused unless ``allow_aud_list``, and even then it must be
      exactly ``[expected_aud]``: a token also addressed to someone else is refused
      (SEC-14/SEC-55, audience injection against assertions sent to an AS).
    * ``require``: claims that must be present (``missing_claim``).
    """
    if not isinstance(claims, Mapping):
        raise MalformedError("JWT claims set is not a JSON object", reason="malformed")
    for name in require:
        if name not in claims:
            raise VerificationError(f"JWT claim {name} is required", reason="missing_claim")
    current = _timestamp(now)
    exp = check_numeric_date(claims, "exp")
    nbf = check_numeric_date(claims, "nbf")
    iat = check_numeric_date(claims, "iat")
    # RFC 7519 §4.1.4: the current time MUST be before exp.
    if exp is not None and current >= exp + leeway:
        raise VerificationError("JWT has expired", reason="expired")
    # RFC 7519 §4.1.5: the current time MUST be after or equal to nbf.
    if nbf is not None and current + leeway < nbf:
        raise VerificationError("JWT is not yet valid", reason="not_yet_valid")
    # RFC 7519 §4.1.6 leaves iat to the application; a token issued in the future is refused (SEC-13).
    if iat is not None and iat > current + leeway:
        raise VerificationError("JWT was issued in the future", reason="iat_in_future")
    if expected_iss is not None or "iss" in claims:
        iss = claims.get("iss")
        if "iss" in claims and not isinstance(iss, str):
            raise MalformedError("JWT claim iss is not a string", reason="bad_claim_type")
        if expected_iss is not None and iss != expected_iss:
            raise VerificationError("JWT issuer is not the expected one", reason="wrong_issuer")
    if "aud" in claims or expected_aud is not None:
        _check_audience(claims.get("aud"), "aud" in claims, expected_aud, allow_aud_list)


def _check_audience(aud: Any, present: bool, expected: str | None, allow_list: bool) -> None:
    if not present:
        raise VerificationError("JWT has no aud", reason="wrong_audience")
    if isinstance(aud, list):
        if not all(isinstance(item, str) for item in aud):
            raise MalformedError("JWT claim aud is not a string list", reason="bad_claim_type")
        if not allow_list:
            raise VerificationError("JWT aud must be a single string", reason="wrong_audience")
        if expected is None or aud != [expected]:
            raise VerificationError("JWT audience is not exactly this recipient", reason="wrong_audience")
        return
    if not isinstance(aud, str):
        raise MalformedError("JWT claim aud is not a string", reason="bad_claim_type")
    if expected is None or aud != expected:
        raise VerificationError("JWT audience is not this recipient", reason="wrong_audience")
