"""W3C Bitstring Status List v1.0 (W3C Recommendation, 15 May 2025).

https://www.w3.org/TR/vc-bitstring-status-list/ — section numbers below refer
to that document ("BSL §3.2" = Validate Algorithm).

What is here:

- ``StatusList``: the bitstring itself (index 0 is the left-most bit of the
  first byte, BSL §2.2 ``encodedList`` and §7.1), with GZIP + multibase
  base64url encoding and a bounded decoder (BSL §3.3, §3.4);
- ``build_status_list_credential`` / ``make_status_entry``: the unsigned
  ``BitstringStatusListCredential`` and the ``BitstringStatusListEntry`` an
  issuer puts in a credential (BSL §2.1, §2.2, §3.1);
- ``check_status``: the validate algorithm (BSL §3.2) over an entry and an
  already-fetched, already-verified status list credential;
- ``random_free_index``: random index allocation (BSL §2.1 ``statusListIndex``
  SHOULD be random; §6.5).

Errors: malformed input is ``MalformedError`` (BSL §3 MALFORMED_VALUE_ERROR);
a well-formed entry or list that fails a check is ``VerificationError``
(STATUS_VERIFICATION_ERROR, STATUS_LIST_LENGTH_ERROR, RANGE_ERROR). Every error
carries a specific ``reason`` slug (listed in ``REASONS``). Fetching the list
(STATUS_RETRIEVAL_ERROR) and verifying its proof are the caller's job.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import struct
import zlib
from collections.abc import Callable, Container, Iterator, Mapping, Sized
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal, Protocol

from did_agents.clock import Clock, format_datetime, parse_datetime
from did_agents.errors import ConflictError, MalformedError, VerificationError

__all__ = [
    "CREDENTIALS_V2_CONTEXT",
    "DEFAULT_MAX_LIST_BYTES",
    "ISSUABLE_PURPOSES",
    "KNOWN_PURPOSES",
    "MAX_STATUS_SIZE",
    "MIN_ENTRIES",
    "REASONS",
    "IndexRNG",
    "IssuablePurpose",
    "StatusList",
    "StatusResult",
    "build_status_list_credential",
    "check_status",
    "make_status_entry",
    "random_free_index",
]

# VCDM 2.0: the v2 context defines BitstringStatusList* terms (BSL §5.2 note).
CREDENTIALS_V2_CONTEXT: Final = "https://www.w3.org/ns/credentials/v2"

# BSL §3.2 step 2 / §3.3 step 1 / §6.1: at least 131,072 entries (16 KB of bits).
MIN_ENTRIES: Final = 131_072

# Our own bound on an uncompressed list (16,777,216 one-bit entries). A zip bomb
# is refused once the inflater produces one byte more than this.
DEFAULT_MAX_LIST_BYTES: Final = 2 * 1024 * 1024

# statusSize > 1 needs a statusMessage array of 2**statusSize elements (BSL §2.1);
# we support up to 8 bits (256 messages) and refuse anything wider.
MAX_STATUS_SIZE: Final = 8

IssuablePurpose = Literal["revocation", "suspension"]
ISSUABLE_PURPOSES: Final[frozenset[str]] = frozenset({"revocation", "suspension"})
# BSL §2.1 / §2.2: values with defined meaning. Other strings are allowed by the
# spec ("the value of the string is arbitrary") and are matched literally.
KNOWN_PURPOSES: Final[frozenset[str]] = frozenset({"refresh", "revocation", "suspension", "message"})

REASONS: Final[frozenset[str]] = frozenset(
    {
        # the encoded list (BSL §3.4)
        "bad_encoded_list",
        "bad_multibase_prefix",
        "bad_base64url",
        "bad_gzip",
        "status_list_too_large",
        "status_list_too_short",
        # the entry (BSL §2.1)
        "bad_status_entry",
        "bad_status_index",
        "bad_status_size",
        "unsupported_status_size",
        "bad_status_message",
        "status_index_out_of_range",
        # the status list credential (BSL §2.2, §3.2)
        "bad_status_list_credential",
        "status_list_unverified",
        "status_list_mismatch",
        "status_list_issuer_mismatch",
        "status_purpose_mismatch",
        "status_list_not_yet_valid",
        "status_list_expired",
        # allocation
        "status_list_full",
    }
)

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
# BSL §2.1: "an arbitrary size integer greater than or equal to 0, expressed as
# a string in base 10". No sign, no leading zeros, no whitespace (the test suite
# checks String(parseInt(x)) === x); ASCII digits only.
_DECIMAL_INDEX = re.compile(r"0|[1-9][0-9]*")
# Longer indexes are out of range of every list we accept; refusing them
# before int() keeps parsing cheap.
_MAX_INDEX_DIGITS: Final = 20
_HEX_STATUS = re.compile(r"0x[0-9a-fA-F]{1,8}")
# RFC 1952 header (10) + trailer (8) + deflate worst-case expansion (zlib deflateBound).
_GZIP_OVERHEAD: Final = 64
_GZIP_HEADER: Final = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"
_NONZERO_BYTE = re.compile(rb"[^\x00]")


def _too_short(entries: int, min_entries: int) -> VerificationError:
    return VerificationError(
        f"status list has {entries} entries, fewer than the minimum {min_entries} (STATUS_LIST_LENGTH_ERROR)",
        reason="status_list_too_short",
    )


class StatusList:
    """A bitstring of ``entries`` status values, each ``status_size`` bits wide.

    Bit order (BSL §2.2 ``encodedList``, §7.1): index 0 is the left-most
    (most significant) bit of the first byte; the last index is the right-most
    bit of the last byte. An entry wider than one bit occupies bits
    ``index * status_size`` .. ``index * status_size + status_size - 1`` and is
    read as an unsigned big-endian number, left-most bit most significant.
    """

    __slots__ = ("_bits", "_entries", "_status_size")

    def __init__(
        self,
        entries: int = MIN_ENTRIES,
        *,
        status_size: int = 1,
        min_entries: int = MIN_ENTRIES,
        max_bytes: int = DEFAULT_MAX_LIST_BYTES,
    ) -> None:
        _check_status_size_arg(status_size)
        if not _is_int(entries) or entries < min_entries:
            # BSL §3.3 step 1: a minimum size of 16KB.
            raise ValueError(f"a status list needs at least {min_entries} entries")
        total_bits = entries * status_size
        if total_bits % 8:
            raise ValueError("entries * status_size must be a whole number of bytes")
        if total_bits // 8 > max_bytes:
            raise ValueError(f"a status list may not exceed {max_bytes} bytes")
        self._entries = entries
        self._status_size = status_size
        self._bits = bytearray(total_bits // 8)

    @classmethod
    def from_bytes(
        cls,
        data: bytes,
        *,
        status_size: int = 1,
        min_entries: int = MIN_ENTRIES,
        max_bytes: int = DEFAULT_MAX_LIST_BYTES,
    ) -> StatusList:
        """Wrap an uncompressed bitstring (BSL §3.4 output).

        Refuses (``VerificationError``, ``status_list_too_short``) a bitstring
        holding fewer than ``min_entries`` entries (BSL §3.2 step 9).
        """
        _check_status_size_arg(status_size)
        if len(data) > max_bytes:
            raise MalformedError(f"status list larger than {max_bytes} bytes", reason="status_list_too_large")
        entries = len(data) * 8 // status_size
        if entries < min_entries:
            raise _too_short(entries, min_entries)
        self = cls.__new__(cls)
        self._entries = entries
        self._status_size = status_size
        self._bits = bytearray(data)
        return self

    @classmethod
    def decode(
        cls,
        encoded: object,
        *,
        status_size: int = 1,
        min_entries: int = MIN_ENTRIES,
        max_bytes: int = DEFAULT_MAX_LIST_BYTES,
    ) -> StatusList:
        """Bitstring Expansion Algorithm (BSL §3.4), bounded.

        ``encoded`` must be ``u`` + base64url without padding of a single GZIP
        member (RFC 1952). Inflation stops at ``max_bytes`` + 1 bytes, so a zip
        bomb costs at most that much memory and time. Raises ``MalformedError``
        with reason ``bad_encoded_list``, ``bad_multibase_prefix``,
        ``bad_base64url``, ``bad_gzip`` or ``status_list_too_large``, and
        ``VerificationError`` ``status_list_too_short`` below ``min_entries``.
        """
        return cls.from_bytes(
            _expand(encoded, max_bytes),
            status_size=status_size,
            min_entries=min_entries,
            max_bytes=max_bytes,
        )

    def encode(self) -> str:
        """Bitstring Generation Algorithm steps 3-4 (BSL §3.3): GZIP, then ``u`` + base64url.

        Deterministic (header mtime 0, zlib level 6): byte-for-byte the output
        of the reference implementation (the spec's Example 3 for an empty list).
        """
        # RFC 1952 member: fixed header (no name, mtime 0, OS 3 as zlib writes on
        # Unix), raw deflate, CRC-32 and ISIZE. Building it by hand keeps the
        # output the same on every platform.
        compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        body = compressor.compress(self._bits) + compressor.flush()
        trailer = struct.pack("<II", zlib.crc32(self._bits), len(self._bits) & 0xFFFFFFFF)
        gz = _GZIP_HEADER + body + trailer
        return "u" + base64.urlsafe_b64encode(gz).rstrip(b"=").decode("ascii")

    def to_bytes(self) -> bytes:
        """The uncompressed bitstring."""
        return bytes(self._bits)

    @property
    def entries(self) -> int:
        """Number of entries (bits / ``status_size``)."""
        return self._entries

    @property
    def status_size(self) -> int:
        return self._status_size

    def __len__(self) -> int:
        return self._entries

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StatusList):
            return NotImplemented
        return self._status_size == other._status_size and self._bits == other._bits

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"StatusList(entries={self._entries}, status_size={self._status_size})"

    def _check_index(self, index: int) -> None:
        if not _is_int(index) or not 0 <= index < self._entries:
            raise IndexError(f"status list index {index!r} outside 0..{self._entries - 1}")

    def get(self, index: int) -> int:
        """The status value at ``index`` (0 or 1 when ``status_size`` is 1)."""
        self._check_index(index)
        size = self._status_size
        if size == 1:
            return (self._bits[index >> 3] >> (7 - (index & 7))) & 1
        value = 0
        start = index * size
        for bit in range(start, start + size):
            value = (value << 1) | ((self._bits[bit >> 3] >> (7 - (bit & 7))) & 1)
        return value

    def set(self, index: int, value: int | bool = 1) -> None:
        """Set the status value at ``index`` (``set(i, 0)`` clears it)."""
        self._check_index(index)
        size = self._status_size
        value = int(value)
        if not 0 <= value < (1 << size):
            raise ValueError(f"status value {value} does not fit in {size} bit(s)")
        start = index * size
        for offset in range(size):
            bit = start + offset
            mask = 0x80 >> (bit & 7)
            if (value >> (size - 1 - offset)) & 1:
                self._bits[bit >> 3] |= mask
            else:
                self._bits[bit >> 3] &= ~mask & 0xFF

    def is_set(self, index: int) -> bool:
        """True when the value at ``index`` is not 0 (BSL §3.2 step 12: not valid)."""
        return self.get(index) != 0

    def set_indexes(self) -> Iterator[int]:
        """Indexes whose value is not 0, ascending."""
        size = self._status_size
        previous = -1
        for match in _NONZERO_BYTE.finditer(self._bits):
            pos = match.start()
            byte = self._bits[pos]
            for j in range(8):
                if (byte >> (7 - j)) & 1:
                    index = (pos * 8 + j) // size
                    if index != previous:
                        previous = index
                        yield index


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_status_size_arg(status_size: int) -> None:
    if not _is_int(status_size) or not 1 <= status_size <= MAX_STATUS_SIZE:
        raise ValueError(f"status_size must be an integer in 1..{MAX_STATUS_SIZE}")


def _expand(encoded: object, max_bytes: int) -> bytes:
    """Multibase-decode then GZIP-inflate (BSL §3.4 step 2), refusing on any deviation."""
    if not isinstance(encoded, str):
        raise MalformedError("encodedList must be a string", reason="bad_encoded_list")
    # BSL §2.2: "Multibase-encoded base64url (with no padding)": prefix ``u``.
    if not encoded.startswith("u"):
        raise MalformedError(
            "encodedList must be multibase base64url (prefix 'u')", reason="bad_multibase_prefix"
        )
    body = encoded[1:]
    max_compressed = max_bytes + max_bytes // 1000 + _GZIP_OVERHEAD
    if len(body) > (max_compressed * 4 + 2) // 3:
        raise MalformedError(
            f"encodedList longer than a {max_bytes}-byte list can be",
            reason="status_list_too_large",
        )
    if not _B64URL.fullmatch(body) or len(body) % 4 == 1:
        raise MalformedError("encodedList is not base64url without padding", reason="bad_base64url")
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError) as exc:  # pragma: no cover - regex screens first
        raise MalformedError("encodedList is not base64url", reason="bad_base64url") from exc
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != body:
        raise MalformedError("encodedList has non-canonical base64url trailing bits", reason="bad_base64url")
    # wbits 16+15: a gzip header is required (no raw deflate or zlib streams).
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(raw, max_bytes + 1)
    except zlib.error as exc:
        raise MalformedError("encodedList is not valid GZIP", reason="bad_gzip") from exc
    if len(data) > max_bytes:
        raise MalformedError(
            f"encodedList inflates to more than {max_bytes} bytes",
            reason="status_list_too_large",
        )
    if not inflater.eof:
        raise MalformedError("encodedList GZIP stream is truncated", reason="bad_gzip")
    if inflater.unused_data:
        raise MalformedError("encodedList has data after the GZIP member", reason="bad_gzip")
    return data


# ---------------------------------------------------------------------------
# Issuing side: BSL §2.1, §2.2, §3.1


def build_status_list_credential(
    id: str,
    issuer: str,
    purpose: IssuablePurpose,
    bitstring: StatusList,
    valid_from: datetime,
    valid_until: datetime | None = None,
    ttl: int | None = None,
) -> dict[str, Any]:
    """An unsigned ``BitstringStatusListCredential`` (BSL §2.2, Generate Algorithm §3.1).

    ``id`` is the URL the list is published at (the entries'
    ``statusListCredential``); ``ttl`` is in milliseconds (BSL §2.2). Only
    ``revocation`` and ``suspension`` lists are issued; ``bitstring`` must be
    one bit per entry. The caller adds the proof (§3.1 step 5).
    """
    if purpose not in ISSUABLE_PURPOSES:
        raise ValueError(f"we only issue {sorted(ISSUABLE_PURPOSES)} status lists")
    if bitstring.status_size != 1:
        raise ValueError("revocation and suspension lists have one bit per entry")
    _check_url_arg(id, "id")
    if not isinstance(issuer, str) or not issuer:
        raise ValueError("issuer must be a non-empty string")
    if ttl is not None and (not _is_int(ttl) or ttl < 0):
        raise ValueError("ttl must be a non-negative integer (milliseconds)")
    if valid_from.tzinfo is None or (valid_until is not None and valid_until.tzinfo is None):
        raise ValueError("valid_from / valid_until must be timezone-aware")
    if valid_until is not None and valid_until <= valid_from:
        raise ValueError("valid_until must be after valid_from")
    subject: dict[str, Any] = {
        "id": f"{id}#list",
        "type": "BitstringStatusList",
        "statusPurpose": purpose,
        "encodedList": bitstring.encode(),
    }
    if ttl is not None:
        subject["ttl"] = ttl
    credential: dict[str, Any] = {
        "@context": [CREDENTIALS_V2_CONTEXT],
        "id": id,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": format_datetime(valid_from),
    }
    if valid_until is not None:
        credential["validUntil"] = format_datetime(valid_until)
    credential["credentialSubject"] = subject
    return credential


def make_status_entry(list_credential_url: str, index: int, purpose: IssuablePurpose) -> dict[str, str]:
    """A ``BitstringStatusListEntry`` for a credential's ``credentialStatus`` (BSL §2.1).

    ``id`` is ``<url>#<index>``: a URL for this entry that is not the list's URL
    (BSL §2.1 "It MUST NOT be the URL for the status list").
    """
    _check_url_arg(list_credential_url, "list_credential_url")
    if not _is_int(index) or index < 0:
        raise ValueError("index must be a non-negative integer")
    if purpose not in ISSUABLE_PURPOSES:
        raise ValueError(f"we only issue {sorted(ISSUABLE_PURPOSES)} status entries")
    return {
        "id": f"{list_credential_url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": purpose,
        # BSL §2.1: an integer "expressed as a string in base 10".
        "statusListIndex": str(index),
        "statusListCredential": list_credential_url,
    }


def _check_url_arg(value: object, name: str) -> None:
    if not isinstance(value, str) or ":" not in value or "#" in value or value != value.strip():
        raise ValueError(f"{name} must be an absolute URL without a fragment")


# ---------------------------------------------------------------------------
# Allocation: BSL §2.1 (statusListIndex SHOULD be assigned randomly), §6.5


class IndexRNG(Protocol):
    """Anything with ``randbelow``; the ``secrets`` module is one."""

    def randbelow(self, exclusive_upper_bound: int, /) -> int: ...


def random_free_index(
    bitstring_size: int,
    used: Container[int] | Callable[[int], bool],
    rng: IndexRNG = secrets,
    *,
    max_attempts: int = 1024,
) -> int:
    """A uniformly random index in ``0..bitstring_size-1`` not in ``used``.

    Random rather than sequential allocation keeps the position from telling
    when a credential was issued or how many exist (BSL §2.1, §6.5). ``used`` is
    a container or a predicate (e.g. a database lookup); uniqueness under
    concurrency is the caller's storage constraint, not ours. Raises
    ``ConflictError`` (``status_list_full``) when the list is full or no free
    index turned up in ``max_attempts`` draws; the issuer then opens a new list.
    """
    if not _is_int(bitstring_size) or bitstring_size <= 0:
        raise ValueError("bitstring_size must be a positive integer")
    is_used: Callable[[int], bool] = used.__contains__ if isinstance(used, Container) else used
    if isinstance(used, Sized) and len(used) >= bitstring_size:
        raise ConflictError("status list is full", reason="status_list_full")
    for _ in range(max_attempts):
        index = rng.randbelow(bitstring_size)
        if not is_used(index):
            return index
    raise ConflictError(
        f"no free status list index in {max_attempts} random draws", reason="status_list_full"
    )


# ---------------------------------------------------------------------------
# Verifying side: BSL §3.2 Validate Algorithm


@dataclass(frozen=True, slots=True)
class StatusResult:
    """The result map of BSL §3.2 steps 10-14.

    ``set`` is True when the status value is not 0; for ``revocation`` and
    ``suspension`` that means the credential is revoked / suspended.
    ``valid`` is the spec's ``valid`` key (status == 0). ``message`` is the
    matching ``statusMessage`` text when the entry has one.
    """

    purpose: str
    index: int
    set: bool
    value: int = 0
    status_size: int = 1
    message: str | None = None

    @property
    def valid(self) -> bool:
        return not self.set


def check_status(
    entry: Mapping[str, Any],
    status_list_credential: Mapping[str, Any],
    *,
    clock: Clock,
    list_verified: bool,
    expected_issuer: str | None = None,
    min_entries: int = MIN_ENTRIES,
    max_bytes: int = DEFAULT_MAX_LIST_BYTES,
) -> StatusResult:
    """Validate Algorithm (BSL §3.2) for one ``BitstringStatusListEntry``.

    ``status_list_credential`` is the credential the entry's
    ``statusListCredential`` URL dereferenced to. **This function does not
    verify its proof**: step 4 (dereference and verify all proofs) is the
    caller's, who must pass ``list_verified=True`` to say it was done; anything
    else is refused (``status_list_unverified``). ``expected_issuer``, when
    given, must equal the list credential's issuer (whose list the caller
    trusts is use-case dependent, BSL §3.2 note).

    Returns a ``StatusResult``; a set bit is a *result*, not an error: the
    caller decides what revoked / suspended means. Raises ``MalformedError`` or
    ``VerificationError`` with a specific ``reason`` for everything else.
    """
    # Step 4 (proofs): the caller's; fail closed if they did not say so.
    if list_verified is not True:
        raise VerificationError(
            "status list credential proof was not verified (STATUS_VERIFICATION_ERROR)",
            reason="status_list_unverified",
        )
    parsed = _parse_entry(entry)
    subject = _parse_list_credential(status_list_credential, parsed.list_url, expected_issuer)
    _check_validity_period(status_list_credential, clock)

    # Step 5: the entry's purpose must be one of the list's purposes.
    purposes = _list_purposes(subject)
    if parsed.purpose not in purposes:
        raise VerificationError(
            f"entry statusPurpose {parsed.purpose!r} is not a purpose of the status list"
            " (STATUS_VERIFICATION_ERROR)",
            reason="status_purpose_mismatch",
        )
    # BSL §2.2 (message): the list may state statusSize; it must agree with the entry.
    if "statusSize" in subject and (
        not _is_int(subject["statusSize"]) or subject["statusSize"] != parsed.status_size
    ):
        raise VerificationError(
            "entry statusSize differs from the status list's statusSize",
            reason="bad_status_size",
        )

    # Steps 6-9: expand and check the length.
    bits = StatusList.decode(
        subject.get("encodedList"),
        status_size=parsed.status_size,
        min_entries=min_entries,
        max_bytes=max_bytes,
    )
    # Step 10: RANGE_ERROR when index * size falls outside the bitstring.
    if parsed.index >= bits.entries:
        raise VerificationError(
            f"statusListIndex {parsed.index} is outside the status list"
            f" of {bits.entries} entries (RANGE_ERROR)",
            reason="status_index_out_of_range",
        )
    value = bits.get(parsed.index)
    # Steps 11-14.
    message = parsed.messages.get(value) if parsed.messages else None
    return StatusResult(
        purpose=parsed.purpose,
        index=parsed.index,
        set=value != 0,
        value=value,
        status_size=parsed.status_size,
        message=message,
    )


@dataclass(frozen=True, slots=True)
class _Entry:
    purpose: str
    index: int
    list_url: str
    status_size: int
    messages: dict[int, str]


def _bad_entry(description: str, reason: str = "bad_status_entry") -> MalformedError:
    return MalformedError(description + " (MALFORMED_VALUE_ERROR)", reason=reason)


def _bad_list(description: str) -> MalformedError:
    return MalformedError(description + " (MALFORMED_VALUE_ERROR)", reason="bad_status_list_credential")


def _has_type(value: object, wanted: str) -> bool:
    # JSON-LD lets ``type`` be a string or an array of strings.
    if isinstance(value, str):
        return value == wanted
    return isinstance(value, list) and wanted in value and all(isinstance(t, str) for t in value)


def _parse_entry(entry: object) -> _Entry:
    """BSL §2.1 checks on a ``credentialStatus`` entry."""
    if not isinstance(entry, Mapping):
        raise _bad_entry("credentialStatus entry must be an object")
    # §2.1 type: "MUST be BitstringStatusListEntry".
    if not _has_type(entry.get("type"), "BitstringStatusListEntry"):
        raise _bad_entry("credentialStatus type must be BitstringStatusListEntry")
    # §2.1 statusPurpose: "MUST be a string".
    purpose = entry.get("statusPurpose")
    if not isinstance(purpose, str) or not purpose:
        raise _bad_entry("statusPurpose must be a non-empty string")
    # §2.1 statusListIndex: base-10 integer >= 0 as a string.
    raw_index = entry.get("statusListIndex")
    if not isinstance(raw_index, str) or not _DECIMAL_INDEX.fullmatch(raw_index):
        raise _bad_entry(
            "statusListIndex must be a non-negative base-10 integer in a string",
            reason="bad_status_index",
        )
    if len(raw_index) > _MAX_INDEX_DIGITS:
        raise VerificationError(
            "statusListIndex is outside every status list we accept (RANGE_ERROR)",
            reason="status_index_out_of_range",
        )
    index = int(raw_index)
    # §2.1 statusListCredential: "MUST be a URL to a verifiable credential".
    list_url = entry.get("statusListCredential")
    if not isinstance(list_url, str) or ":" not in list_url:
        raise _bad_entry("statusListCredential must be a URL")
    # §2.1 id: "MUST NOT be the URL for the status list".
    if "id" in entry and entry["id"] == list_url:
        raise _bad_entry("credentialStatus id must not be the status list URL")
    # §2.1 statusSize: absent means 1; present, an integer > 0.
    status_size = entry.get("statusSize", 1)
    if not _is_int(status_size) or status_size < 1:
        raise _bad_entry("statusSize must be an integer greater than 0", reason="bad_status_size")
    if status_size > MAX_STATUS_SIZE:
        raise MalformedError(
            f"statusSize {status_size} is wider than the {MAX_STATUS_SIZE} bits we support",
            reason="unsupported_status_size",
        )
    messages = _parse_status_messages(entry.get("statusMessage"), status_size)
    return _Entry(purpose, index, list_url, status_size, messages)


def _parse_status_messages(raw: object, status_size: int) -> dict[int, str]:
    """BSL §2.1 statusMessage: MUST be present when statusSize > 1, 2**size elements."""
    if raw is None:
        if status_size > 1:
            raise _bad_entry("statusMessage is required when statusSize > 1", reason="bad_status_message")
        return {}
    if not isinstance(raw, list) or len(raw) != 1 << status_size:
        raise _bad_entry(
            f"statusMessage must be an array of {1 << status_size} elements",
            reason="bad_status_message",
        )
    messages: dict[int, str] = {}
    for item in raw:
        if not isinstance(item, Mapping):
            raise _bad_entry("statusMessage elements must be objects", reason="bad_status_message")
        status, message = item.get("status"), item.get("message")
        # "status, a string representing the hexadecimal value of the status prefixed with 0x"
        if not isinstance(status, str) or not _HEX_STATUS.fullmatch(status):
            raise _bad_entry(
                "statusMessage status must be a 0x-prefixed hex string",
                reason="bad_status_message",
            )
        if not isinstance(message, str):
            raise _bad_entry("statusMessage message must be a string", reason="bad_status_message")
        value = int(status, 16)
        if value >= 1 << status_size or value in messages:
            raise _bad_entry(
                f"statusMessage status {status} is out of range or repeated",
                reason="bad_status_message",
            )
        messages[value] = message
    return messages


def _parse_list_credential(
    credential: object, list_url: str, expected_issuer: str | None
) -> Mapping[str, Any]:
    """BSL §2.2 checks; returns the ``BitstringStatusList`` subject."""
    if not isinstance(credential, Mapping):
        raise _bad_list("status list credential must be an object")
    # §2.1 statusListCredential / §2.2 type: MUST include BitstringStatusListCredential.
    if not _has_type(credential.get("type"), "BitstringStatusListCredential"):
        raise _bad_list("status list credential type must include BitstringStatusListCredential")
    # §2.2 id: MAY match the entry's statusListCredential. If present it must, or the
    # list is some other list (e.g. a stapled list for another URL).
    if "id" in credential and credential["id"] != list_url:
        raise VerificationError(
            "status list credential id is not the entry's statusListCredential (STATUS_VERIFICATION_ERROR)",
            reason="status_list_mismatch",
        )
    if expected_issuer is not None:
        issuer = credential.get("issuer")
        issuer_id = issuer.get("id") if isinstance(issuer, Mapping) else issuer
        if issuer_id != expected_issuer:
            raise VerificationError(
                "status list credential is not from the expected issuer (STATUS_VERIFICATION_ERROR)",
                reason="status_list_issuer_mismatch",
            )
    subject = credential.get("credentialSubject")
    if isinstance(subject, list) and len(subject) == 1:
        subject = subject[0]
    if not isinstance(subject, Mapping):
        raise _bad_list("status list credentialSubject must be one object")
    # §2.2 credentialSubject.type: MUST be BitstringStatusList.
    if not _has_type(subject.get("type"), "BitstringStatusList"):
        raise _bad_list("status list credentialSubject type must be BitstringStatusList")
    # §2.2 ttl: optional, milliseconds.
    ttl = subject.get("ttl")
    if ttl is not None and (not _is_int(ttl) or ttl < 0):
        raise _bad_list("status list ttl must be a non-negative integer")
    return subject


def _list_purposes(subject: Mapping[str, Any]) -> frozenset[str]:
    # §2.2 statusPurpose: "MUST be one or more strings".
    raw = subject.get("statusPurpose")
    if isinstance(raw, str) and raw:
        return frozenset((raw,))
    if isinstance(raw, list) and raw and all(isinstance(p, str) and p for p in raw):
        return frozenset(raw)
    raise _bad_list("status list statusPurpose must be one or more strings")


def _check_validity_period(credential: Mapping[str, Any], clock: Clock) -> None:
    """VCDM 2.0 §4.9 validity period of the list credential (BSL §2.2, §7.2).

    Valid from ``validFrom`` (inclusive) until ``validUntil`` (exclusive).
    """
    now = clock.now()
    bounds: dict[str, datetime] = {}
    for name in ("validFrom", "validUntil"):
        if name in credential:
            try:
                bounds[name] = parse_datetime(credential[name])
            except ValueError as exc:
                raise _bad_list(f"status list {name} is not a dateTimeStamp") from exc
    if "validFrom" in bounds and now < bounds["validFrom"]:
        raise VerificationError("status list credential is not valid yet", reason="status_list_not_yet_valid")
    if "validUntil" in bounds and now >= bounds["validUntil"]:
        raise VerificationError("status list credential has expired", reason="status_list_expired")
