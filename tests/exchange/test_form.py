"""``parse_form`` (RFC 6749 Appendix B, application/x-www-form-urlencoded) gives what the
standard library's ``parse_qsl`` gives, refusals included, on any input."""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, urlencode

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from did_agents.errors import MalformedError
from did_agents.exchange.request import MAX_FORM_FIELDS, parse_form


def reference(body: bytes) -> dict[str, list[str]] | None:
    """The previous implementation (``parse_qsl``), as the oracle; ``None`` = refused."""
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=bool(text),
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_FORM_FIELDS,
        )
    except (ValueError, UnicodeDecodeError):
        return None
    form: dict[str, list[str]] = {}
    for name, value in pairs:
        if value:
            form.setdefault(name, []).append(value)
    return form


def ours(body: bytes) -> dict[str, list[str]] | None:
    try:
        return parse_form(body)
    except MalformedError as exc:
        assert exc.reason == "malformed_form"
        return None


# Characters that matter to form decoding, plus arbitrary text.
_SPECIAL = st.sampled_from(
    ["%", "+", "=", "&", "\n", "\r", "%2", "%zz", "%41", "%e2%82%ac", "%C3", "%a9", " ", "é", "€"]
)
_TEXT = st.lists(st.one_of(_SPECIAL, st.text(max_size=6)), max_size=12).map("".join)


@settings(max_examples=250)
@given(_TEXT)
@example("a=%C3%A9&b=%e2%82%ac")
@example("a=%C3")
@example("a=%")
@example("a=x%2")
@example("a=b=c")
@example("a=1&&b=2")
@example("a")
@example("=x")
@example("a=%0A%0d&b=1")
@example("a=%3D41")
@example("a=b=41%42")
@example("a=%41=\n")
def test_raw_bodies_decode_as_parse_qsl_does(text: str) -> None:
    body = text.encode("utf-8", "surrogatepass")
    assert ours(body) == reference(body)


@settings(max_examples=300)
@given(st.lists(st.tuples(st.text(min_size=1, max_size=8), st.text(max_size=40)), max_size=8))
def test_encoded_forms_round_trip(fields: list[tuple[str, str]]) -> None:
    body = urlencode(fields).encode()
    assert ours(body) == reference(body)
    expected: dict[str, list[str]] = {}
    for name, value in fields:
        if value:
            expected.setdefault(name, []).append(value)
    assert ours(body) == expected


@settings(max_examples=200)
@given(st.binary(max_size=40))
def test_arbitrary_bytes_decode_as_parse_qsl_does(data: bytes) -> None:
    assert ours(data) == reference(data)


def test_a_presentation_sized_value_is_decoded_exactly() -> None:
    value = '{"@context": ["https://www.w3.org/ns/credentials/v2"], "x": "a+b=c&d%e"}' * 200
    body = b"subject_token=" + quote(value, safe="").encode() + b"&scope=a+b"
    assert parse_form(body) == {"subject_token": [value], "scope": ["a b"]}


def test_too_many_fields_are_refused() -> None:
    body = "&".join(f"f{i}=1" for i in range(MAX_FORM_FIELDS + 1)).encode()
    with pytest.raises(MalformedError) as refused:
        parse_form(body)
    assert refused.value.reason == "malformed_form"
