"""A cache of verified credentials: the same credential's proof is checked once, not per exchange.

An agent presents the same delegation chain and capability credentials at
every token exchange; only the presentation (its holder proof over a fresh
challenge) is new. :class:`VerifiedCredentialCache` is a
``CredentialVerifier`` (``did_agents.delegation.chain``) in front of
``did_agents.credentials.verify.verify_credential`` that remembers credentials
it has seen verify, so a repeated credential costs a hash and a DID-document
lookup instead of canonicalization and a signature check.

Why a hit may be trusted (the argument is also in ``docs/architecture.md``,
"Verifier"):

* **Same input.** The key is the SHA-256 of the credential's exact content:
  the compact JWS for a ``vc+jwt``, otherwise a deterministic JSON
  serialization (sorted keys, no whitespace, ``ensure_ascii=False``) of the
  parsed object, which is injective on JSON values (it parses back to the same
  value, ``1`` and ``1.0`` and ``true`` stay distinct). Equal keys mean equal
  input, and ``verify_credential`` is a function of its input, the key
  material it resolves, the verifier's options and the time.
* **Same key material.** The entry remembers the verification method (id,
  controller, key type and raw public key) that verified it, read through the
  resolver for ``assertionMethod`` (W3C DI §5.10, CID 1.0 "Retrieve
  Verification Method") just before and just after verifying; if the two
  reads differ (the issuer's DID document changed meanwhile) nothing is
  stored. On every hit the method is dereferenced again: a key removed from
  the issuer's DID document, moved out of ``assertionMethod``, or replaced,
  misses and is verified afresh. did:web documents therefore age exactly as
  for a full verification (the resolver's TTL cache); did:key / did:jwk
  documents are functions of the DID.
* **Same options.** One cache instance has fixed options (formats, clock
  skew, JSON-LD safe mode); they are part of what it is built with.
* **Same time verdict.** Only results with ``verified`` true and no problem
  at all are stored. Their time checks are of two kinds: "not before"
  (``validFrom``, proof ``created``, JWT ``nbf``/``iat``), which stay true as
  time moves forward, so a hit needs ``now >= verified_at``; and "not after"
  (``validUntil``, proof ``expires``, JWT ``exp``), so a hit needs
  ``now < `` the earliest of them, taken without the clock-skew grace (after
  it, the credential is verified afresh and the verifier decides). A clock
  that steps backwards misses. Entries also age out after ``ttl``.
* **What is never cached:** status (revocation / suspension: status lists are
  checked by the chain's rule 5 on every exchange, and a status list's new
  content is a new key), the trust policy, ``delegators``, the chain's
  structure and validity nesting, the presentation's proof and challenge.
  A refusal is never cached either.

Entries are bounded (LRU, ``max_entries``). A stored result holds a private deep
copy of its document; results are shared between requests, so callers must not
mutate ``VerificationResult.document``.
"""

from __future__ import annotations

import copy
import hashlib
from collections import OrderedDict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Final

from did_agents import multibase, strict_json
from did_agents.clock import Clock, parse_datetime
from did_agents.credentials.verify import (
    ALL_FORMATS,
    DEFAULT_CLOCK_SKEW,
    VerificationResult,
    verify_credential,
)
from did_agents.did.document import VerificationMethod
from did_agents.did.resolver import Resolver
from did_agents.errors import DIDAgentsError

__all__ = ["DEFAULT_CACHE_TTL", "VerifiedCredentialCache"]

DEFAULT_CACHE_TTL: Final = timedelta(minutes=10)
_ASSERTION: Final = "assertionMethod"
_ENVELOPED_PREFIX: Final = "data:application/vc+jwt,"
_MAX_HEADER: Final = 4096


@dataclass(frozen=True, slots=True)
class _KeyMaterial:
    id: str
    controller: str
    key_type: str
    raw: bytes

    @classmethod
    def of(cls, vm: VerificationMethod) -> _KeyMaterial:
        return cls(vm.id, vm.controller, vm.public_key.key_type.value, vm.public_key.raw)


@dataclass(frozen=True, slots=True)
class _Entry:
    result: VerificationResult
    key: _KeyMaterial
    verified_at: float
    not_after: float


def _content_key(credential: Any) -> bytes | None:
    """SHA-256 of the credential's exact content (module docstring); ``None`` if it is not JSON."""
    if isinstance(credential, str):
        data = credential.encode("utf-8", "surrogatepass")
        tag = b"jws\x00"
    elif isinstance(credential, Mapping):
        try:
            text = strict_json.dumps_sorted(credential)
        except (TypeError, ValueError, RecursionError):
            return None
        data = text.encode("utf-8", "surrogatepass")
        tag = b"json\x00"
    else:
        return None
    return hashlib.sha256(tag + data).digest()


def _timestamp(value: object) -> float | None:
    """A "not after" bound as a POSIX timestamp: a dateTimeStamp string or a JWT NumericDate."""
    if isinstance(value, bool):
        raise ValueError("not a time")
    if isinstance(value, (int, float)):
        return float(value)
    return parse_datetime(value).timestamp()


