"""Bitstring Status List v1.0: the bitstring, its encoding and the decoder's bounds.

Section numbers are those of https://www.w3.org/TR/vc-bitstring-status-list/ (BSL).
"""

from __future__ import annotations

import base64
import gzip
import json
import struct
import time
import tracemalloc
import zlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from did_agents.errors import MalformedError, VerificationError
from did_agents.status.bitstring import (
    DEFAULT_MAX_LIST_BYTES,
    MIN_ENTRIES,
    StatusList,
)

VECTORS = Path(__file__).parents[1] / "vectors" / "bitstring-status-list"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / name).read_text())
    return data


SPEC = load("spec-examples.json")
SUITE = load("test-suite.json")
DB = load("digitalbazaar.json")


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def gzip_u(data: bytes) -> str:
    return "u" + b64u(gzip.compress(data, mtime=0))


# --- BSL §2.2 encodedList / §7.1: bit order -------------------------------------


class TestBitOrder:
    def test_index_0_is_left_most_bit_of_first_byte(self) -> None:
        sl = StatusList()
        sl.set(0)
        assert sl.to_bytes()[0] == 0b1000_0000
        assert sl.to_bytes()[1:] == bytes(len(sl.to_bytes()) - 1)

    def test_index_7_is_right_most_bit_of_first_byte(self) -> None:
        sl = StatusList()
        sl.set(7)
        assert sl.to_bytes()[0] == 0b0000_0001

    def test_index_8_is_left_most_bit_of_second_byte(self) -> None:
        sl = StatusList()
        sl.set(8)
        assert sl.to_bytes()[:2] == b"\x00\x80"

    def test_last_index_is_right_most_bit_of_last_byte(self) -> None:
        # BSL §7.1: "if a bitstring is 131,072 bits in size (16KB), the first index
        # will be 0, and the last index will be 131,071."
        sl = StatusList()
        sl.set(131_071)
        data = sl.to_bytes()
        assert len(data) == 16_384
        assert data[-1] == 0b0000_0001
        assert list(sl.set_indexes()) == [131_071]

    def test_get_reads_bits_left_to_right(self) -> None:
        raw = bytes([0b0100_1000]) + bytes(16_383)
        sl = StatusList.from_bytes(raw)
        assert [sl.get(i) for i in range(8)] == [0, 1, 0, 0, 1, 0, 0, 0]

    def test_clear_resets_only_that_bit(self) -> None:
        sl = StatusList()
        for i in (3, 4, 5):
            sl.set(i)
        sl.set(4, 0)
        assert list(sl.set_indexes()) == [3, 5]
        assert not sl.is_set(4)

    def test_multi_bit_entry_is_big_endian_within_its_bits(self) -> None:
        # statusSize 2: entry i occupies bits 2i, 2i+1 (BSL §3.2 step 10: index * size).
        sl = StatusList(MIN_ENTRIES, status_size=2)
        sl.set(1, 0b10)
        sl.set(2, 0b01)
        assert sl.to_bytes()[0] == 0b00_10_01_00
        assert (sl.get(0), sl.get(1), sl.get(2), sl.get(3)) == (0, 2, 1, 0)
        assert list(sl.set_indexes()) == [1, 2]

    @pytest.mark.parametrize("index", [-1, MIN_ENTRIES, True, 1.0])
    def test_index_outside_the_list_is_refused(self, index: Any) -> None:
        with pytest.raises(IndexError):
            StatusList().get(index)

    def test_value_wider_than_status_size_is_refused(self) -> None:
        with pytest.raises(ValueError):
            StatusList().set(0, 2)


# --- BSL §3.3 step 1, §6.1: sizes ------------------------------------------------


