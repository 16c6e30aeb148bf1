"""``verify_chain(parsed_claims=ParsedClaims())``: claims of a repeated verified document are parsed
once, and every rule of DESIGN §5 still runs on every call."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

import did_agents.delegation.chain as chain_module
from did_agents.delegation.chain import ParsedClaims
from did_agents.errors import VerificationError
from did_agents.exchange.credential_cache import VerifiedCredentialCache
from tests.delegation.urban_bites import UrbanBites


@pytest.fixture
def w() -> UrbanBites:
    return UrbanBites("eddsa-jcs-2022")


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    calls: list[Any] = []
    real = chain_module.parse_delegation_credential

    def parse(document: Any) -> Any:
        calls.append(document)
        return real(document)

    monkeypatch.setattr(chain_module, "parse_delegation_credential", parse)
    return calls


def test_repeated_documents_are_parsed_once(w: UrbanBites, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _counting(monkeypatch)
    memo, cache = ParsedClaims(), VerifiedCredentialCache()
    chain = [w.smith_to_ordering(), w.ordering_acc(), w.smith_role()]
    first = asyncio.run(w.verify(chain, w.ordering, verify_credential=cache, parsed_claims=memo))
    second = asyncio.run(w.verify(chain, w.ordering, verify_credential=cache, parsed_claims=memo))
    plain = asyncio.run(w.verify(chain, w.ordering))
    assert len(calls) == 2  # once with the memo, once for the plain call
    assert first == second == plain


def test_without_the_same_result_objects_nothing_is_reused(
    w: UrbanBites, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Plain ``verify_credential`` returns a new document each time: the memo never answers."""
    calls = _counting(monkeypatch)
    memo = ParsedClaims()
    chain = [w.smith_to_ordering(), w.ordering_acc(), w.smith_role()]
    for _ in range(2):
        asyncio.run(w.verify(chain, w.ordering, parsed_claims=memo))
    assert len(calls) == 2


def test_rules_still_run_on_every_call(w: UrbanBites) -> None:
    memo, cache = ParsedClaims(), VerifiedCredentialCache()
    chain = [w.smith_to_ordering(), w.ordering_acc(), w.smith_role()]
    asyncio.run(w.verify(chain, w.ordering, verify_credential=cache, parsed_claims=memo))
    # Rule 6: another holder.
    with pytest.raises(VerificationError) as refused:
        asyncio.run(w.verify(chain, w.payment, verify_credential=cache, parsed_claims=memo))
    assert refused.value.reason == "agent_credential"
    # Rule 4: the delegation (8 hours) has expired.
    w.clock.advance(timedelta(hours=9))
    with pytest.raises(VerificationError) as refused:
        asyncio.run(w.verify(chain, w.ordering, verify_credential=cache, parsed_claims=memo))
    assert refused.value.reason == "chain_validity"
    w.clock.advance(timedelta(hours=-9))
    # Rule 5: revoked.
    w.revoked.set(w.index_of(chain[0]), True)
    with pytest.raises(VerificationError) as refused:
        asyncio.run(w.verify(chain, w.ordering, verify_credential=cache, parsed_claims=memo))
    assert refused.value.reason == "revoked"


def test_entries_are_bounded(w: UrbanBites) -> None:
    memo, cache = ParsedClaims(max_entries=2), VerifiedCredentialCache()
    asyncio.run(
        w.verify(
            [w.smith_to_ordering(), w.ordering_acc(), w.smith_role()],
            w.ordering,
            verify_credential=cache,
            parsed_claims=memo,
        )
    )
    assert len(memo._entries) == 2
