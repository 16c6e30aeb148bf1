"""Multibase and multicodec, the encodings behind did:key and Multikey.

Only what the project needs: multibase ``z`` (base58-btc) and ``u`` (base64url,
no padding), and unsigned-varint multicodec prefixes (W3C CID 1.0 §Multibase,
§Multikey; multiformats unsigned-varint). base58-btc is implemented here
(draft-msporny-base58-03 §3 "The Base58 Encoding Algorithm", §4 "The Base58
Decoding Algorithm") on Python's big integers, whose arithmetic runs in C: a
64-byte signature encodes about three times faster than with the pure-Python
``base58`` package, and every Data Integrity proof encodes one.
"""

from __future__ import annotations

import base64
import binascii

from did_agents.errors import MalformedError

__all__ = [
    "ED25519_PRIV",
    "ED25519_PUB",
    "P256_PRIV",
    "P256_PUB",
    "X25519_PUB",
    "b58decode",
    "b64url_decode",
    "b64url_encode",
    "decode",
    "decode_multicodec",
    "encode",
    "encode_multicodec",
]

# multicodec table codes (https://github.com/multiformats/multicodec/blob/master/table.csv)
ED25519_PUB = 0xED
X25519_PUB = 0xEC
P256_PUB = 0x1200
ED25519_PRIV = 0x1300
P256_PRIV = 0x1306

_B58_ALPHABET = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
# Every byte outside the alphabet translates to 255, so one max() finds any invalid character.
_B58_DIGITS = bytes(_B58_ALPHABET.index(b) if b in _B58_ALPHABET else 255 for b in range(256))
MAX_B58_LENGTH = 4096
# Encoding peels off ten base58 digits per big-integer division (58**10 < 2**63), then
# writes them two at a time: _B58_PAIRS[58 * high + low] is the text of two digits.
_B58_PAIRS = tuple(chr(high) + chr(low) for high in _B58_ALPHABET for low in _B58_ALPHABET)
_B58_PAIR = 58 * 58
_B58_CHUNK = _B58_PAIR**5
_B64URL_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# One bytes.translate both maps base64url onto the standard alphabet and poisons every
# other byte ("+", "/", "=", whitespace, controls...) as "!", which a strict-mode
# a2b_base64 refuses: the whole alphabet check happens in C.
_TO_STANDARD = bytes(
    {ord("-"): ord("+"), ord("_"): ord("/")}.get(b, b if b in _B64URL_ALPHABET else ord("!"))
    for b in range(256)
)
# The 6-bit value of each base64url byte (0 for bytes outside the alphabet, refused by the decoder).
_B64URL_VALUE = bytes(_B64URL_ALPHABET.index(b) if b in _B64URL_ALPHABET else 0 for b in range(256))
_PADDING = (b"", b"", b"==", b"=")


def b64url_encode(data: bytes) -> str:
    """base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict base64url without padding: no ``=``, ``+``, ``/``, whitespace, or stray bits.

    RFC 7515 §2 / Appendix C; a re-encoded copy of a token must not decode to the
    same bytes through a lenient decoder (SECURITY SEC-12).
    """
    if not isinstance(text, str):
        raise MalformedError("invalid base64url", reason="malformed")
    try:
        data = text.encode("ascii")
    except UnicodeEncodeError as exc:
        raise MalformedError("invalid base64url", reason="malformed") from exc
    rest = len(data) % 4
    if rest == 1:
        raise MalformedError("invalid base64url length", reason="malformed")
    # RFC 4648 §3.5 canonical encoding: the bits after the last whole byte are zero
    # (2 or 3 trailing characters carry 4 or 2 such bits).
    if rest and _B64URL_VALUE[data[-1]] & (0x0F if rest == 2 else 0x03):
        raise MalformedError("non-canonical base64url (trailing bits)", reason="malformed")
    try:
        # strict_mode refuses any byte outside the standard alphabet (all of them "!" here)
        # and any padding but the one we add.
        return binascii.a2b_base64(data.translate(_TO_STANDARD) + _PADDING[rest], strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedError("invalid base64url", reason="malformed") from exc


def _b58encode(data: bytes) -> str:
    """base58-btc (Bitcoin alphabet) text of ``data``."""
    # draft-msporny-base58-03 §3: the bytes are one big-endian number written in base 58,
    # and each leading zero byte is written as "1" (the zero digit).
    number = int.from_bytes(data, "big")
    chunks: list[str] = []
    while number:
        # One division of the big number per ten digits; the rest is on machine-size ints.
        number, chunk = divmod(number, _B58_CHUNK)
        chunk, fifth = divmod(chunk, _B58_PAIR)
        chunk, fourth = divmod(chunk, _B58_PAIR)
        chunk, third = divmod(chunk, _B58_PAIR)
        first, second = divmod(chunk, _B58_PAIR)
        chunks.append(
            _B58_PAIRS[first]
            + _B58_PAIRS[second]
            + _B58_PAIRS[third]
            + _B58_PAIRS[fourth]
            + _B58_PAIRS[fifth]
        )
    chunks.reverse()
    zeros = len(data) - len(data.lstrip(b"\x00"))
    # The most significant chunk is padded with zero digits ("1"): strip them, then
    # write one "1" per leading zero byte.
    return "1" * zeros + "".join(chunks).lstrip("1")


def b58decode(text: str) -> bytes:
    """Strict base58-btc (Bitcoin alphabet) decoding; bounded length."""
    if len(text) > MAX_B58_LENGTH:
        raise MalformedError("base58-btc value too long", reason="malformed")
    try:
        digits = text.encode("ascii").translate(_B58_DIGITS)
    except UnicodeEncodeError:
        digits = b"\xff"
    if not digits or max(digits) >= 58:
        raise MalformedError("invalid base58-btc value", reason="malformed")
    number = 0
    for digit in digits:
        number = number * 58 + digit
    zeros = len(digits) - len(digits.lstrip(b"\x00"))  # each leading "1" is a zero byte
    return b"\x00" * zeros + number.to_bytes((number.bit_length() + 7) // 8, "big")


def encode(data: bytes, base: str = "z") -> str:
    """Multibase-encode ``data``: ``z`` base58-btc or ``u`` base64url (no padding)."""
    if base == "z":
        return "z" + _b58encode(data)
    if base == "u":
        return "u" + b64url_encode(data)
    raise ValueError(f"unsupported multibase prefix {base!r}")


def decode(text: str) -> bytes:
    """Decode a ``z`` or ``u`` multibase string; anything else is ``MalformedError``."""
    if not isinstance(text, str) or len(text) < 2:
        raise MalformedError("invalid multibase value", reason="malformed")
    prefix, body = text[0], text[1:]
    if prefix == "z":
        return b58decode(body)
    if prefix == "u":
        return b64url_decode(body)
    raise MalformedError(f"unsupported multibase prefix {prefix!r}", reason="malformed")


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def encode_multicodec(code: int, payload: bytes) -> bytes:
    return _varint(code) + payload


def decode_multicodec(data: bytes) -> tuple[int, bytes]:
    """Split an unsigned-varint multicodec header from its payload (minimal encoding only)."""
    value = 0
    for i, byte in enumerate(data[:9]):
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            if i > 0 and byte == 0:
                raise MalformedError("non-minimal multicodec varint", reason="malformed")
            return value, data[i + 1 :]
    raise MalformedError("invalid multicodec header", reason="malformed")