class TestSize:
    def test_default_is_spec_minimum_131072_entries_16kb(self) -> None:
        sl = StatusList()
        assert len(sl) == sl.entries == 131_072
        assert len(sl.to_bytes()) == 16 * 1024

    def test_larger_list_is_allowed(self) -> None:
        sl = StatusList(1_048_576)
        sl.set(1_048_575)
        decoded = StatusList.decode(sl.encode())
        assert decoded.entries == 1_048_576
        assert list(decoded.set_indexes()) == [1_048_575]

    def test_smaller_than_minimum_is_refused_at_construction(self) -> None:
        with pytest.raises(ValueError):
            StatusList(MIN_ENTRIES - 8)

    def test_entries_must_fill_whole_bytes(self) -> None:
        with pytest.raises(ValueError):
            StatusList(MIN_ENTRIES + 1)

    @pytest.mark.parametrize("status_size", [0, -1, 9, True])
    def test_status_size_outside_1_to_8_is_refused(self, status_size: Any) -> None:
        with pytest.raises(ValueError):
            StatusList(status_size=status_size)

    def test_list_larger_than_max_bytes_is_refused_at_construction(self) -> None:
        with pytest.raises(ValueError):
            StatusList((DEFAULT_MAX_LIST_BYTES + 1) * 8)


# --- BSL §3.3 / §3.4: encoding ---------------------------------------------------


class TestEncoding:
    def test_empty_list_encodes_to_spec_example_3_byte_for_byte(self) -> None:
        example = SPEC["statusListCredentials"]["example-3"]
        assert StatusList().encode() == example["credential"]["credentialSubject"]["encodedList"]

    def test_spec_example_3_decodes_to_131072_unset_entries(self) -> None:
        example = SPEC["statusListCredentials"]["example-3"]
        sl = StatusList.decode(example["credential"]["credentialSubject"]["encodedList"])
        assert sl.entries == example["entries"] == 131_072
        assert list(sl.set_indexes()) == example["setIndexes"] == []

    def test_encoding_is_multibase_u_then_base64url_without_padding(self) -> None:
        sl = StatusList()
        sl.set(12_345)
        encoded = sl.encode()
        assert encoded[0] == "u"
        assert "=" not in encoded and "+" not in encoded and "/" not in encoded
        # the body is a GZIP member (RFC 1952 magic 1f 8b, method 8 = deflate)
        raw = base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4))
        assert raw[:3] == b"\x1f\x8b\x08"
        assert gzip.decompress(raw) == sl.to_bytes()

    def test_decodes_what_standard_gzip_produces(self) -> None:
        raw = bytearray(16_384)
        raw[25] = 0x40  # index 201
        sl = StatusList.decode(gzip_u(bytes(raw)))
        assert list(sl.set_indexes()) == [201]

    @pytest.mark.parametrize("case", DB["lists"], ids=lambda c: c["name"])
    def test_reference_implementation_vectors(self, case: dict[str, Any]) -> None:
        # Same bit order and byte-exact output as Digital Bazaar's implementation.
        sl = StatusList.decode(case["encodedList"], min_entries=case["entries"])
        assert sl.entries == case["entries"]
        assert list(sl.set_indexes()) == case["setIndexes"]
        if "bytesHex" in case:
            assert sl.to_bytes().hex() == case["bytesHex"]
        built = StatusList(case["entries"], min_entries=case["entries"])
        for i in case["setIndexes"]:
            built.set(i)
        assert built.encode() == case["encodedList"]

    @pytest.mark.parametrize("case", DB["lists"], ids=lambda c: c["name"])
    def test_reference_vectors_are_below_spec_minimum(self, case: dict[str, Any]) -> None:
        with pytest.raises(VerificationError) as info:
            StatusList.decode(case["encodedList"])
        assert info.value.reason == "status_list_too_short"

    @pytest.mark.parametrize("name", ["single-purpose-ok", "multi-purpose-ok"], ids=lambda n: str(n))
    def test_test_suite_list_meaning(self, name: str) -> None:
        vector = SUITE["statusListCredentials"][name]
        published = vector["credential"]["credentialSubject"]["encodedList"]
        sl = StatusList.decode("u" + published)
        assert sl.entries == vector["entries"]
        assert list(sl.set_indexes()) == vector["setIndexes"]

    def test_encode_is_fast(self) -> None:
        # Brief: "encoding a 131,072-entry list should take well under 10 ms".
        sl = StatusList()
        for i in range(0, MIN_ENTRIES, 97):  # ~1350 set bits, scattered
            sl.set(i)
        runs = []
        for _ in range(20):
            start = time.perf_counter()
            sl.encode()
            runs.append(time.perf_counter() - start)
        assert sorted(runs)[len(runs) // 2] < 0.010


@settings(max_examples=60, deadline=None)
@given(st.sets(st.integers(min_value=0, max_value=MIN_ENTRIES - 1), max_size=300))
def test_roundtrip_random_index_sets(indexes: set[int]) -> None:
    sl = StatusList()
    for i in indexes:
        sl.set(i)
    decoded = StatusList.decode(sl.encode())
    assert decoded == sl
    assert set(decoded.set_indexes()) == indexes
    assert all(decoded.is_set(i) for i in indexes)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(min_value=1, max_value=4).flatmap(
        lambda size: st.tuples(
            st.just(size),
            st.dictionaries(
                st.integers(min_value=0, max_value=MIN_ENTRIES - 1),
                st.integers(min_value=1, max_value=(1 << size) - 1),
                max_size=100,
            ),
        )
    )
)
def test_roundtrip_multi_bit_values(case: tuple[int, dict[int, int]]) -> None:
    size, values = case
    sl = StatusList(MIN_ENTRIES, status_size=size)
    for i, v in values.items():
        sl.set(i, v)
    decoded = StatusList.decode(sl.encode(), status_size=size)
    assert {i: decoded.get(i) for i in decoded.set_indexes()} == values


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=200), st.binary(max_size=200), st.integers(0, 8))
def test_roundtrip_arbitrary_bytes(head: bytes, tail: bytes, extra: int) -> None:
    raw = head + bytes(16_384 - len(head) + extra) + tail
    sl = StatusList.from_bytes(raw)
    assert StatusList.decode(sl.encode()).to_bytes() == raw


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_decoder_never_raises_anything_but_our_errors(text: str) -> None:
    try:
        StatusList.decode(text)
    except (MalformedError, VerificationError):
        pass


