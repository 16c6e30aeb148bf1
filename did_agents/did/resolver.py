"""DID resolution: dispatch by method, with a bounded TTL cache.

did:key and did:jwk resolve offline; did:web goes through a ``MethodResolver``
that fetches over HTTPS with the guarded fetcher (``did_agents.did.web``).
Unknown methods are refused (``ResolutionError``, reason ``unsupported_did_method``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from datetime import timedelta
from typing import Protocol

from did_agents.clock import Clock, SystemClock
from did_agents.did import jwk as did_jwk
from did_agents.did import key as did_key
from did_agents.did.document import (
    DIDDocument,
    Relationship,
    VerificationMethod,
    parse_did,
    split_did_url,
)
from did_agents.errors import MalformedError, ResolutionError, VerificationError

__all__ = ["DIDResolver", "MethodResolver", "Resolver"]


class MethodResolver(Protocol):
    async def resolve(self, did: str) -> DIDDocument: ...


class Resolver(Protocol):
    async def resolve(self, did: str) -> DIDDocument: ...

    async def verification_method(self, vm_url: str, relationship: Relationship) -> VerificationMethod: ...


_OFFLINE: dict[str, Callable[[str], DIDDocument]] = {"key": did_key.resolve, "jwk": did_jwk.resolve}


class DIDResolver:
    """Resolve DIDs by method. Offline methods are cached in an LRU; network ones for ``ttl``."""

    def __init__(
        self,
        *,
        methods: dict[str, MethodResolver] | None = None,
        clock: Clock | None = None,
        ttl: timedelta = timedelta(minutes=5),
        max_entries: int = 4096,
    ) -> None:
        self._methods = dict(methods or {})
        self._clock = clock or SystemClock()
        self._ttl = ttl
        self._max = max_entries
        self._cache: OrderedDict[str, tuple[DIDDocument, float | None]] = OrderedDict()

    def register(self, method: str, resolver: MethodResolver) -> None:
        self._methods[method] = resolver

    def invalidate(self, did: str | None = None) -> None:
        if did is None:
            self._cache.clear()
        else:
            self._cache.pop(did, None)

    def _cached(self, did: str) -> DIDDocument | None:
        entry = self._cache.get(did)
        if entry is None:
            return None
        doc, expires = entry
        if expires is not None and self._clock.now().timestamp() >= expires:
            del self._cache[did]
            return None
        self._cache.move_to_end(did)
        return doc

    def _store(self, did: str, doc: DIDDocument, expires: float | None) -> None:
        self._cache[did] = (doc, expires)
        self._cache.move_to_end(did)
        while len(self._cache) > self._max:
            self._cache.popitem(last=False)

    def resolve_offline(self, did: str) -> DIDDocument | None:
        """Resolve without I/O if the method allows it (or the document is cached), else ``None``."""
        cached = self._cached(did)
        if cached is not None:
            return cached
        try:
            method, _ = parse_did(did)
        except MalformedError as exc:
            raise ResolutionError(exc.description, reason="invalid_did") from exc
        offline = _OFFLINE.get(method)
        if offline is None:
            return None
        doc = offline(did)
        self._store(did, doc, None)
        return doc

    async def resolve(self, did: str) -> DIDDocument:
        doc = self.resolve_offline(did)
        if doc is not None:
            return doc
        method, _ = parse_did(did)
        resolver = self._methods.get(method)
        if resolver is None:
            raise ResolutionError(f"DID method {method!r} is not supported", reason="unsupported_did_method")
        doc = await resolver.resolve(did)
        if doc.id != did:
            raise ResolutionError(
                f"resolved document id {doc.id} does not match {did}", reason="invalid_did_document"
            )
        self._store(did, doc, self._clock.now().timestamp() + self._ttl.total_seconds())
        return doc

    async def verification_method(self, vm_url: str, relationship: Relationship) -> VerificationMethod:
        """Dereference ``vm_url`` and check it is authorized for ``relationship``."""
        try:
            did, fragment = split_did_url(vm_url)
        except MalformedError as exc:
            raise VerificationError(exc.description, reason="unknown_key") from exc
        if fragment is None:
            raise VerificationError("verification method URL has no fragment", reason="unknown_key")
        doc = await self.resolve(did)
        return doc.authorized_method(vm_url, relationship)
