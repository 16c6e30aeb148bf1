"""Multibase, strict base64url and multicodec varints (did_agents.multibase).

RFC 7515 §2 / Appendix C (base64url without padding), SECURITY SEC-12 (one
encoding per value), W3C CID 1.0 §Multibase / §Multikey, draft-msporny-base58-03
(base58-btc), multiformats unsigned-varint (minimal encoding).
"""

from __future__ import annotations

import base64

import base58  # the reference implementation the project used before its own encoder
import pytest
from hypothesis import given
from hypothesis import strategies as st

from did_agents import multibase
from did_agents.errors import MalformedError

B64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def refused(text: str) -> None:
    with pytest.raises(MalformedError) as caught:
        multibase.b64url_decode(text)
    assert caught.value.reason == "malformed"


# -- base64url (RFC 7515 §2) -----------------------------------------------------------------------


@given(st.binary(max_size=300))
def test_b64url_round_trip(data: bytes) -> None:
    text = multibase.b64url_encode(data)
    assert "=" not in text and "+" not in text and "/" not in text
    assert multibase.b64url_decode(text) == data


@given(st.binary(max_size=300))
def test_b64url_matches_rfc4648_section_5_without_padding(data: bytes) -> None:
    assert multibase.b64url_encode(data) == base64.urlsafe_b64encode(data).decode().rstrip("=")


@given(st.binary(min_size=1, max_size=100).filter(lambda d: len(d) % 3 != 0))
def test_b64url_padding_is_refused(data: bytes) -> None:
    refused(base64.urlsafe_b64encode(data).decode())


@given(st.binary(max_size=100))
def test_b64url_standard_alphabet_is_refused(data: bytes) -> None:
    data = b"\xfb\xff\xbf" + data  # encodes to "-_-_" in base64url, "+/+/" in base64
    text = base64.b64encode(data).decode().rstrip("=")
    assert text.startswith("+/+/")
    refused(text)


@pytest.mark.parametrize("separator", [" ", "\n", "\r\n", "\t", "\x0b", "\u00a0", "\u2028"])
def test_b64url_whitespace_is_refused(separator: str) -> None:
    text = multibase.b64url_encode(b"some bytes to encode")
    refused(text[:8] + separator + text[8:])
    refused(text + separator)
    refused(separator + text)


@pytest.mark.parametrize(
    "text",
    [
        "QR",  # 'R' = 010001: the low bits after one byte are not zero ("QQ" is canonical)
        "QQ=",  # padded
        "QQ==",
        "QUJ",  # "QUI" is "AB"; 'J' sets an unused bit
        "AAB",
        "_w1",
    ],
)
def test_b64url_non_zero_trailing_bits_or_padding_are_refused(text: str) -> None:
    refused(text)


@given(st.binary(min_size=1, max_size=60).filter(lambda d: len(d) % 3 != 0), st.integers(1, 15))
def test_b64url_every_other_spelling_of_the_same_bytes_is_refused(data: bytes, bits: int) -> None:
    # The last character carries 2 (len % 3 == 2) or 4 (len % 3 == 1) unused low bits.
    text = multibase.b64url_encode(data)
    unused = 2 if len(data) % 3 == 2 else 4
    bits %= 1 << unused
    if bits:
        last = B64URL_ALPHABET.index(text[-1]) | bits
        refused(text[:-1] + B64URL_ALPHABET[last])


@given(st.text(alphabet=B64URL_ALPHABET + "=+/ .", max_size=40))
def test_b64url_decoding_is_canonical(text: str) -> None:
    try:
        data = multibase.b64url_decode(text)
    except MalformedError:
        return
    assert multibase.b64url_encode(data) == text


@pytest.mark.parametrize("text", ["A", "AAAAA", "é", "QQ\x00"])
def test_b64url_impossible_lengths_and_characters_are_refused(text: str) -> None:
    refused(text)


def test_b64url_empty_string_is_empty_bytes() -> None:
    assert multibase.b64url_decode("") == b""


# -- multibase (CID 1.0 §Multibase) ------------------------------------------------------------------


@given(st.binary(min_size=1, max_size=200), st.sampled_from(["z", "u"]))
def test_multibase_round_trip(data: bytes, base: str) -> None:
    text = multibase.encode(data, base)
    assert text[0] == base
    assert multibase.decode(text) == data


def test_base58btc_known_value() -> None:
    # The base58 alphabet of the Bitcoin encoding; leading zero bytes become '1'.
    assert multibase.encode(b"\x00\x00hello") == "z11Cn8eVZg"
    assert multibase.decode("z11Cn8eVZg") == b"\x00\x00hello"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "z",
        "f68656c6c6f",  # base16: not supported
        "mAQID",  # base64 (padded alphabet): not supported
        "Mz11Cn8eVZg",
        "z0OIl",  # not in the base58 alphabet
        "z11Cn8 eVZg",
        "uQQ=",
        "uQR",
    ],
)
def test_multibase_refusals(text: str) -> None:
    with pytest.raises(MalformedError):
        multibase.decode(text)


def test_unsupported_multibase_prefix_cannot_be_encoded() -> None:
    with pytest.raises(ValueError):
        multibase.encode(b"x", "f")