# --- BSL §3.4 expansion: refusals, each with its reason ---------------------------


def refuse(encoded: object, reason: str, error: type[Exception] = MalformedError, **kw: Any) -> None:
    with pytest.raises(error) as info:
        StatusList.decode(encoded, **kw)
    assert info.value.reason == reason  # type: ignore[attr-defined]


class TestExpansionRefusals:
    def test_not_a_string(self) -> None:
        refuse(b"uH4sI", "bad_encoded_list")
        refuse(None, "bad_encoded_list")

    @pytest.mark.parametrize("prefix", ["", "z", "U", "m", "M"])
    def test_wrong_multibase_prefix(self, prefix: str) -> None:
        body = StatusList().encode()[1:]
        refuse(prefix + body, "bad_multibase_prefix")

    def test_missing_prefix_as_in_test_suite_fixture(self) -> None:
        published = SUITE["statusListCredentials"]["single-purpose-ok"]["credential"]
        refuse(published["credentialSubject"]["encodedList"], "bad_multibase_prefix")

    def test_empty_string(self) -> None:
        refuse("", "bad_multibase_prefix")

    @pytest.mark.parametrize(
        "mutate",
        [
            lambda b: b + "==",  # padding
            lambda b: b[:10] + "+" + b[11:],  # base64 (not url) alphabet
            lambda b: b[:10] + "/" + b[11:],
            lambda b: b[:10] + " " + b[10:],  # whitespace
            lambda b: b[:10] + "é" + b[10:],
            lambda b: b + "A",  # length = 1 mod 4
        ],
        ids=["padding", "plus", "slash", "space", "non-ascii", "bad-length"],
    )
    def test_bad_base64url(self, mutate: Any) -> None:
        body = StatusList().encode()[1:]
        refuse("u" + mutate(body), "bad_base64url")

    def test_non_canonical_trailing_bits(self) -> None:
        sl = StatusList()
        sl.set(1000)
        body = sl.encode()[1:]
        # the last char of an unpadded group carries unused low bits; flip one.
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        assert len(body) % 4 in (2, 3)
        last = alphabet.index(body[-1])
        refuse("u" + body[:-1] + alphabet[last | 1], "bad_base64url")

    def test_not_gzip(self) -> None:
        refuse("u" + b64u(b"not gzip at all" * 10), "bad_gzip")

    def test_zlib_stream_is_not_gzip(self) -> None:
        refuse("u" + b64u(zlib.compress(bytes(16_384))), "bad_gzip")

    def test_truncated_gzip(self) -> None:
        gz = gzip.compress(bytes(16_384), mtime=0)
        refuse("u" + b64u(gz[:-6]), "bad_gzip")

    def test_bad_crc(self) -> None:
        gz = bytearray(gzip.compress(bytes(16_384), mtime=0))
        gz[-8] ^= 0xFF
        refuse("u" + b64u(bytes(gz)), "bad_gzip")

    def test_data_after_gzip_member(self) -> None:
        gz = gzip.compress(bytes(16_384), mtime=0)
        refuse("u" + b64u(gz + gz), "bad_gzip")

    def test_too_short_uncompressed_list(self) -> None:
        # BSL §2.2: "The uncompressed bitstring MUST be at least 16KB in size."
        refuse(gzip_u(bytes(16_383)), "status_list_too_short", VerificationError)

    def test_test_suite_short_list(self) -> None:
        vector = SUITE["statusListCredentials"]["short-encoded-list-fail"]
        encoded = "u" + vector["credential"]["credentialSubject"]["encodedList"]
        refuse(encoded, "status_list_too_short", VerificationError)

    def test_too_short_counts_entries_not_bits(self) -> None:
        # BSL §3.2 step 9: length / statusSize < minimumNumberOfEntries.
        refuse(gzip_u(bytes(16_384)), "status_list_too_short", VerificationError, status_size=2)
        assert StatusList.decode(gzip_u(bytes(32_768)), status_size=2).entries == MIN_ENTRIES

    def test_inflated_size_above_limit(self) -> None:
        refuse(gzip_u(bytes(64 * 1024)), "status_list_too_large", max_bytes=32 * 1024)
        assert StatusList.decode(gzip_u(bytes(32 * 1024)), max_bytes=32 * 1024).entries == 262_144

    def test_encoded_string_longer_than_any_allowed_list(self) -> None:
        refuse("u" + "A" * 4 * 1024 * 1024, "status_list_too_large")


