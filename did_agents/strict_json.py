"""Strict, bounded JSON parsing for everything that crosses a trust boundary.

Python's ``json.loads`` silently keeps the last of duplicate members, accepts
``NaN``/``Infinity`` and has no size or depth bounds. RFC 7515 §5.2 and
RFC 7519 §7.2 allow rejecting duplicates; we always do (SECURITY SEC-11), refuse
non-finite numbers (SEC-13), and bound size and nesting.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Final

from did_agents.errors import InputTooLargeError, MalformedError

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_MAX_DEPTH", "check_depth", "dumps", "dumps_sorted", "loads"]

DEFAULT_MAX_BYTES = 1_000_000
DEFAULT_MAX_DEPTH = 32
_MAX_INT_DIGITS = 40


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Exact: a dict built from the pairs is shorter than the pairs iff a key repeats.
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise MalformedError(f"duplicate JSON member {key!r}", reason="duplicate_member")
            seen.add(key)
    return result


def _refuse_constant(name: str) -> Any:
    raise MalformedError(f"non-finite number {name} is not JSON", reason="malformed")


def _parse_int(text: str) -> int:
    if len(text) > _MAX_INT_DIGITS and len(text.lstrip("-")) > _MAX_INT_DIGITS:
        raise MalformedError("integer too long", reason="malformed")
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise MalformedError("number out of range", reason="malformed")
    return value


# Built once: json.loads would build a decoder with these hooks on every call.
_DECODER = json.JSONDecoder(
    object_pairs_hook=_no_duplicates,
    parse_constant=_refuse_constant,
    parse_int=_parse_int,
    parse_float=_parse_float,
)


def check_depth(value: Any, max_depth: int = DEFAULT_MAX_DEPTH) -> None:
    """Raise ``InputTooLargeError`` if ``value`` nests deeper than ``max_depth``."""
    kind = type(value)
    if (kind is dict or kind is list) and max_depth < 1:
        raise InputTooLargeError(f"JSON nested deeper than {max_depth}")
    try:
        if kind is dict:
            _check_members(value.values(), max_depth - 1, max_depth)
        elif kind is list:
            _check_members(value, max_depth - 1, max_depth)
        elif isinstance(value, dict):
            check_depth(dict(value), max_depth)
        elif isinstance(value, list):
            check_depth(list(value), max_depth)
    except RecursionError:  # a bound beyond Python's recursion limit, and a value that deep
        _check_depth_iteratively(value, max_depth)


def _check_depth_iteratively(value: Any, max_depth: int) -> None:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > max_depth:
                raise InputTooLargeError(f"JSON nested deeper than {max_depth}")
            stack.extend((v, depth + 1) for v in (item.values() if isinstance(item, dict) else item))


def _check_members(members: Iterable[Any], remaining: int, max_depth: int) -> None:
    # One level of recursion per level of nesting, and each level spends one of max_depth
    # (a cycle, too, ends at the bound).
    for member in members:
        kind = type(member)
        if kind is dict or kind is list:
            if remaining < 1:
                raise InputTooLargeError(f"JSON nested deeper than {max_depth}")
            _check_members(member.values() if kind is dict else member, remaining - 1, max_depth)
        elif isinstance(member, dict | list):  # a subclass: judge it as its base type
            check_depth(member, remaining)


def loads(
    data: str | bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> Any:
    """Parse JSON strictly: no duplicate members, no NaN/Infinity, bounded size and depth."""
    if len(data) > max_bytes:
        raise InputTooLargeError(f"JSON larger than {max_bytes} bytes")
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedError("JSON is not UTF-8") from exc
    else:
        text = data
    try:
        value = _DECODER.decode(text)
    except MalformedError:
        raise
    except RecursionError as exc:
        # The C scanner guards its own recursion; absurd nesting ends here, fast.
        raise InputTooLargeError(f"JSON nested deeper than {max_depth}") from exc
    except ValueError as exc:
        raise MalformedError(f"invalid JSON: {exc}") from exc
    if text.count("[") + text.count("{") > max_depth:
        check_depth(value, max_depth)
    return value


def dumps(value: Any) -> str:
    """Compact JSON (not canonical; use ``did_agents.jcs`` for RFC 8785)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _unsupported(value: object) -> object:
    raise TypeError(f"{type(value).__name__} is not JSON")


# One encoder for every call (json.dumps with keyword arguments builds one per call, and so
# does JSONEncoder.encode for its C encoder): ":" and ",", sorted keys, no skipped keys, no
# NaN, non-ASCII written as is (json.encoder.encode_basestring is ensure_ascii=False).
# No circular-reference markers: a cycle ends in RecursionError. c_make_encoder is None
# without the _json accelerator.
_SORTED: Final = json.JSONEncoder(ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":"))
_C_MAKE_ENCODER = getattr(json.encoder, "c_make_encoder", None)
_C_SORTED: Final = (
    _C_MAKE_ENCODER(None, _unsupported, json.encoder.encode_basestring, None, ":", ",", True, False, False)
    if _C_MAKE_ENCODER is not None
    else None
)


def dumps_sorted(value: Any) -> str:
    """Compact JSON with members sorted by name, non-ASCII characters as they are and no
    NaN/Infinity: one text per JSON value (floats in Python's ``repr``, so not RFC 8785 for
    them; :mod:`did_agents.jcs` decides when it is). Raises ``TypeError`` for a non-JSON
    type or key, ``ValueError`` for a non-finite float, ``RecursionError`` for a cycle."""
    if _C_SORTED is not None:
        return "".join(_C_SORTED(value, 0))
    return _SORTED.encode(value)
