"""RFC 8785 JSON Canonicalization Scheme (JCS).

The input to the ``eddsa-jcs-2022`` cryptosuite's hashing (VC-DI-EDDSA §3.4.3
"Transformation (eddsa-jcs-2022)"). This is the only module that imports the
``rfc8785`` package; its errors become ``MalformedError``.

What JCS does (RFC 8785 §3.2):
    * no whitespace (§3.2.1);
    * strings: UTF-8, only ``"`` ``\\`` and U+0000..U+001F escaped, with the short
      forms ``\\b \\t \\n \\f \\r`` and otherwise ``\\u00xx`` lowercase (§3.2.2.2);
    * numbers: the ECMAScript ``Number.prototype.toString`` form of the IEEE 754
      double (§3.2.2.3), so ``1.0`` and ``1`` both become ``1``, ``-0`` becomes ``0``
      and ``1e21`` becomes ``1e+21``; NaN/Infinity are refused. An integer beyond
      ±(2**53 - 1) is accepted only if it is exactly a double or already spelled
      as the canonical text of its nearest double; otherwise it is refused rather
      than silently rounded (I-JSON, RFC 7493 §2.2);
    * object members sorted by the UTF-16 code units of their names (§3.2.3).

Fast path: for the values credentials are made of — no floats, integers within
±(2**53 - 1), ASCII member names, only ``dict``/``list``/``str``/``int``/``bool``/
``None`` — the standard library's C JSON encoder with sorted keys writes exactly
the RFC 8785 bytes: an integer in that range is its own shortest double text
(§3.2.2.3); ``ensure_ascii=False`` escapes only ``"``, ``\\`` and U+0000..U+001F,
with the short forms and lowercase ``\\u00xx`` (§3.2.2.2), leaving ``/``, U+007F
and U+2028/2029 as they are; and for ASCII names code-point order is UTF-16
code-unit order (§3.2.3). Anything else (a float, a large integer, a non-ASCII
name, a lone surrogate, another type) goes through ``rfc8785``.
tests/test_jcs.py checks the two byte for byte on generated values.
"""

from __future__ import annotations

import math
from typing import Any, Final

import rfc8785

from did_agents import strict_json
from did_agents.errors import InputTooLargeError, MalformedError

__all__ = ["canonicalize"]

_I_JSON_MAX: Final = 2**53 - 1


def _as_double(number: int) -> float:
    # RFC 8785 §3.2.2.3: JSON numbers are IEEE 754 doubles. json.loads returns an
    # int for "9007199254740992" or "63363377339838730", which the rfc8785
    # package refuses outright. Accept the integer when it is exactly a double,
    # or when its digits are already the canonical text of the nearest double
    # (what an ECMAScript issuer writes for a large number); refuse any other
    # spelling rather than silently sign a different number.
    try:
        double = float(number)
    except OverflowError:
        double = math.inf
    if not math.isinf(double) and (
        int(double) == number or rfc8785.dumps(double) == str(number).encode("ascii")
    ):
        return double
    raise MalformedError("integer is not exactly an IEEE 754 double", reason="malformed")


def _exact_doubles(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _exact_doubles(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_exact_doubles(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _I_JSON_MAX:
        return _as_double(value)
    return value


def _plain(value: Any) -> bool:
    # True when every node is in the fast path's domain (module docstring).
    kind = type(value)
    if kind is dict:
        for key, member in value.items():
            if type(key) is not str or not key.isascii():
                return False
            if type(member) is not str and not _plain(member):
                return False
        return True
    if kind is list:
        for member in value:
            if type(member) is not str and not _plain(member):
                return False
        return True
    if kind is int:
        return bool(-_I_JSON_MAX <= value <= _I_JSON_MAX)
    return kind is str or kind is bool or value is None


def _fast_canonicalize(value: Any) -> bytes | None:
    """The RFC 8785 bytes through the C JSON encoder, or None outside its domain (module docstring)."""
    if not _plain(value):
        return None
    text = strict_json.dumps_sorted(value)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: rfc8785 refuses it
        return None


def canonicalize(value: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of a JSON value.

    ``value`` is what ``json.loads`` returns: dict (string keys), list, str,
    int, float, bool, None. Raises ``MalformedError`` for anything that has no
    canonical form (lone surrogates, non-finite or out-of-range numbers,
    non-string keys, other Python types).
    """
    try:
        fast = _fast_canonicalize(value)
        if fast is not None:
            return fast
        try:
            return rfc8785.dumps(value)
        except rfc8785.IntegerDomainError:
            # Rare: retry with large exact integers written as doubles.
            return rfc8785.dumps(_exact_doubles(value))
    except RecursionError as exc:
        raise InputTooLargeError("JSON value nested too deeply to canonicalize") from exc
    except UnicodeEncodeError as exc:
        # A lone surrogate in a member name (RFC 8785 §3.2.2.2: strings are Unicode).
        raise MalformedError("string is not valid Unicode", reason="malformed") from exc
    except rfc8785.FloatDomainError as exc:
        raise MalformedError("NaN or Infinity is not JSON", reason="malformed") from exc
    except rfc8785.CanonicalizationError as exc:
        raise MalformedError(f"cannot canonicalize: {exc}", reason="malformed") from exc
