"""SEC-37 (capability escalation by a delegate), SEC-38 (prefix / wildcard
confusion) and SEC-42 (depth and width bombs), through the STS pipeline.

The sub-delegation D_AB (ordering agent → payment agent) is signed by its real
issuer; only its content attacks. Expected: 400 ``invalid_request``; an invalid
link voids the chain even when the request asks only for what the parent gave.
Tool-argument constraints (``path: "/*"``) do not exist in the did-agents
capability model (resource + scopes only), so that SEC-37 input does not apply.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest

from tests.delegation.urban_bites import MCP, T0, caps
from tests.security.world import Attack, di_sign, run, unsigned_d_ua

JCS = "eddsa-jcs-2022"


def sub_chain(
    w: Attack, scopes: list[str], *, resource: str = MCP, parent_scopes: tuple[str, ...] = ()
) -> list[Any]:
    d_ua = (
        w.delegation(w.smith, w.ordering, list(parent_scopes), max_depth=1)
        if parent_scopes
        else w.smith_to_ordering()
    )
    d_ab = w.delegation(
        w.ordering,
        w.payment,
        scopes,
        parent=w.parent(d_ua),
        valid_until=T0 + timedelta(hours=4),
        resource=resource,
    )
    return [d_ua, d_ab, w.ordering_acc(), w.payment_acc(), w.smith_role()]


@pytest.mark.parametrize(
    ("scopes", "resource"),
    [
        (["orders:read", "orders:delete"], MCP),  # parent grants read/create only
        (["orders:*"], MCP),
        (["orders:read"], "https://mcp.urbanbites.example/"),  # wider resource (prefix of MCP)
        (["orders:read"], "https://mcp.payments.example/mcp"),  # MCP_B
    ],
    ids=["extra scope", "wildcard scope", "wider resource", "other resource"],
)
def test_sec37_escalating_sub_delegation_voids_the_chain(scopes: list[str], resource: str) -> None:
    w = Attack(JCS)
    refusal = w.refusal(sub_chain(w, scopes, resource=resource), w.payment)
    assert refusal.codes == ("chain_escalation",), refusal.codes


@pytest.mark.parametrize(
    ("parent", "child"),
    [
        ("orders:read", "orders:readwrite"),
        ("orders:read", "orders:rеad"),  # Cyrillic е (U+0435)
        ("orders:read", "orders:read/"),
        ("orders:read", "ORDERS:READ"),
        ("orders:read", "orders:read:*"),
    ],
    ids=["longer name", "cyrillic look-alike", "trailing slash", "case", "wildcard below"],
)
def test_sec38_look_alike_scopes_are_not_covered(parent: str, child: str) -> None:
    w = Attack(JCS)
    d_ua = w.delegation(w.smith, w.ordering, [parent], max_depth=1)
    # Hand-crafted D_AB (the builder would refuse some of these scopes), signed by its real issuer.
    unsigned = unsigned_d_ua(
        w,
        issuer=w.ordering.did,
        agent=w.payment.did,
        capabilities=caps("orders:placeholder"),
        parent=w.parent(d_ua),
        max_depth=0,
        valid_until=T0 + timedelta(hours=4),
    )
    unsigned["credentialSubject"]["capabilities"][0]["scopes"] = [child]
    d_ab = di_sign(w, unsigned, w.ordering)
    refusal = w.refusal([d_ua, d_ab, w.ordering_acc(), w.payment_acc(), w.smith_role()], w.payment)
    # Either not covered by the parent (rule 3) or not even a scope of the grammar.
    assert refusal.codes in {("chain_escalation",), ("malformed_credential",)}, refusal.codes


def test_sec38_resource_prefix_is_segment_aware() -> None:
    w = Attack(JCS)
    d_ua = w.delegation(
        w.smith, w.ordering, ["orders:read"], max_depth=1, resource="https://mcp.urbanbites.example/mcp"
    )
    d_ab = w.delegation(
        w.ordering,
        w.payment,
        ["orders:read"],
        parent=w.parent(d_ua),
        valid_until=T0 + timedelta(hours=4),
        resource="https://mcp.urbanbites.example/mcpx",
    )
    refusal = w.refusal([d_ua, d_ab, w.ordering_acc(), w.payment_acc(), w.smith_role()], w.payment)
    assert refusal.codes == ("chain_escalation",), refusal.codes


def test_sec42_ten_thousand_link_chain_refused_before_signature_work() -> None:
    w = Attack(JCS)
    vp = w.present([w.smith_to_ordering()] * 10_000, w.ordering)
    start = time.perf_counter()
    refusal = run(w.pipeline(vp))
    elapsed = time.perf_counter() - start
    assert refusal.layer == "presentation" and refusal.codes == ("too_large",), refusal
    assert elapsed < 0.2, elapsed


def test_sec42_chain_verification_of_an_oversized_list_is_fast() -> None:
    from did_agents.delegation.chain import verify_chain
    from did_agents.errors import VerificationError

    w = Attack(JCS)
    link = w.entry(w.smith_to_ordering())
    for count in (9, 5_000):
        start = time.perf_counter()
        with pytest.raises(VerificationError) as info:
            run(
                verify_chain(
                    [link] * count,
                    holder=w.ordering.did,
                    trust=w.policy(),
                    resolver=w.resolver,
                    clock=w.clock,
                    status_resolver=w.fetch,
                )
            )
        assert info.value.reason == "too_large"
        assert time.perf_counter() - start < 0.2
