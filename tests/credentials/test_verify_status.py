"""Status checks in verify_credential (W3C Bitstring Status List §3.2), failing closed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from did_agents.clock import FixedClock
from did_agents.credentials.verify import issue_credential, verify_credential
from did_agents.did.resolver import DIDResolver
from did_agents.errors import FetchError
from did_agents.status.bitstring import StatusList, build_status_list_credential, make_status_entry
from tests.credentials.conftest import NOW, Party, delegation, make_party

pytestmark = pytest.mark.anyio

REVOCATION_LIST = "https://issuer.example/status/1"
SUSPENSION_LIST = "https://issuer.example/status/2"
INDEX = 94567


def _list(
    owner: Party, url: str, purpose: str, set_index: int | None = None, suite: str = "eddsa-jcs-2022"
) -> Any:
    bits = StatusList()
    if set_index is not None:
        bits.set(set_index)
    unsigned = build_status_list_credential(url, owner.did, purpose, bits, NOW - timedelta(days=1))  # type: ignore[arg-type]
    return issue_credential(unsigned, key=owner.key, verification_method=owner.vm, suite=suite)  # type: ignore[arg-type]


def _credential(issuer: Party, agent: Party) -> Any:
    statuses = [
        make_status_entry(REVOCATION_LIST, INDEX, "revocation"),
        make_status_entry(SUSPENSION_LIST, INDEX, "suspension"),
    ]
    return issue_credential(
        delegation(issuer, agent, credential_status=statuses),
        key=issuer.key,
        verification_method=issuer.vm,
        suite="eddsa-jcs-2022",
    )


class Lists:
    """A status resolver over an in-memory URL → list table; counts fetches."""

    def __init__(self, table: dict[str, Any]) -> None:
        self.table = table
        self.fetches: list[str] = []

    async def __call__(self, url: str) -> Any:
        self.fetches.append(url)
        if url not in self.table:
            raise FetchError(f"{url} answered 503", reason="fetch_failed")
        return self.table[url]


async def _verify(credential: Any, lists: Lists, resolver: DIDResolver, clock: FixedClock) -> Any:
    return await verify_credential(credential, resolver=resolver, clock=clock, status_resolver=lists)


async def test_clear_status_bits_verify(
    user: Party, agent: Party, resolver: DIDResolver, clock: FixedClock
) -> None:
    lists = Lists(
        {
            REVOCATION_LIST: _list(user, REVOCATION_LIST, "revocation"),
            SUSPENSION_LIST: _list(user, SUSPENSION_LIST, "suspension", suite="jose"),
        }
    )
    result = await _verify(_credential(user, agent), lists, resolver, clock)
    assert result.verified, result.problems
    assert sorted(lists.fetches) == [REVOCATION_LIST, SUSPENSION_LIST]


async def test_revoked_credential(
    user: Party, agent: Party, resolver: DIDResolver, clock: FixedClock
) -> None:
    lists = Lists(
        {
            REVOCATION_LIST: _list(user, REVOCATION_LIST, "revocation", INDEX),
            SUSPENSION_LIST: _list(user, SUSPENSION_LIST, "suspension"),
        }
    )
    result = await _verify(_credential(user, agent), lists, resolver, clock)
    assert result.codes == ("revoked",)


async def test_suspended_credential(
    user: Party, agent: Party, resolver: DIDResolver, clock: FixedClock
) -> None:
    lists = Lists(
        {
            REVOCATION_LIST: _list(user, REVOCATION_LIST, "revocation"),
            SUSPENSION_LIST: _list(user, SUSPENSION_LIST, "suspension", INDEX),
        }
    )
    result = await _verify(_credential(user, agent), lists, resolver, clock)
    assert result.codes == ("suspended",)


async def test_unreachable_status_list_fails_closed(
    user: Party, agent: Party, resolver: DIDResolver, clock: FixedClock
) -> None:
    # SECURITY SEC-46: an outage is never acceptance.
    lists = Lists({REVOCATION_LIST: _list(user, REVOCATION_LIST, "revocation")})
    result = await _verify(_credential(user, agent), lists, resolver, clock)
    assert result.codes == ("status_unavailable",)


async def test_status_resolver_crashing_fails_closed(
    user: Party, agent: Party, resolver: DIDResolver, clock: FixedClock
) -> None:
    async def broken(url: str) -> Any:
        raise RuntimeError("boom")

    result = await verify_credential(
        _credential(user, agent), resolver=resolver, clock=clock, status_resolver=broken
    )
    assert result.codes == ("status_unavailable", "status_unavailable")


async def test_status_list_signed_by_someone_else_is_refused(
    user: Party, agent: Party, resolver: DIDResolver, clock: FixedClock
) -> None:
    # SECURITY SEC-45: a status list VC signed by MALLORY instead of the credential's issuer.
    mallory = make_party()
    lists = Lists(
        {
            REVOCATION_LIST: _list(mallory, REVOCATION_LIST, "revocation"),
            SUSPENSION_LIST: _list(user, SUSPENSION_LIST, "suspension"),
        }
    )
    result = await _verify(_credential(user, agent), lists, resolver, clock)
    assert result.codes == ("status_list_issuer_mismatch",)


async def test_tampered_status_list_is_status_unavailable(
    user: Party, agent: Party, resolver: DIDResolver, clock: FixedClock
) -> None:
    tampered = _list(user, REVOCATION_LIST, "revocation", INDEX)
    tampered["credentialSubject"]["encodedList"] = _list(user, REVOCATION_LIST, "revocation")[
        "credentialSubject"
    ]["encodedList"]
    lists = Lists({REVOCATION_LIST: tampered, SUSPENSION_LIST: _list(user, SUSPENSION_LIST, "suspension")})
    result = await _verify(_credential(user, agent), lists, resolver, clock)
    assert result.codes == ("status_unavailable",)
    assert "bad_signature" not in result.codes and "does not verify" in result.problems[0].message


async def test_purpose_mismatch_between_entry_and_list(
    user: Party, agent: Party, resolver: DIDResolver, clock: FixedClock
) -> None:
    lists = Lists(
        {
            REVOCATION_LIST: _list(user, REVOCATION_LIST, "suspension"),
            SUSPENSION_LIST: _list(user, SUSPENSION_LIST, "suspension"),
        }
    )
    result = await _verify(_credential(user, agent), lists, resolver, clock)
    assert result.codes == ("status_purpose_mismatch",)


async def test_unknown_status_type_fails_closed(
    user: Party, agent: Party, resolver: DIDResolver, clock: FixedClock
) -> None:
    credential = issue_credential(
        delegation(
            user,
            agent,
            credential_status={"id": "https://issuer.example/s#1", "type": "CredentialStatusList2017"},
        ),
        key=user.key,
        verification_method=user.vm,
        suite="eddsa-jcs-2022",
    )
    result = await verify_credential(
        credential, resolver=resolver, clock=clock, status_resolver=Lists({}), check_terms=False
    )
    assert result.codes == ("unsupported_status",)


async def test_without_status_resolver_status_is_not_checked(
    user: Party, agent: Party, resolver: DIDResolver, clock: FixedClock
) -> None:
    result = await verify_credential(_credential(user, agent), resolver=resolver, clock=clock)
    assert result.verified


async def test_each_status_list_is_fetched_once_per_presentation(
    user: Party, agent: Party, resolver: DIDResolver, clock: FixedClock
) -> None:
    from did_agents.credentials.verify import build_presentation, sign_presentation, verify_presentation

    lists = Lists(
        {
            REVOCATION_LIST: _list(user, REVOCATION_LIST, "revocation"),
            SUSPENSION_LIST: _list(user, SUSPENSION_LIST, "suspension"),
        }
    )
    vp = sign_presentation(
        build_presentation(agent.did, [_credential(user, agent), _credential(user, agent)]),
        key=agent.key,
        verification_method=agent.vm,
        challenge="c",
        domain="https://v.example",
    )
    result = await verify_presentation(
        vp, resolver=resolver, clock=clock, challenge="c", domain="https://v.example", status_resolver=lists
    )
    assert result.verified, [c.problems for c in result.credentials]
    assert sorted(lists.fetches) == [REVOCATION_LIST, SUSPENSION_LIST]
