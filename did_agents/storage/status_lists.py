"""Status lists (W3C Bitstring Status List v1.0) as stored by the issuer.

The raw, uncompressed bitstring lives in ``status_lists.bitstring``; encoding it
(GZIP + multibase) and signing the list credential is
:mod:`did_agents.status.bitstring`'s job. Bit order follows the spec: index 0 is
the left-most (most significant) bit of the first byte.

Concurrency:

- **allocation** picks a random index (Bitstring Status List §2.1: the index
  SHOULD be random; §6.5 privacy) and inserts ``(list_id, status_index)``; the primary key makes a second
  claim of the same index impossible, and a collision just draws again;
- **bit changes** are read-modify-write on one row, done under ``SELECT ... FOR
  UPDATE`` on PostgreSQL (SQLite's ``BEGIN IMMEDIATE`` already serializes
  writers) plus a version compare-and-swap, so concurrent revocations never
  lose each other's bits (SECURITY FLT-06);
- the **signed list cache** is stored with the version it was signed at and is
  served only while that version is current.

Statements are built once with bound parameters and run with parameter dicts
(:mod:`did_agents.storage.prepared`): allocation runs twice per issued
credential, and every token exchange re-reads the co-hosted lists (FLT-04).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal

from sqlalchemy import Connection, Row, bindparam, func, select, union_all, update
from sqlalchemy.sql.expression import Insert

from did_agents.errors import ConflictError, NotFoundError, StorageError
from did_agents.storage.engine import Backend
from did_agents.storage.prepared import dialect_insert, execute_direct, ignoring_conflicts, per_backend
from did_agents.storage.schema import status_allocations, status_lists

__all__ = [
    "DEFAULT_LIST_SIZE",
    "StatusAllocation",
    "StatusList",
    "StatusListRepository",
    "StatusPurpose",
    "get_bit",
]

StatusPurpose = Literal["revocation", "suspension"]

# Bitstring Status List §6.1: at least 131,072 entries (16 KiB) for herd privacy.
DEFAULT_LIST_SIZE: Final = 131_072
_RANDOM_ATTEMPTS: Final = 32

_l = status_lists.c
_a = status_allocations.c
_FIND: Final = select(status_lists).where(_l.id == bindparam("b_id"))
# PostgreSQL: the row lock a bit change takes; SQLite renders no FOR UPDATE (BEGIN IMMEDIATE).
_FIND_FOR_UPDATE: Final = _FIND.with_for_update()
_LISTS: Final = select(status_lists).order_by(_l.created_at, _l.id)
_LISTS_OF: Final = _LISTS.where(_l.purpose == bindparam("b_purpose"))
_SIZE: Final = select(_l.size).where(_l.id == bindparam("b_id"))
_ALLOCATED_COUNT: Final = (
    select(func.count()).select_from(status_allocations).where(_a.list_id == bindparam("b_id"))
)
_ALLOCATION: Final = select(status_allocations).where(
    _a.list_id == bindparam("b_id"), _a.status_index == bindparam("b_index")
)
_TAKEN: Final = select(_a.status_index).where(_a.list_id == bindparam("b_id"))
_INDEX_OF: Final = select(_a.status_index).where(
    _a.list_id == bindparam("b_id"), _a.credential_id == bindparam("b_credential")
)
# One round trip for the common claim: insert the allocation only if the list
# exists (committed or in this transaction) and the index is inside it; a
# conflict (index taken, or the credential already has an entry) inserts nothing.
_GUARDED_CLAIM_SOURCE: Final = select(
    _l.id,
    bindparam("b_index", type_=status_allocations.c.status_index.type),
    bindparam("b_credential", type_=status_allocations.c.credential_id.type),
    bindparam("b_now", type_=status_allocations.c.allocated_at.type),
).where(_l.id == bindparam("b_id"), _l.size > bindparam("b_index"))


def _claim_source(n: int) -> Any:
    return select(
        _l.id,
        bindparam(f"b_index{n}", type_=status_allocations.c.status_index.type),
        bindparam("b_credential", type_=status_allocations.c.credential_id.type),
        bindparam("b_now", type_=status_allocations.c.allocated_at.type),
    ).where(_l.id == bindparam(f"b_id{n}"), _l.size > bindparam(f"b_index{n}"))


# The same claim for two lists at once (issuance claims a revocation and a suspension
# index): one INSERT ... SELECT ... UNION ALL SELECT ..., RETURNING the rows that landed.
@per_backend
def _pair_claim(backend: Backend) -> Insert:
    # SQLite: the compound SELECT's last member has a WHERE, so ON CONFLICT parses.
    return (
        dialect_insert(backend, status_allocations)
        .from_select(
            ["list_id", "status_index", "credential_id", "allocated_at"],
            union_all(_claim_source(0), _claim_source(1)),
        )
        .on_conflict_do_nothing()
        .returning(_a.list_id, _a.status_index)
    )


@per_backend
def _guarded_claim(backend: Backend) -> Insert:
    # SQLite: INSERT ... SELECT ... ON CONFLICT needs the SELECT's WHERE (it has one)
    # to parse; rowcount is asked for explicitly as in ignoring_conflicts.
    return (
        dialect_insert(backend, status_allocations)
        .from_select(["list_id", "status_index", "credential_id", "allocated_at"], _GUARDED_CLAIM_SOURCE)
        .on_conflict_do_nothing()
        .execution_options(preserve_rowcount=True)
    )


# Compare-and-swap on the version (SECURITY FLT-06).
_SET_BITS: Final = (
    update(status_lists)
    .where(_l.id == bindparam("b_id"), _l.version == bindparam("b_version"))
    .values(
        bitstring=bindparam("b_bitstring"),
        version=bindparam("b_next_version"),
        updated_at=bindparam("b_now"),
    )
)
_STORE_SIGNED: Final = (
    update(status_lists)
    .where(_l.id == bindparam("b_id"), _l.version == bindparam("b_version"))
    .values(signed_credential=bindparam("b_credential"), signed_version=bindparam("b_signed_version"))
)


def _locate(index: int) -> tuple[int, int]:
    return index // 8, 0x80 >> (index % 8)


def get_bit(bitstring: bytes, index: int) -> bool:
    """The bit at ``index``; index 0 is the most significant bit of byte 0."""
    byte, mask = _locate(index)
    return bool(bitstring[byte] & mask)


@dataclass(frozen=True)
class StatusList:
    id: str
    purpose: StatusPurpose
    size: int
    bitstring: bytes = field(repr=False)
    version: int
    created_at: datetime
    updated_at: datetime
    signed_credential: str | None = field(default=None, repr=False)
    signed_version: int | None = None

    def bit(self, index: int) -> bool:
        if not 0 <= index < self.size:
            raise IndexError("status index out of range")
        return get_bit(self.bitstring, index)

    @property
    def current_signed_credential(self) -> str | None:
        """The cached signed list credential, if it reflects the current bits."""
        return self.signed_credential if self.signed_version == self.version else None


@dataclass(frozen=True)
class StatusAllocation:
    list_id: str
    index: int
    credential_id: str
    allocated_at: datetime


def _status_list(row: Row[Any]) -> StatusList:
    m = row._mapping
    return StatusList(
        id=m["id"],
        purpose=m["purpose"],
        size=m["size"],
        bitstring=bytes(m["bitstring"]),
        version=m["version"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        signed_credential=m["signed_credential"],
        signed_version=m["signed_version"],
    )


class StatusListRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def create(
        self, list_id: str, purpose: StatusPurpose, *, now: datetime, size: int = DEFAULT_LIST_SIZE
    ) -> StatusList:
        """A new all-zero list. ``size`` is a positive multiple of 8."""
        if size <= 0 or size % 8:
            raise ValueError("status list size must be a positive multiple of 8")
        status_list = StatusList(
            id=list_id,
            purpose=purpose,
            size=size,
            bitstring=bytes(size // 8),
            version=0,
            created_at=now,
            updated_at=now,
        )
        inserted = self._conn.execute(
            ignoring_conflicts(self._conn, status_lists),
            {
                "id": list_id,
                "purpose": purpose,
                "size": size,
                "bitstring": status_list.bitstring,
                "version": 0,
                "created_at": now,
                "updated_at": now,
            },
        )
        if inserted.rowcount != 1:
            raise ConflictError("a status list with this id exists", reason="status_list_exists")
        return status_list

    def find(self, list_id: str, *, for_update: bool = False) -> StatusList | None:
        row = self._conn.execute(_FIND_FOR_UPDATE if for_update else _FIND, {"b_id": list_id}).first()
        return None if row is None else _status_list(row)

    def get(self, list_id: str, *, for_update: bool = False) -> StatusList:
        status_list = self.find(list_id, for_update=for_update)
        if status_list is None:
            raise NotFoundError("no such status list", reason="status_list_not_found")
        return status_list

    def lists(self, *, purpose: StatusPurpose | None = None) -> list[StatusList]:
        rows = (
            self._conn.execute(_LISTS)
            if purpose is None
            else self._conn.execute(_LISTS_OF, {"b_purpose": purpose})
        )
        return [_status_list(row) for row in rows]

    def allocated_count(self, list_id: str) -> int:
        return int(self._conn.execute(_ALLOCATED_COUNT, {"b_id": list_id}).scalar_one())

    def allocation(self, list_id: str, index: int) -> StatusAllocation | None:
        row = self._conn.execute(_ALLOCATION, {"b_id": list_id, "b_index": index}).first()
        if row is None:
            return None
        m = row._mapping
        return StatusAllocation(
            list_id=m["list_id"],
            index=m["status_index"],
            credential_id=m["credential_id"],
            allocated_at=m["allocated_at"],
        )

    def allocate(
        self,
        list_id: str,
        credential_id: str,
        *,
        now: datetime,
        choose: Callable[[int], int] = secrets.randbelow,
        size: int | None = None,
    ) -> int:
        """Claim a random free index of ``list_id`` for ``credential_id``.

        ``choose(n)`` returns a uniformly random int in ``[0, n)`` (injectable
        for tests). ``size`` is the list's size if the caller knows it (a list's
        size never changes): the first draw is then claimed in one statement
        that also checks the list exists and holds the index; any miss falls
        back to the full path below, which reads the size. The credential row
        may be inserted later in the same transaction (the foreign key is
        deferred). Raises :class:`NotFoundError` ``status_list_not_found`` for
        an unknown list, :class:`ConflictError` ``status_list_full`` when no
        index is left and ``status_already_allocated`` if the credential has an
        entry here.
        """
        if size is not None and size > 0:
            index = choose(size)
            if not 0 <= index < size:
                raise ValueError("choose() returned an index out of range")
            claimed = self._conn.execute(
                _guarded_claim(self._conn),
                {"b_id": list_id, "b_index": index, "b_credential": credential_id, "b_now": now},
            )
            if claimed.rowcount == 1:
                return index
        size = self._conn.execute(_SIZE, {"b_id": list_id}).scalar_one_or_none()
        if size is None:
            raise NotFoundError("no such status list", reason="status_list_not_found")
        for _ in range(_RANDOM_ATTEMPTS):
            index = choose(size)
            if self._try_claim(list_id, index, credential_id, size, now):
                return index
        # A crowded list: draw among the indexes still free.
        for _ in range(_RANDOM_ATTEMPTS):
            taken = set(self._conn.execute(_TAKEN, {"b_id": list_id}).scalars())
            free = [i for i in range(size) if i not in taken]
            if not free:
                raise ConflictError("the status list is full", reason="status_list_full")
            index = free[choose(len(free))]
            if self._try_claim(list_id, index, credential_id, size, now):
                return index
        raise StorageError("could not allocate a status index", reason="storage_busy")

    def claim_pair(
        self,
        first: tuple[str, int],
        second: tuple[str, int],
        credential_id: str,
        *,
        now: datetime,
        choose: Callable[[int], int] = secrets.randbelow,
    ) -> tuple[int | None, int | None]:
        """Try to claim a random index in each of two different lists in one statement.

        ``first`` and ``second`` are ``(list_id, size)`` with the size the caller
        believes the list has. Returns the index claimed in each list, or
        ``None`` where nothing landed (unknown list, index out of range or
        taken, the credential already has an entry there); the caller claims
        those through :meth:`allocate`, which tells the cases apart. A landed
        claim is kept either way.
        """
        (first_id, first_size), (second_id, second_size) = first, second
        if first_id == second_id or first_size <= 0 or second_size <= 0:
            return None, None
        first_index, second_index = choose(first_size), choose(second_size)
        if not (0 <= first_index < first_size and 0 <= second_index < second_size):
            raise ValueError("choose() returned an index out of range")
        rows = execute_direct(
            self._conn,
            _pair_claim(self._conn),
            {
                "b_id0": first_id,
                "b_index0": first_index,
                "b_id1": second_id,
                "b_index1": second_index,
                "b_credential": credential_id,
                "b_now": now,
            },
        )
        landed = {list_id: index for list_id, index in rows.rows}
        return (
            first_index if landed.get(first_id) == first_index else None,
            second_index if landed.get(second_id) == second_index else None,
        )

    def _try_claim(self, list_id: str, index: int, credential_id: str, size: int, now: datetime) -> bool:
        if not 0 <= index < size:
            raise ValueError("choose() returned an index out of range")
        inserted = self._conn.execute(
            ignoring_conflicts(self._conn, status_allocations),
            {"list_id": list_id, "status_index": index, "credential_id": credential_id, "allocated_at": now},
        )
        if inserted.rowcount == 1:
            return True
        # Either the index is taken (draw again) or this credential already has one.
        existing = self._conn.execute(_INDEX_OF, {"b_id": list_id, "b_credential": credential_id}).first()
        if existing is not None:
            raise ConflictError(
                "the credential already has an entry in this status list",
                reason="status_already_allocated",
            )
        return False

    def set_bit(self, list_id: str, index: int, value: bool, *, now: datetime) -> int:
        """Set the bit at an allocated ``index`` and return the list's new version
        (unchanged if the bit already had ``value``)."""
        current = self.get(list_id, for_update=True)
        if not 0 <= index < current.size:
            raise NotFoundError("status index out of range", reason="status_index_unallocated")
        if self.allocation(list_id, index) is None:
            raise NotFoundError("status index not allocated", reason="status_index_unallocated")
        if current.bit(index) == value:
            return current.version
        bits = bytearray(current.bitstring)
        byte, mask = _locate(index)
        bits[byte] = bits[byte] | mask if value else bits[byte] & ~mask
        result = self._conn.execute(
            _SET_BITS,
            {
                "b_id": list_id,
                "b_version": current.version,
                "b_bitstring": bytes(bits),
                "b_next_version": current.version + 1,
                "b_now": now,
            },
        )
        if result.rowcount != 1:
            # Cannot happen under the row lock / write lock; never overwrite blindly.
            raise StorageError("status list changed concurrently", reason="storage_busy")
        return current.version + 1

    def get_bit(self, list_id: str, index: int) -> bool:
        return self.get(list_id).bit(index)

    def store_signed(self, list_id: str, credential: str, *, version: int) -> bool:
        """Cache the list credential signed over ``version``. Returns ``False`` (and
        stores nothing) if the bits changed since — the caller re-signs."""
        result = self._conn.execute(
            _STORE_SIGNED,
            {"b_id": list_id, "b_version": version, "b_credential": credential, "b_signed_version": version},
        )
        return result.rowcount == 1

    def restore(
        self,
        list_id: str,
        purpose: StatusPurpose,
        *,
        size: int,
        bitstring: bytes,
        version: int,
        now: datetime,
    ) -> None:
        """Set a list to ``bitstring`` at ``version`` (created if missing), dropping any cached
        signed credential: for writing back a newer state kept outside the database
        (:mod:`did_agents.status.watermark`, SECURITY FLT-14). ``version`` must be above the
        stored one (``ConflictError``, ``status_version``)."""
        if len(bitstring) != size // 8 or size <= 0 or size % 8:
            raise ValueError("the bitstring does not match the size")
        current = self.find(list_id, for_update=True)
        if current is None:
            self.create(list_id, purpose, now=now, size=size)
            current = self.get(list_id, for_update=True)
        if current.purpose != purpose or current.size != size:
            raise ConflictError(
                f"status list {list_id} has another purpose or size", reason="status_list_shape"
            )
        if version <= current.version:
            raise ConflictError(
                f"status list {list_id} is already at version {current.version}", reason="status_version"
            )
        self._conn.execute(
            update(status_lists)
            .where(_l.id == list_id)
            .values(
                bitstring=bitstring,
                version=version,
                updated_at=now,
                signed_credential=None,
                signed_version=None,
            )
        )
