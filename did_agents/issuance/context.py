"""The :class:`Issuer`: what every issuance function works with, and how each
request becomes exactly one audit event.

:meth:`Issuer.audited` runs a unit of work in one write transaction together
with its ``allowed`` audit event (SECURITY FLT-03: if the audit write fails,
nothing is issued). When the work is refused (any ``DIDAgentsError``) the
transaction rolls back and a single ``denied`` event with the error's
``reason`` is written on its own (SECURITY NEG-INV 2/3: nothing is written
except the audit event). Both go through :class:`~did_agents.issuance.group_commit.GroupCommit`:
on SQLite, units of work waiting at the same time share one commit, each in its
own savepoint, and every caller is answered only after that commit.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection

from did_agents.audit.event import AuditEvent
from did_agents.clock import Clock
from did_agents.errors import DIDAgentsError
from did_agents.issuance.audit import append_event
from did_agents.issuance.group_commit import GroupCommit
from did_agents.issuance.organization import OrganizationIdentity
from did_agents.keystore import KeyStore
from did_agents.storage.database import Database

__all__ = ["Actor", "Issuer", "IssuerConfig", "is_audited", "mark_audited"]

T = TypeVar("T")
AUDITED_ATTRIBUTE = "_did_agents_audited"
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Actor:
    """Who asked: an operator (``operator:<name>``) or an anonymous caller."""

    id: str
    role: str | None = None


@dataclass(frozen=True)
class IssuerConfig:
    credential_validity: timedelta = timedelta(days=365)
    default_format: str = "eddsa-rdfc-2022"
    challenge_ttl: timedelta = timedelta(minutes=5)
    status_list_size: int = 131_072
    role_capabilities: Mapping[str, Sequence[Mapping[str, Any]]] = field(default_factory=dict)


class Issuer:
    """The issuer's state: database, key store, organization identity, clock, config.

    ``organization`` is replaced (not mutated) on key rotation.
    """

    def __init__(
        self,
        database: Database,
        keystore: KeyStore,
        organization: OrganizationIdentity,
        *,
        clock: Clock,
        config: IssuerConfig | None = None,
    ) -> None:
        self.database = database
        self.keystore = keystore
        self.organization = organization
        self.clock = clock
        self.config = config or IssuerConfig()
        self.lock = threading.Lock()
        #: Write transactions of concurrent requests, committed together (see module doc).
        self.commits = GroupCommit(database)
        #: purpose → id of the status list new credentials are allocated in (a hint; the DB decides).
        self.current_lists: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"Issuer({self.organization.did!r})"

    @property
    def base_url(self) -> str:
        return self.organization.base_url

    def audited(
        self,
        *,
        type: str,
        actor: Actor,
        work: Callable[[Connection], T],
        describe: Callable[[T], Mapping[str, Any]] | None = None,
        subject: str | None = None,
        action: str | None = None,
        resource: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> T:
        """Run ``work`` and its ``<type>`` audit event in one transaction (see module doc)."""
        base_details = {"operator": actor.id, **(details or {})}

        def unit(conn: Connection) -> T:
            result = work(conn)
            extra = describe(result) if describe is not None else {}
            event = AuditEvent(
                type=type,
                decision="allowed",
                subject=extra.get("subject", subject),
                action=action,
                resource=extra.get("resource", resource),
                details={
                    **base_details,
                    **{k: v for k, v in extra.items() if k not in ("subject", "resource")},
                },
            )
            append_event(conn, event, self.clock.now())
            return result

        try:
            return self.commits.run(unit)
        except DIDAgentsError as exc:
            self.record_refusal(
                type=type,
                actor=actor,
                error=exc,
                subject=subject,
                action=action,
                resource=resource,
                details=details,
            )
            mark_audited(exc)
            raise

    def record_refusal(
        self,
        *,
        type: str,
        actor: Actor,
        error: DIDAgentsError,
        subject: str | None = None,
        action: str | None = None,
        resource: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """Write one ``denied`` event for a refused request (best effort if the database is down)."""
        event = AuditEvent(
            type=type,
            decision="denied",
            reason=_slug(error.reason),
            subject=subject if subject is None or len(subject) <= 2048 else None,
            action=action,
            resource=resource,
            details={"operator": actor.id, "status": error.status_code, **(details or {})},
        )
        try:
            self.commits.run(lambda conn: append_event(conn, event, self.clock.now()))
        except DIDAgentsError:
            _log.exception("could not record the audit event of a refused %s request", type)


def mark_audited(error: DIDAgentsError) -> None:
    """Say that ``error``'s refusal event is written (the service must not write another)."""
    setattr(error, AUDITED_ATTRIBUTE, True)


def is_audited(error: DIDAgentsError) -> bool:
    return bool(getattr(error, AUDITED_ATTRIBUTE, False))


def _slug(reason: str) -> str:
    cleaned = "".join(ch if ch.isalnum() or ch in "_.:-" else "_" for ch in reason.lower())[:64]
    return cleaned or "refused"