# -- base58-btc (draft-msporny-base58-03) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "text"),
    [
        # draft-msporny-base58-03 §5 "Test Vectors".
        (b"Hello World!", "2NEpo7TZRRrLZSi2U"),
        (
            b"The quick brown fox jumps over the lazy dog.",
            "USm3fpXnKG5EUBx2ndxBDMPVciP5hGey2Jh4NDv6gmeo1LkMeiKrLJUUBk6Z",
        ),
        (bytes.fromhex("0000287fb4cd"), "11233QC4"),
    ],
)
def test_base58btc_draft_test_vectors(data: bytes, text: str) -> None:
    assert multibase.encode(data) == "z" + text
    assert multibase.decode("z" + text) == data


B58_EDGE_CASES = {
    "empty": b"",
    "one zero byte": b"\x00",
    "all zeros (32)": b"\x00" * 32,
    "all zeros (64)": b"\x00" * 64,
    "leading zeros": b"\x00\x00\x00\x01\x02\x03",
    "one byte": b"\x39",  # 57: the largest one-digit value ("z")
    "58": b"\x3a",  # the smallest two-digit value ("21")
    "58**10 - 1": (58**10 - 1).to_bytes(8, "big"),  # exactly one full chunk of digits
    "58**10": (58**10).to_bytes(8, "big"),
    "zero then 58**10": b"\x00" + (58**10).to_bytes(8, "big"),
    "0xff (32)": b"\xff" * 32,
    "0xff (64)": b"\xff" * 64,
    "0xff run after zeros": b"\x00\x00" + b"\xff" * 62,
    "zeros after 0xff": b"\xff" + b"\x00" * 63,
    "32-byte Ed25519 public key": bytes(range(32)),
    "34-byte Ed25519 Multikey": b"\xed\x01" + bytes(range(100, 132)),
    "64-byte signature": bytes(range(200, 256)) + bytes(range(8)),
}


@pytest.mark.parametrize("data", list(B58_EDGE_CASES.values()), ids=list(B58_EDGE_CASES))
def test_base58btc_matches_the_base58_package_on_edge_cases(data: bytes) -> None:
    text = multibase.encode(data)
    assert text == "z" + base58.b58encode(data).decode("ascii")
    if data:  # an empty value is refused when decoding ("z" in test_multibase_refusals)
        assert multibase.b58decode(text[1:]) == data


@given(st.binary(min_size=1, max_size=130))
def test_base58btc_matches_the_base58_package(data: bytes) -> None:
    text = multibase.encode(data)
    assert text == "z" + base58.b58encode(data).decode("ascii")
    assert multibase.b58decode(text[1:]) == data == base58.b58decode(text[1:])


@given(st.integers(0, 8), st.binary(max_size=80))
def test_base58btc_each_leading_zero_byte_is_a_1(zeros: int, rest: bytes) -> None:
    # draft-msporny-base58-03 §3: leading zero bytes are written as the zero digit "1".
    rest = rest.lstrip(b"\x00")
    text = multibase.encode(b"\x00" * zeros + rest)[1:]
    assert text == "1" * zeros + multibase.encode(rest)[1:]
    assert not text[zeros:].startswith("1")


@pytest.mark.parametrize("character", ["0", "O", "I", "l", "+", "/", "=", " ", "é", "\x00"])
def test_base58btc_characters_outside_the_alphabet_are_refused(character: str) -> None:
    # draft-msporny-base58-03 §2: the alphabet omits 0, O, I and l.
    with pytest.raises(MalformedError) as caught:
        multibase.b58decode("2NEpo7" + character + "TZRRrLZSi2U")
    assert caught.value.reason == "malformed"


# -- multicodec unsigned varint ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "prefix"),
    [
        (multibase.ED25519_PUB, b"\xed\x01"),
        (multibase.X25519_PUB, b"\xec\x01"),
        (multibase.P256_PUB, b"\x80\x24"),
        (multibase.ED25519_PRIV, b"\x80\x26"),
        (multibase.P256_PRIV, b"\x86\x26"),
    ],
)
def test_multicodec_prefixes(code: int, prefix: bytes) -> None:
    assert multibase.encode_multicodec(code, b"key") == prefix + b"key"
    assert multibase.decode_multicodec(prefix + b"key") == (code, b"key")


@given(st.integers(0, 2**63 - 1), st.binary(max_size=40))
def test_multicodec_round_trip(code: int, payload: bytes) -> None:
    assert multibase.decode_multicodec(multibase.encode_multicodec(code, payload)) == (code, payload)


@given(st.integers(0, 2**49), st.integers(1, 3))
def test_multicodec_non_minimal_varint_is_refused(code: int, extra: int) -> None:
    # Pad with continuation bytes carrying zero bits: same value, longer encoding.
    encoded = bytearray(multibase.encode_multicodec(code, b""))
    encoded[-1] |= 0x80
    padded = bytes(encoded) + b"\x80" * (extra - 1) + b"\x00"
    with pytest.raises(MalformedError):
        multibase.decode_multicodec(padded + b"payload")


@pytest.mark.parametrize("data", [b"", b"\x80", b"\xed", b"\xff" * 9, b"\xff" * 20])
def test_multicodec_truncated_or_overlong_varint_is_refused(data: bytes) -> None:
    with pytest.raises(MalformedError):
        multibase.decode_multicodec(data)
