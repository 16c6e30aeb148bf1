"""Where the verifier gets status list credentials (W3C Bitstring Status List §3.2 step 2).

:class:`StatusListSource` is the ``status_resolver`` handed to
``verify_chain`` / ``verify_credential``: a bounded TTL cache in front of a
fetcher (normally the guarded fetcher, DESIGN §10: the only network I/O during
verification besides did:web). Failures are never cached and always propagate,
so verification fails closed (SECURITY SEC-46).

A *local* source, when given, is asked first for every URL and bypasses the
cache: the issuer hosted in the same process answers from the database, so a
revocation or suspension stops new exchanges on the same host at once; on
other hosts it takes effect within the TTL.

"At once" is exact for lists kept in the verifier's own database
(:class:`DatabaseStatusRecheck`, SECURITY FLT-04): the bits of every status
entry of the chain are read again *inside* the transaction that mints the
token, under the lock a revocation takes (``SELECT … FOR UPDATE`` on the list's
row on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` write lock), so a revocation
that commits before the mint commits wins, and one that commits after it is
ordered after the token in the audit log. Remote lists are as fresh as the
cache TTL allows.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

from sqlalchemy import Connection

from did_agents import strict_json
from did_agents.clock import Clock
from did_agents.errors import VerificationError
from did_agents.fetch import GuardedFetcher
from did_agents.storage.status_lists import StatusListRepository

__all__ = [
    "STATUS_LIST_MEDIA_TYPES",
    "DatabaseStatusRecheck",
    "StatusListSource",
    "StatusRecheck",
    "StatusReference",
    "fetch_status_list",
    "status_references",
]

StatusDocument = Mapping[str, Any] | str
Fetch = Callable[[str], Awaitable[StatusDocument]]
LocalFetch = Callable[[str], Awaitable[StatusDocument | None]]

#: BSL §2.2: the list is a verifiable credential; secured as JSON(-LD) or as a vc+jwt.
STATUS_LIST_MEDIA_TYPES: Final = (
    "application/vc+ld+json",
    "application/vc",
    "application/ld+json",
    "application/json",
    "application/vc+jwt",
)


async def fetch_status_list(fetcher: GuardedFetcher, url: str) -> StatusDocument:
    """GET a status list credential through the guarded fetcher: JSON, or a compact ``vc+jwt``."""
    response = await fetcher.fetch(url, accept=STATUS_LIST_MEDIA_TYPES)
    if response.media_type.endswith("jwt"):
        return response.content.decode("ascii", errors="strict").strip()
    document = strict_json.loads(response.content)
    if not isinstance(document, Mapping):
        raise ValueError("a status list credential must be a JSON object")
    return document


class StatusListSource:
    """``await source(url)`` → the status list credential at ``url`` (see module docstring)."""

    def __init__(
        self,
        fetch: Fetch,
        *,
        clock: Clock,
        ttl: timedelta = timedelta(seconds=60),
        local: LocalFetch | None = None,
        max_entries: int = 1024,
        allowed_prefixes: Collection[str] | None = None,
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._ttl = ttl
        self._local = local
        self._max = max_entries
        self._allowed = tuple(allowed_prefixes) if allowed_prefixes is not None else None
        self._cache: OrderedDict[str, tuple[StatusDocument, float]] = OrderedDict()
        self._inflight: dict[str, asyncio.Future[StatusDocument]] = {}

    def invalidate(self, url: str | None = None) -> None:
        if url is None:
            self._cache.clear()
        else:
            self._cache.pop(url, None)

    async def __call__(self, url: str) -> StatusDocument:
        if self._allowed is not None and not url.startswith(self._allowed):
            raise ValueError("status list URL outside the allowed prefixes")
        if self._local is not None:
            document = await self._local(url)
            if document is not None:
                return document
        now = self._clock.now().timestamp()
        cached = self._cache.get(url)
        if cached is not None and now < cached[1]:
            self._cache.move_to_end(url)
            return cached[0]
        # One fetch per URL at a time: concurrent exchanges share it.
        pending = self._inflight.get(url)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[StatusDocument] = asyncio.get_running_loop().create_future()
        self._inflight[url] = future
        try:
            document = await self._fetch(url)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it themselves
            raise
        else:
            future.set_result(document)
            self._cache[url] = (document, self._clock.now().timestamp() + self._ttl.total_seconds())
            self._cache.move_to_end(url)
            while len(self._cache) > self._max:
                self._cache.popitem(last=False)
            return document
        finally:
            self._inflight.pop(url, None)


# -- re-checking inside the mint transaction (SECURITY FLT-04) -----------------------------------


@dataclass(frozen=True, slots=True)
class StatusReference:
    """Where one status bit of a verified credential is (BSL §2.1 ``BitstringStatusListEntry``)."""

    url: str
    index: int
    purpose: str
    credential: str


def status_references(documents: Iterable[Mapping[str, Any] | None]) -> tuple[StatusReference, ...]:
    """The status entries of verified credentials. Entries the chain's rule 5 would refuse
    (malformed, other types) are skipped here: the exchange never reaches the mint with one."""
    references: list[StatusReference] = []
    for position, document in enumerate(documents):
        if document is None:
            continue
        value = document.get("credentialStatus")
        entries = value if isinstance(value, list) else [] if value is None else [value]
        name = document.get("id")
        credential = name[:120] if isinstance(name, str) else f"credential #{position}"
        for entry in entries:
            if not isinstance(entry, Mapping):
                continue
            url, index, purpose = (
                entry.get("statusListCredential"),
                entry.get("statusListIndex"),
                entry.get("statusPurpose"),
            )
            if not isinstance(url, str) or not isinstance(purpose, str):
                continue
            # BSL §2.1: statusListIndex is an arbitrary-size integer as a string.
            if not isinstance(index, str) or not (index.isascii() and index.isdigit()):
                continue
            references.append(StatusReference(url, int(index), purpose, credential))
    return tuple(references)


StatusRecheck = Callable[[Connection, Sequence[StatusReference]], None]
"""Called inside the mint transaction with every status entry of the chain; raises
``VerificationError`` (``revoked`` / ``suspended`` / ``status_unavailable``) to refuse."""


class DatabaseStatusRecheck:
    """A :data:`StatusRecheck` for the status lists kept in this database, published under
    ``prefix`` + list id (the co-hosted issuer's ``<base_url>/status/``); other URLs are left
    to the status cache's TTL."""

    def __init__(self, prefix: str) -> None:
        if not prefix.endswith("/"):
            raise ValueError("the status list URL prefix must end with '/'")
        self.prefix = prefix

    def __call__(self, conn: Connection, references: Sequence[StatusReference]) -> None:
        local = [(ref.url[len(self.prefix) :], ref) for ref in references if ref.url.startswith(self.prefix)]
        repository = StatusListRepository(conn)
        # One lock order for every transaction (list ids sorted): concurrent mints never deadlock.
        for list_id in sorted({list_id for list_id, _ in local}):
            # Under the lock a bit change takes (StatusListRepository.set_bit): a revocation
            # committed before this read is seen; one not yet committed waits for our commit.
            stored = repository.find(list_id, for_update=True)
            for ref in (ref for lid, ref in local if lid == list_id):
                if stored is None or not 0 <= ref.index < stored.size:
                    raise VerificationError(
                        f"status list {ref.url[:120]} has no entry {ref.index}", reason="status_unavailable"
                    )
                if stored.bit(ref.index):
                    if stored.purpose == "suspension":
                        raise VerificationError(f"{ref.credential} is suspended", reason="suspended")
                    raise VerificationError(f"{ref.credential} is revoked", reason="revoked")
