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
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection, Mapping
from datetime import timedelta
from typing import Any, Final

from did_agents import strict_json
from did_agents.clock import Clock
from did_agents.fetch import GuardedFetcher

__all__ = ["STATUS_LIST_MEDIA_TYPES", "StatusListSource", "fetch_status_list"]

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
