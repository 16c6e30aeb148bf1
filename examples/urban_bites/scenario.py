"""The Urban Bites story, played over real HTTP against the demo services (``did-agents demo``).

1. The organization onboards an ordering agent, an HR agent (no ``orders:delete``),
   a payment agent and an autonomous inventory agent (proof of possession), and
   registers smith as staff (RoleCredential: ``orders:*``).
2. smith delegates to the ordering agent and to the HR agent.
3. The ordering agent creates and lists orders for smith; the HR agent's
   ``delete_order`` is refused although smith may delete.
4. The ordering agent sub-delegates ``orders:read`` to the payment agent, which
   lists smith's orders (its token carries a nested ``act``).
5. The inventory agent acts for itself (``sub`` = the agent, no ``act``).
6. smith revokes the ordering agent's delegation; its next exchange is refused
   (and so is the payment agent's, whose chain hangs from it).
7. The audit trail: who, via which agents, did what, allowed or denied and why.

Each step checks what it must show and records a :class:`Step`; :func:`play`
returns them all. Nothing is faked: agents, users and servers talk HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from did_agents import multibase
from did_agents.agent import AgentIdentity, credential_document, mcp_session
from did_agents.audit import AuditLog, AuditQuery, AuditRecord
from did_agents.errors import DIDAgentsError, InsufficientScopeError, InvalidScopeError
from examples.urban_bites.services import Services

__all__ = ["Step", "StepFailed", "Story", "play"]

OWNER = "mailto:platform@urbanbites.example"


class StepFailed(AssertionError):
    """A step did not behave as the story says."""


@dataclass
class Step:
    number: int
    title: str
    ok: bool = False
    lines: list[str] = field(default_factory=list)


@dataclass
class Story:
    """The cast and what the story observed (tests assert on it)."""

    services: Services
    agents: dict[str, AgentIdentity] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    orders: dict[str, Any] = field(default_factory=dict)
    refusals: dict[str, str] = field(default_factory=dict)
    audit: list[AuditRecord] = field(default_factory=list)
    chain_ok: bool = False

    def name_of(self, did: str | None) -> str:
        if did is None:
            return "-"
        if did == self.services.smith.did:
            return "smith"
        for name, agent in self.agents.items():
            if agent.did == did:
                return f"{name} agent"
        return did[:16] + "…" + did[-6:] if len(did) > 24 else did


def _status_entries(document: dict[str, Any]) -> list[dict[str, Any]]:
    status = document.get("credentialStatus")
    entries = status if isinstance(status, list) else [status] if isinstance(status, dict) else []
    return [e for e in entries if isinstance(e, dict) and isinstance(e.get("statusListCredential"), str)]


def _claims(token: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(multibase.b64url_decode(token.split(".")[1]))
    return payload


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise StepFailed(message)


async def play(services: Services, on_step: Callable[[Step], None] | None = None) -> Story:
    """Play the seven steps; each one is reported to ``on_step`` as it ends (ok or not)."""
    story = Story(services)
    steps: list[tuple[str, Callable[[Story, Step], Any]]] = [
        ("the organization onboards four agents", _onboard),
        ("smith delegates to the ordering and HR agents", _delegate),
        ("the ordering agent orders; the HR agent may not delete", _order),
        ("the ordering agent sub-delegates to the payment agent", _subdelegate),
        ("the inventory agent acts for itself", _autonomous),
        ("smith revokes the ordering agent's delegation", _revoke),
        ("the audit trail", _audit),
    ]
    async with httpx.AsyncClient(timeout=30.0) as http:
        story.tokens["_http"] = {"client": http}
        for number, (title, run) in enumerate(steps, start=1):
            step = Step(number, title)
            story.steps.append(step)
            try:
                await run(story, step)
                step.ok = True
            except (StepFailed, DIDAgentsError, httpx.HTTPError) as exc:
                step.lines.append(f"FAILED: {exc}")
            if on_step is not None:
                on_step(step)
            if not step.ok:
                break
    story.tokens.pop("_http", None)
    for agent in story.agents.values():
        await agent.aclose()
    return story


def _http(story: Story) -> httpx.AsyncClient:
    client: httpx.AsyncClient = story.tokens["_http"]["client"]
    return client


# -- the steps ----------------------------------------------------------------------------------


async def _onboard(story: Story, step: Step) -> None:
    s = story.services
    mcp = s.resource
    cast = {
        "ordering": ("delegated", ["orders:read", "orders:create", "menu:read"], ["staff"]),
        "hr": ("delegated", ["orders:read", "menu:read"], [s.smith.did]),
        "payment": ("delegated", ["orders:read"], ["*"]),
        "inventory": ("autonomous", ["menu:read", "orders:read"], []),
    }
    for name, (kind, scopes, delegators) in cast.items():
        agent = AgentIdentity.generate()
        record = await agent.onboard(
            s.issuer_url,
            s.admin_token,
            name=f"{name} agent",
            owner=OWNER,
            kind=kind,
            capabilities=[{"resource": mcp, "scopes": scopes}],
            delegators=delegators,
        )
        _check(
            record["did"] == agent.did and agent.capability_credential is not None, f"{name} not onboarded"
        )
        story.agents[name] = agent
        step.lines.append(f"{name} agent {agent.did[:20]}… ({kind}): {' '.join(scopes)}")
    answer = await _http(story).post(
        s.issuer_url + "/users",
        json={"did": s.smith.did, "roles": ["staff"], "name": "smith"},
        headers={"Authorization": f"Bearer {s.admin_token}"},
    )
    _check(answer.status_code == 201, f"registering smith: {answer.status_code} {answer.text[:200]}")
    story.orders["smith_role"] = answer.json()["credential"]
    step.lines.append("smith registered as staff (RoleCredential: orders:*, menu:read)")
    # Publish the issuer's status lists before the first exchange. Workaround: a list signed
    # for the first time *during* an exchange has validFrom after the verifier's "now" and is
    # refused as not yet valid (issuer publish_status_list uses validFrom = now, no skew).
    credentials = [agent.capability_credential for agent in story.agents.values()] + [
        story.orders["smith_role"]
    ]
    urls = {
        entry["statusListCredential"]
        for credential in credentials
        if credential is not None
        for entry in _status_entries(credential_document(credential))
    }
    for url in sorted(urls):
        published = await _http(story).get(url)
        _check(published.status_code == 200, f"status list {url}: {published.status_code}")


async def _delegate(story: Story, step: Step) -> None:
    s = story.services
    role = story.orders["smith_role"]
    to_ordering = s.smith.delegate(
        story.agents["ordering"].did,
        [{"resource": s.resource, "scopes": ["orders:read", "orders:create"]}],
        max_depth=1,
        extra=[role],
    )
    story.agents["ordering"].accept(to_ordering)
    story.orders["smith_to_ordering"] = to_ordering[-1]
    to_hr = s.smith.delegate(
        story.agents["hr"].did,
        [{"resource": s.resource, "scopes": ["orders:read", "orders:delete"]}],
        extra=[role],
    )
    story.agents["hr"].accept(to_hr)
    step.lines.append("smith → ordering agent: orders:read orders:create (may redelegate once)")
    step.lines.append("smith → HR agent: orders:read orders:delete")


async def _order(story: Story, step: Step) -> None:
    s = story.services
    ordering = story.agents["ordering"]
    async with mcp_session(
        ordering,
        s.mcp_url,
        verifier_url=s.verifier_url,
        resource=s.resource,
        scope="orders:read orders:create",
    ) as mcp:
        for item in ("bibimbap", "margherita"):
            created = await mcp.call_tool("create_order", {"item": item})
            _check(not created.is_error, f"create_order failed: {created.content}")
        listed = await mcp.call_tool("list_orders")
    orders = (listed.structured_content or {}).get("result", [])
    _check(len(orders) == 2 and all(o["user"] == s.smith.did for o in orders), f"unexpected orders {orders}")
    story.orders["smith"] = orders
    step.lines.append(f"ordering agent: created 2 orders for smith, listed {len(orders)}")

    hr = story.agents["hr"]
    delete_calls = s.kitchen.calls["delete_order"]
    try:
        await hr.access_token(s.verifier_url, s.resource, "orders:read orders:delete")
        raise StepFailed("the verifier granted orders:delete to the HR agent")
    except InvalidScopeError as exc:
        story.refusals["hr_exchange"] = exc.description
        step.lines.append(
            f"HR agent asks for orders:delete: exchange refused (invalid_scope: {exc.description})"
        )
    try:
        async with mcp_session(
            hr, s.mcp_url, verifier_url=s.verifier_url, resource=s.resource, scope="orders:read"
        ) as mcp:
            grant = await hr.access_token(s.verifier_url, s.resource, "orders:read")
            story.tokens["hr"] = _claims(grant.access_token)
            await mcp.call_tool("delete_order", {"order_id": orders[0]["id"]})
        raise StepFailed("the HR agent's delete_order was not refused")
    except InsufficientScopeError as exc:
        story.refusals["hr"] = f"insufficient_scope {' '.join(exc.required)}"
        step.lines.append(
            f"HR agent calls delete_order with its orders:read token: 403 insufficient_scope ({' '.join(exc.required)})"
        )
    _check(s.kitchen.calls["delete_order"] == delete_calls, "delete_order ran")
    step.lines.append("  smith holds orders:*, but the HR agent's capability credential has no orders:delete")


async def _subdelegate(story: Story, step: Step) -> None:
    s = story.services
    ordering, payment = story.agents["ordering"], story.agents["payment"]
    payment.accept(ordering.delegate(payment.did, ["orders:read"], resource=s.resource))
    async with mcp_session(
        payment, s.mcp_url, verifier_url=s.verifier_url, resource=s.resource, scope="orders:read"
    ) as mcp:
        listed = await mcp.call_tool("list_orders")
    grant = await payment.access_token(s.verifier_url, s.resource, "orders:read")
    claims = _claims(grant.access_token)
    story.tokens["payment"] = claims
    orders = (listed.structured_content or {}).get("result", [])
    _check(len(orders) == 2, f"payment agent saw {len(orders)} orders")
    expected_act = {"sub": payment.did, "act": {"sub": ordering.did}}
    _check(claims.get("sub") == s.smith.did and claims.get("act") == expected_act, f"payment token {claims}")
    step.lines.append("ordering agent → payment agent: orders:read")
    step.lines.append(f"payment agent listed {len(orders)} orders; token sub=smith act=payment ← ordering")


async def _autonomous(story: Story, step: Step) -> None:
    s = story.services
    inventory = story.agents["inventory"]
    async with mcp_session(
        inventory,
        s.mcp_url,
        verifier_url=s.verifier_url,
        resource=s.resource,
        scope="menu:read",
        autonomous=True,
    ) as mcp:
        menu = await mcp.call_tool("list_menu")
    grant = await inventory.access_token(s.verifier_url, s.resource, "menu:read", autonomous=True)
    claims = _claims(grant.access_token)
    story.tokens["inventory"] = claims
    dishes = (menu.structured_content or {}).get("result", [])
    _check(bool(dishes), "empty menu")
    _check(claims.get("sub") == inventory.did and "act" not in claims, f"inventory token {claims}")
    step.lines.append(
        f"inventory agent read the menu ({len(dishes)} dishes); token sub=inventory agent, no act"
    )


async def _revoke(story: Story, step: Step) -> None:
    s = story.services
    s.smith.revoke(story.orders["smith_to_ordering"])
    step.lines.append("smith set the revocation bit of his delegation to the ordering agent")
    for name, scope in (("ordering", "orders:read orders:create"), ("payment", "orders:read")):
        agent = story.agents[name]
        cached = await agent.access_token(s.verifier_url, s.resource, scope)
        try:
            await agent.access_token(s.verifier_url, s.resource, scope, refused=cached.access_token)
        except DIDAgentsError as exc:
            story.refusals[name] = exc.description
            step.lines.append(f"{name} agent: next exchange refused ({exc.description[:90]})")
            continue
        raise StepFailed(f"the {name} agent's exchange after revocation was granted")


async def _audit(story: Story, step: Step) -> None:
    s = story.services
    with s.database.read() as conn:
        log = AuditLog(conn, s.smith.clock)
        records = log.query(AuditQuery(limit=1000))
        story.chain_ok = log.verify_chain().ok
    story.audit = [r for r in records if r.event.type.startswith(("token_exchange.", "mcp.tool_call"))]
    _check(story.chain_ok, "the audit hash chain does not verify")
    decisions = {(r.event.type, r.event.action, r.event.decision) for r in story.audit}
    _check(("mcp.tool_call", "delete_order", "denied") in decisions, "no denied delete_order in the audit")
    _check(
        any(t.startswith("token_exchange.") and d == "denied" for t, _, d in decisions), "no denied exchange"
    )
    step.lines.append(f"{len(story.audit)} events; hash chain verified")