def gzip_bomb(inflated_size: int, chunk: int = 1 << 20) -> str:
    """A valid single-member GZIP of ``inflated_size`` zero bytes, built in milliseconds.

    After a Z_FULL_FLUSH the deflater keeps no history, so every further zero chunk
    compresses to the same bytes; repeat them instead of compressing a gigabyte.
    """
    assert inflated_size % chunk == 0
    zero = bytes(chunk)
    c = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    first = c.compress(zero) + c.flush(zlib.Z_FULL_FLUSH)
    piece = c.compress(zero) + c.flush(zlib.Z_FULL_FLUSH)
    assert piece == c.compress(zero) + c.flush(zlib.Z_FULL_FLUSH)
    final = c.flush(zlib.Z_FINISH)
    n = inflated_size // chunk
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03"
    body = first + piece * (n - 1) + final
    trailer = struct.pack("<II", _crc32_zeros(inflated_size), inflated_size & 0xFFFFFFFF)
    return "u" + b64u(header + body + trailer)


def _crc32_zeros(length: int) -> int:
    block = bytes(min(length, 1 << 24))
    crc = 0
    for _ in range(length // len(block)):
        crc = zlib.crc32(block, crc)
    return zlib.crc32(bytes(length % len(block)), crc)


class TestZipBomb:
    def test_bomb_helper_builds_a_real_gzip(self) -> None:
        bomb = gzip_bomb(4 << 20)
        raw = base64.urlsafe_b64decode(bomb[1:] + "=" * (-len(bomb[1:]) % 4))
        assert gzip.decompress(raw) == bytes(4 << 20)

    def test_one_gigabyte_bomb_is_refused_fast_and_small(self) -> None:
        # SECURITY SEC-45: "encodedList a gzip bomb (1 GB inflated)".
        bomb = gzip_bomb(1 << 30)
        assert len(bomb) < 1_500_000  # about 1 MB on the wire
        tracemalloc.start()
        start = time.perf_counter()
        try:
            with pytest.raises(MalformedError) as info:
                StatusList.decode(bomb)
            elapsed = time.perf_counter() - start
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert info.value.reason == "status_list_too_large"
        assert elapsed < 0.5
        assert peak < 16 * 1024 * 1024
