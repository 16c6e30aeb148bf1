"""What a repeated exchange may skip, and what it may not: credentials that verified before are
not verified again, challenges issued here are prechecked from memory, but status, challenge
spending and the chain rules run every time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection

from did_agents.errors import VerificationError
from did_agents.exchange import TokenExchange
from did_agents.storage.database import Database
from tests.exchange.harness import Harness


def smith_chain(h: Harness) -> list[Any]:
    w = h.w
    return [w.smith_to_ordering(), w.ordering_acc(), w.smith_role()]


def _count_reads(monkeypatch: pytest.MonkeyPatch, db: Database) -> list[int]:
    reads: list[int] = []
    real: Callable[[], AbstractContextManager[Connection]] = db.read

    def counting() -> AbstractContextManager[Connection]:
        reads.append(1)
        return real()

    monkeypatch.setattr(db, "read", counting)
    return reads


def _second_instance(h: Harness) -> TokenExchange:
    """Another verifier instance on the same database (stateless apart from it, DESIGN §9)."""
    return TokenExchange(
        database=h.db,
        policy=h.policy,
        signer=h.signer,
        resolver=h.w.resolver,
        status_source=h.status,
        clock=h.clock,
        config=h.exchange.config,
    )


@pytest.fixture
def hs(db: Database, tmp_path: Path) -> Iterator[Harness]:
    yield Harness(db, tmp_path)


def test_credentials_verified_before_are_not_verified_again(hs: Harness) -> None:
    h = hs
    chain = smith_chain(h)
    h.exchange_for(h.present(h.w.ordering, chain))
    cache = h.exchange._credential_cache(timedelta(seconds=h.policy.limits.clock_skew))
    misses = cache.misses
    h.exchange_for(h.present(h.w.ordering, chain))
    assert cache.misses == misses
    assert cache.hits >= len(chain)


def test_revocation_after_caching_still_refuses(hs: Harness) -> None:
    """Rule 5 is checked on every exchange: a cached verification does not cache status."""
    h = hs
    w = h.w
    delegation = w.smith_to_ordering()
    chain = [delegation, w.ordering_acc(), w.smith_role()]
    h.exchange_for(h.present(w.ordering, chain))
    w.revoked.set(w.index_of(delegation), True)
    h.status.invalidate()
    h.refused(h.form(h.present(w.ordering, chain)), VerificationError, "revoked")


def test_a_challenge_issued_here_is_prechecked_without_a_database_read(
    hs: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = hs
    presented = h.present(h.w.ordering, smith_chain(h))
    reads = _count_reads(monkeypatch, h.db)
    h.exchange_for(presented)
    assert reads == []


def test_a_challenge_issued_elsewhere_is_read_from_the_database(
    hs: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    h = hs
    nonce = asyncio.run(_second_instance(h).issue_challenge()).nonce
    presented = h.present(h.w.ordering, smith_chain(h), challenge=nonce)
    reads = _count_reads(monkeypatch, h.db)
    h.exchange_for(presented)
    assert len(reads) == 1


def test_a_challenge_spent_by_another_instance_is_refused_at_commit(hs: Harness) -> None:
    """SECURITY SEC-23 across instances: the database spend decides, with the same reason."""
    import asyncio

    h = hs
    presented = h.present(h.w.ordering, smith_chain(h))  # issued by h.exchange
    other = _second_instance(h)
    asyncio.run(other.exchange(h.form(presented)))
    h.refused(h.form(presented), VerificationError, "challenge_spent")


def test_a_challenge_spent_here_is_refused_before_signature_work(hs: Harness) -> None:
    h = hs
    presented = h.present(h.w.ordering, smith_chain(h))
    h.exchange_for(presented)
    # Same challenge, now with a broken presentation proof: the challenge is refused first.
    broken = presented.token.replace('"proofValue": "z', '"proofValue": "z1', 1)
    assert broken != presented.token
    presented.token = broken
    h.refused(h.form(presented), VerificationError, "challenge_spent")


def test_an_expired_local_challenge_is_refused_before_signature_work(hs: Harness) -> None:
    h = hs
    presented = h.present(h.w.ordering, smith_chain(h))
    presented.token = presented.token.replace('"proofValue": "z', '"proofValue": "z1', 1)
    h.clock.advance(timedelta(minutes=5))
    h.refused(h.form(presented), VerificationError, "challenge_expired")
