"""Effective scope: what a token for one resource may carry (DESIGN §5, last paragraph).

``intersection`` (default)
    agent capabilities ∩ user authority (only when the resource requires a
    RoleCredential) ∩ every delegation link ∩ requested.
``union`` (explicit opt-in)
    (agent capabilities ∪ user authority) ∩ every delegation link ∩ requested.
    Still bounded by every link: the user can never give more than they signed.
``subset``
    the intersection, further limited to the resource's ``allowed_scopes``.

A request is all-or-nothing: every requested scope must be granted, or the
exchange fails with ``invalid_scope`` naming the refused scopes (RFC 6749 §5.2,
SECURITY SEC-20; the token never silently carries less than asked). An empty
request means "everything allowed": the resource's ``scopes`` vocabulary when
configured, else the concrete (non-wildcard) scopes granted. An empty result is
``invalid_scope``, never an empty token.

Autonomous agents (no delegation links) get their own capabilities,
∩ ``allowed_scopes`` in ``subset`` mode; no user authority applies.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from did_agents.delegation.capabilities import (
    Capability,
    effective_scopes,
    is_wildcard,
    scope_covers,
    scopes_on,
)
from did_agents.errors import InvalidScopeError, InvalidTargetError, VerificationError
from did_agents.policy.policy_file import Policy

__all__ = ["compute_effective_scope"]

_MAX_LISTED = 8


def _listed(scopes: Iterable[str]) -> str:
    names = sorted(scopes)
    shown = " ".join(names[:_MAX_LISTED])
    return shown + (f" (+{len(names) - _MAX_LISTED} more)" if len(names) > _MAX_LISTED else "")


def _minimal(scopes: Iterable[str]) -> frozenset[str]:
    pool = set(scopes)
    return frozenset(s for s in pool if not any(t != s and scope_covers(t, s) for t in pool))


def compute_effective_scope(
    policy: Policy,
    resource: str,
    agent_caps: Sequence[Capability],
    user_authority: Sequence[Capability] | None,
    delegation_links: Sequence[Sequence[Capability]],
    requested: Iterable[str],
) -> frozenset[str]:
    """The concrete scopes a token for ``resource`` carries.

    ``resource`` is the requested URL or an audience alias. ``agent_caps`` and
    ``user_authority`` must already be limited to what their issuers may vouch
    for (``Policy.vouch``; ``verify_chain`` does this). ``user_authority`` is
    ``None`` when the presentation held no RoleCredential. ``delegation_links``
    are the capability sets of the chain's links, root first; empty for an
    autonomous agent. ``requested`` are concrete scopes (``parse_scope_parameter``).

    Raises ``InvalidTargetError`` (``resource_not_configured``,
    ``resource_not_delegated``, ``resource_not_granted``), ``InvalidScopeError``
    (``wildcard_scope``, ``unknown_scope``, ``scope_not_granted``,
    ``empty_scope``) or ``VerificationError`` (``role_credential_required``).
    """
    entry = policy.resource_policy(resource)
    url = entry.url
    wanted = frozenset(requested)
    wildcards = [s for s in wanted if is_wildcard(s)]
    if wildcards:
        raise InvalidScopeError(
            f"wildcard scopes cannot be requested: {_listed(wildcards)}", reason="wildcard_scope"
        )
    if entry.scopes is not None:
        unknown = wanted - set(entry.scopes)
        if unknown:
            raise InvalidScopeError(f"{url} has no scopes {_listed(unknown)}", reason="unknown_scope")

    autonomous = not delegation_links
    # RFC 8707 §2: the resource must be granted by every link, or the target is refused.
    for depth, link in enumerate(delegation_links):
        if not scopes_on(url, link):
            raise InvalidTargetError(
                f"delegation link {depth} grants nothing on {url}", reason="resource_not_delegated"
            )
    use_user = entry.require_role_credential and not autonomous
    if use_user and user_authority is None:
        raise VerificationError(
            f"{url} requires a RoleCredential for the user from a trusted issuer",
            reason="role_credential_required",
        )
    agent = scopes_on(url, agent_caps)
    user = scopes_on(url, user_authority) if use_user and user_authority is not None else frozenset()

    if entry.mode == "union" and use_user:
        base = _minimal(agent | user)
        if not base:
            raise InvalidTargetError(
                f"neither agent nor user holds anything on {url}", reason="resource_not_granted"
            )
        bounds: list[frozenset[str]] = [base]
    else:
        if not agent:
            raise InvalidTargetError(f"the agent holds no capability on {url}", reason="resource_not_granted")
        bounds = [agent, user] if use_user else [agent]
    bounds.extend(scopes_on(url, link) for link in delegation_links)
    if entry.mode == "subset" and entry.allowed_scopes is not None:
        bounds.append(frozenset(entry.allowed_scopes))
    granted = effective_scopes(url, *bounds)

    def allowed(scope: str) -> bool:
        return any(scope_covers(g, scope) for g in granted)

    if wanted:
        refused = {s for s in wanted if not allowed(s)}
        if refused:
            raise InvalidScopeError(
                f"scope not granted for {url}: {_listed(refused)}", reason="scope_not_granted"
            )
        result = wanted
    elif entry.scopes is not None:
        result = frozenset(s for s in entry.scopes if allowed(s))
    else:
        result = frozenset(s for s in granted if not is_wildcard(s))
    if not result:
        raise InvalidScopeError(f"no scope is allowed for {url}", reason="empty_scope")
    return result
