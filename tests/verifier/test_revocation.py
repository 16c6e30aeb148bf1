"""Revocation, suspension and offboarding stop new exchanges: at once where the status list is
local, within the status cache TTL where it is fetched (status lists fail closed)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from did_agents.errors import VerificationError
from did_agents.exchange import StatusListSource
from did_agents.storage.database import Database
from tests.exchange.harness import Harness


def chain(h: Harness, delegation: Any = None) -> list[Any]:
    w = h.w
    return [delegation or w.smith_to_ordering(), w.ordering_acc(), w.smith_role()]


def test_revocation_takes_effect_within_the_ttl(db: Database, tmp_path: Path) -> None:
    h = Harness(db, tmp_path, status_ttl=timedelta(seconds=30))
    w = h.w
    delegation = w.smith_to_ordering()
    h.exchange_for(h.present(w.ordering, chain(h, delegation)))
    w.revoked.set(w.index_of(delegation), True)
    fetches = len(w.fetches)
    # Still inside the TTL: the cached list is used (no fetch).
    h.exchange_for(h.present(w.ordering, chain(h, delegation)))
    assert len(w.fetches) == fetches
    h.clock.advance(timedelta(seconds=31))
    h.refused(h.form(h.present(w.ordering, chain(h, delegation))), VerificationError, "revoked")


def test_local_status_lists_take_effect_at_once(db: Database, tmp_path: Path) -> None:
    """The co-hosted issuer's lists are read on every exchange (no cache)."""
    h = Harness(db, tmp_path)
    w = h.w

    async def local(url: str) -> Mapping[str, Any] | str | None:
        return await w.fetch(url)

    async def never(url: str) -> Mapping[str, Any] | str:
        raise AssertionError("a local list must not be fetched")

    h.exchange.status_source = StatusListSource(never, clock=h.clock, ttl=timedelta(hours=1), local=local)
    acc = w.ordering_acc()
    h.exchange_for(h.present(w.ordering, [w.smith_to_ordering(), acc, w.smith_role()]))
    w.suspended.set(w.index_of(acc), True)  # the agent is suspended
    body = h.form(h.present(w.ordering, [w.smith_to_ordering(), acc, w.smith_role()]))
    h.refused(body, VerificationError, "suspended")
    w.suspended.set(w.index_of(acc), False)
    w.revoked.set(w.index_of(acc), True)  # the agent is offboarded
    body = h.form(h.present(w.ordering, [w.smith_to_ordering(), acc, w.smith_role()]))
    h.refused(body, VerificationError, "revoked")