def _not_after(result: VerificationResult) -> float | None:
    """The earliest "not after" bound of a verified credential; ``None`` if one cannot be read
    (then the result is not cached)."""
    document = result.document
    assert document is not None
    bounds: list[float] = []
    try:
        if "validUntil" in document:
            bound = _timestamp(document["validUntil"])
            assert bound is not None
            bounds.append(bound)
        if result.format == "vc+jwt":
            # RFC 7519 §4.1.4: the JWT payload is the document; exp is a NumericDate.
            if "exp" in document:
                bound = _timestamp(document["exp"])
                assert bound is not None
                bounds.append(bound)
        elif result.format == "data-integrity":
            proof = document.get("proof")
            if not isinstance(proof, Mapping):
                return None  # proof sets are refused by the verifier anyway
            if "expires" in proof:
                bound = _timestamp(proof["expires"])
                assert bound is not None
                bounds.append(bound)
        else:
            return None  # only VCDM 2.0 formats are cached
    except (ValueError, OverflowError):
        return None
    return min(bounds) if bounds else float("inf")


def _claimed_method(credential: Any) -> str | None:
    """The verification method a credential names, unverified: ``proof.verificationMethod`` of a
    Data Integrity credential, the JWS ``kid`` of a (possibly enveloped) ``vc+jwt``."""
    token: Any = credential
    if isinstance(credential, Mapping):
        proof = credential.get("proof")
        if isinstance(proof, Mapping):
            method = proof.get("verificationMethod")
            return method if isinstance(method, str) else None
        url = credential.get("id")
        if not isinstance(url, str) or not url.startswith(_ENVELOPED_PREFIX):
            return None
        token = url[len(_ENVELOPED_PREFIX) :]
    if not isinstance(token, str):
        return None
    head = token.partition(".")[0]
    if not head or len(head) > _MAX_HEADER:
        return None
    try:
        header = strict_json.loads(multibase.b64url_decode(head))
    except DIDAgentsError:
        return None
    kid = header.get("kid") if isinstance(header, dict) else None
    return kid if isinstance(kid, str) else None


class VerifiedCredentialCache:
    """``await cache(credential, resolver=..., clock=...)`` → ``VerificationResult``, answering
    repeated credentials from memory when that is sound (module docstring)."""

    def __init__(
        self,
        *,
        allowed_formats: Collection[str] = ALL_FORMATS,
        clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
        ttl: timedelta = DEFAULT_CACHE_TTL,
        max_entries: int = 4096,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be positive")
        self._allowed_formats = frozenset(allowed_formats)
        self._clock_skew = clock_skew
        self._ttl = ttl.total_seconds()
        self._max = max_entries
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        self._entries.clear()

    async def __call__(self, credential: Any, /, *, resolver: Resolver, clock: Clock) -> VerificationResult:
        now = clock.now().timestamp()
        key = _content_key(credential)
        if key is not None:
            entry = self._entries.get(key)
            if entry is not None:
                if entry.verified_at <= now < entry.not_after:
                    current = await _material(entry.key.id, resolver)
                    if current == entry.key:
                        self._entries.move_to_end(key)
                        self.hits += 1
                        return entry.result
                self._entries.pop(key, None)
        self.misses += 1
        # The key material is read before and after verifying: an entry is stored only when the
        # issuer's DID document said the same thing throughout (a rotation in between is not
        # recorded against the new key).
        claimed = _claimed_method(credential) if key is not None else None
        before = await _material(claimed, resolver) if claimed is not None else None
        result = await verify_credential(
            credential,
            resolver=resolver,
            clock=clock,
            allowed_formats=self._allowed_formats,
            clock_skew=self._clock_skew,
        )
        if key is not None and before is not None and self._storable(result, before):
            after = await _material(before.id, resolver)
            not_after = _not_after(result)
            if after == before and not_after is not None:
                # A private deep copy: nested members of the caller's input are not shared with
                # later hits (the caller may reuse or change its objects).
                result = replace(result, document=copy.deepcopy(result.document))
                self._entries[key] = _Entry(result, before, now, min(not_after, now + self._ttl))
                self._entries.move_to_end(key)
                while len(self._entries) > self._max:
                    self._entries.popitem(last=False)
        return result

    @staticmethod
    def _storable(result: VerificationResult, material: _KeyMaterial) -> bool:
        return (
            result.verified
            and not result.problems
            and result.document is not None
            and result.format in ("data-integrity", "vc+jwt")
            and result.verification_method == material.id
        )


async def _material(vm_id: str, resolver: Resolver) -> _KeyMaterial | None:
    """The key material ``vm_id`` stands for now, if it is authorized for ``assertionMethod``."""
    try:
        vm = await resolver.verification_method(vm_id, _ASSERTION)
    except DIDAgentsError:
        return None
    return _KeyMaterial.of(vm)
