"""RFC 8785 JSON Canonicalization Scheme (did_agents.jcs)."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from did_agents import strict_json
from did_agents.errors import MalformedError
from did_agents.jcs import _fast_canonicalize
from did_agents.jcs import canonicalize as jcs_canonicalize

VECTORS = Path(__file__).parent / "vectors" / "rfc8785"
APPENDIX_B = json.loads((VECTORS / "appendix_b_numbers.json").read_text("utf-8"))

_I_JSON_MAX = 2**53 - 1

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-_I_JSON_MAX, max_value=_I_JSON_MAX)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(), children, max_size=5),
    max_leaves=25,
)


def _utf16_code_units(text: str) -> list[int]:
    # An oracle independent of the implementation: split astral code points
    # into their surrogate pair by arithmetic (Unicode §3.9, UTF-16).
    units = []
    for char in text:
        point = ord(char)
        if point < 0x10000:
            units.append(point)
        else:
            point -= 0x10000
            units.extend([0xD800 + (point >> 10), 0xDC00 + (point & 0x3FF)])
    return units


def _member_orders(value: Any) -> list[list[str]]:
    orders: list[list[str]] = []

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        orders.append([key for key, _ in pairs])
        return dict(pairs)

    json.loads(value, object_pairs_hook=hook)
    return orders


# --- RFC 8785 samples --------------------------------------------------------------------


@pytest.mark.parametrize(("bits", "expected"), APPENDIX_B, ids=[row[0] for row in APPENDIX_B])
def test_rfc8785_appendix_b_number_serialization(bits: str, expected: str | None) -> None:
    number = struct.unpack(">d", bytes.fromhex(bits))[0]
    if expected is None:
        with pytest.raises(MalformedError) as info:
            jcs_canonicalize(number)
        assert info.value.reason == "malformed"
    else:
        assert jcs_canonicalize(number) == expected.encode("ascii")


def test_rfc8785_3_2_2_sample() -> None:
    # RFC 8785 §3.2.2: the sample input, parsed, and its canonical output.
    source = (
        '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
        ' "literals": [null, true, false]}'
    )
    expected = (
        '{"literals":[null,true,false],'
        '"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )
    assert jcs_canonicalize(json.loads(source)) == expected.encode("utf-8")


def test_rfc8785_3_2_3_property_sorting_sample() -> None:
    # RFC 8785 §3.2.3: names sorted by UTF-16 code units, not code points.
    value = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    result = json.loads(jcs_canonicalize(value))
    assert list(result.values()) == [
        "Carriage Return",
        "One",
        "Control",
        "Latin Small Letter O With Diaeresis",
        "Euro Sign",
        "Emoji: Grinning Face",
        "Hebrew Letter Dalet With Dagesh",
    ]


# --- §3.2.1 / §3.2.2.2 strings and whitespace --------------------------------------------


def test_rfc8785_3_2_1_no_whitespace() -> None:
    assert jcs_canonicalize({"a": [1, {"b": None}]}) == b'{"a":[1,{"b":null}]}'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\b\t\n\f\r", b'"\\b\\t\\n\\f\\r"'),
        ("\x00\x1f", b'"\\u0000\\u001f"'),
        ('"\\', b'"\\"\\\\"'),
        ("/\x7f\u2028", '"/\x7f\u2028"'.encode()),
        ("é", '"é"'.encode()),
    ],
)
def test_rfc8785_3_2_2_2_string_escaping(text: str, expected: bytes) -> None:
    assert jcs_canonicalize(text) == expected


def test_unicode_normalization_forms_stay_distinct() -> None:
    # RFC 8785 §3.1 note: strings are kept "as is", never normalised (SEC-31).
    assert jcs_canonicalize("\u00e9") != jcs_canonicalize("e\u0301")


# --- §3.2.2.3 numbers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "expected"),
    [(1.0, b"1"), (-0.0, b"0"), (1e2, b"100"), (1e21, b"1e+21"), (1e-7, b"1e-7"), (0.1, b"0.1")],
)
def test_rfc8785_3_2_2_3_number_forms(number: float, expected: bytes) -> None:
    assert jcs_canonicalize(number) == expected


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (2**53, b"9007199254740992"),
        (-(2**53), b"-9007199254740992"),
        (10**21, b"1e+21"),
        # Not exact, but already the ECMAScript text of its double (6.336337733983873e16).
        (63363377339838730, b"63363377339838730"),
    ],
)
def test_large_integers_that_are_exact_doubles_are_written_as_doubles(number: int, expected: bytes) -> None:
    # RFC 8785 §3.2.2.3: every JSON number is an IEEE 754 double.
    assert jcs_canonicalize({"n": number}) == b'{"n":' + expected + b"}"


@pytest.mark.parametrize("number", [2**53 + 1, -(2**53) - 1, 63363377339838729, 10**400])
def test_integers_that_are_not_exact_doubles_are_refused(number: int) -> None:
    # Rounding them silently would sign a value the issuer did not write.
    with pytest.raises(MalformedError):
        jcs_canonicalize({"n": [number]})


@pytest.mark.parametrize(
    "value",
    [
        "\ud800",
        {"\udc00": 1},
        {1: "non-string key"},
        {"a": {1, 2}},
        float("nan"),
        float("-inf"),
        b"bytes",
    ],
)
def test_values_without_a_canonical_form_are_refused(value: Any) -> None:
    with pytest.raises(MalformedError) as info:
        jcs_canonicalize(value)
    assert info.value.reason == "malformed"


# --- properties ----------------------------------------------------------------------------


def _as_doubles(value: Any) -> Any:
    # JSON numbers are doubles (RFC 8785 §3.2.2.3): compare them as such.
    if isinstance(value, dict):
        return {k: _as_doubles(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_doubles(v) for v in value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value


@given(json_values)
def test_round_trip_parses_back_to_the_same_value(value: Any) -> None:
    assert _as_doubles(json.loads(jcs_canonicalize(value))) == _as_doubles(value)


@given(json_values)
def test_canonicalization_is_idempotent(value: Any) -> None:
    once = jcs_canonicalize(value)
    assert jcs_canonicalize(json.loads(once)) == once


@given(st.dictionaries(st.text(), st.integers(0, 9), max_size=12))
def test_members_are_sorted_by_utf16_code_units(value: dict[str, int]) -> None:
    (order,) = _member_orders(jcs_canonicalize(value))
    assert order == sorted(value, key=_utf16_code_units)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_numbers_round_trip_exactly_and_use_ecmascript_notation(number: float) -> None:
    text = jcs_canonicalize(number).decode("ascii")
    assert float(text) == number
    assert math.copysign(1.0, float(text)) == 1.0 or number < 0
    mantissa, _, exponent = text.partition("e")
    assert not mantissa.endswith(".0") and "E" not in text
    if exponent:
        assert exponent[0] in "+-" and not exponent[1:].startswith("0")
        assert abs(number) >= 1e21 or abs(number) < 1e-6
    else:
        assert abs(number) < 1e21


@given(json_values)
def test_output_is_valid_utf8_without_insignificant_whitespace(value: Any) -> None:
    text = jcs_canonicalize(value).decode("utf-8")
    assert text == json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":")) or (
        # json.dumps formats floats with repr(); only the number spelling may differ.
        any(isinstance(v, float) for v in _leaves(value))
    )


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


# --- the C-encoder fast path against the rfc8785 package ----------------------------------

# Strings that exercise every escaping rule of §3.2.2.2: all control characters,
# the characters JCS must *not* escape (/, DEL, U+2028/2029), BMP and astral
# characters, and (in the "any" strategy) lone surrogates.
_tricky_chars = st.sampled_from(
    [chr(c) for c in range(0x20)] + ['"', "\\", "/", "\x7f", "\x80", "\u2028", "\u2029", "\ufeff", "\uffff"]
)
_unicode_text = st.text(st.characters(codec="utf-8") | _tricky_chars, max_size=12)
_any_text = st.text(
    st.characters(exclude_categories=()) | _tricky_chars | st.sampled_from(["\ud800", "\udfff"]), max_size=12
)
_ascii_names = st.text(st.characters(max_codepoint=0x7F), max_size=8)

_fast_domain = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-_I_JSON_MAX, max_value=_I_JSON_MAX)
    | st.sampled_from([0, -1, _I_JSON_MAX, -_I_JSON_MAX])
    | _unicode_text,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(_ascii_names, children, max_size=5),
    max_leaves=30,
)
_any_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _any_text,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(_any_text | _ascii_names, children, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=500)
@given(_fast_domain)
def test_fast_path_is_byte_identical_to_rfc8785(value: Any) -> None:
    # The claim in did_agents.jcs: within its domain, json's C encoder with sorted
    # keys writes the RFC 8785 bytes.
    fast = _fast_canonicalize(value)
    assert fast is not None
    assert fast == rfc8785.dumps(value)
    # The pure-Python fallback (used without the _json accelerator) writes the same bytes.
    assert strict_json._SORTED.encode(value).encode("utf-8") == fast


@settings(max_examples=300)
@given(_any_json)
def test_canonicalize_agrees_with_rfc8785_everywhere(value: Any) -> None:
    # Outside the fast domain (floats, large integers, non-ASCII names, lone
    # surrogates) the answer is still the rfc8785 one, or the same refusal.
    try:
        expected: bytes | None = rfc8785.dumps(value)
    except rfc8785.IntegerDomainError:
        return  # large integers: covered by the exact-double tests above
    except (rfc8785.CanonicalizationError, UnicodeEncodeError):  # a lone surrogate in a name
        expected = None
    if expected is None:
        with pytest.raises(MalformedError):
            jcs_canonicalize(value)
    else:
        assert jcs_canonicalize(value) == expected


class _Text(str):
    pass


@pytest.mark.parametrize(
    "value",
    [
        1.0,
        {"a": [0.5]},
        2**53,
        -(2**53),
        {"\u00e9": 1},
        {"\U0001f600": 1, "\ufb33": 2},  # code-point and UTF-16 orders differ
        {1: "x"},
        "\ud800",
        ("a", "b"),
        _Text("a"),
        {"a": {1, 2}},
    ],
)
def test_fast_path_declines_values_outside_its_domain(value: Any) -> None:
    assert _fast_canonicalize(value) is None
