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
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection

from did_agents.audit.event import AuditEvent
from did_agents.clock import Clock
from did_agents.errors import DIDAgentsError
from did_agents.issuance.audit import append_event
from did_agents.issuance.group_commit import GroupCommit
from did_agents.issuance.organization import OrganizationIdentity
from did_agents.issuance.securing import rdfc_suite
from did_agents.keystore import KeyStore
from did_agents.status.watermark import StatusWatermark, database_states
from did_agents.storage.database import Database

__all__ = ["Actor", "Audited", "Issuer", "IssuerConfig", "is_audited", "mark_audited"]

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
    #: The securing format when a request names none; ``None``: the organization key's own
    #: RDFC suite (eddsa-rdfc-2022 for Ed25519, ecdsa-rdfc-2019 for P-256; :attr:`Issuer.default_format`).
    default_format: str | None = None
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
        status_watermark: StatusWatermark | None = None,
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
        #: SECURITY FLT-14: the lists' newest committed state outside the database (None: not kept).
        self.status_watermark = status_watermark

    @property
    def default_format(self) -> str:
        """The securing format of a request that names none (follows the current signing key)."""
        if self.config.default_format is not None:
            return self.config.default_format
        return rdfc_suite(self.organization.signing_key.key_type)

    def sync_status_watermark(self) -> None:
        """Bring the status watermark up to the lists as committed (after a bit changed)."""
        if self.status_watermark is None:
            return
        with self.database.read() as conn:
            states = database_states(conn)
        self.status_watermark.record(states)

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
        return self.run_audited(
            Audited(type, work, describe, subject=subject, action=action, resource=resource, details=details),
            actor,
        )

    def run_audited(self, audited: Audited[T], actor: Actor) -> T:
        """:meth:`audited`, for a request described by an :class:`Audited`."""
        try:
            return self.commits.run(audited.unit(actor, self.clock))
        except DIDAgentsError as exc:
            self._record(audited.refusal(actor, exc))
            mark_audited(exc)
            raise

    async def run_audited_async(self, audited: Audited[T], actor: Actor) -> T:
        """:meth:`run_audited` from async code: the event loop goes on while the unit waits for
        the writer and runs (:meth:`GroupCommit.run_async`)."""
        try:
            return await self.commits.run_async(audited.unit(actor, self.clock))
        except DIDAgentsError as exc:
            await self._record_async(audited.refusal(actor, exc))
            mark_audited(exc)
            raise

    async def record_refusal_async(
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
        """Write one ``denied`` event for a refused request (best effort if the database is down);
        the event loop goes on during the write."""
        await self._record_async(_refusal_event(type, actor, error, subject, action, resource, details))

    def _record(self, event: AuditEvent) -> None:
        try:
            self.commits.run(lambda conn: append_event(conn, event, self.clock.now()))
        except DIDAgentsError:
            _log.exception("could not record the audit event of a refused %s request", event.type)

    async def _record_async(self, event: AuditEvent) -> None:
        try:
            await self.commits.run_async(lambda conn: append_event(conn, event, self.clock.now()))
        except DIDAgentsError:
            _log.exception("could not record the audit event of a refused %s request", event.type)


@dataclass(frozen=True)
class Audited(Generic[T]):
    """A request that writes through :meth:`Issuer.run_audited`: its unit of work ``work``, the
    ``<type>`` audit event's fields, and ``describe``, which adds fields (``subject``,
    ``resource``, details) from the work's result."""

    type: str
    work: Callable[[Connection], T]
    describe: Callable[[T], Mapping[str, Any]] | None = None
    subject: str | None = None
    action: str | None = None
    resource: str | None = None
    details: Mapping[str, Any] | None = None

    def unit(self, actor: Actor, clock: Clock) -> Callable[[Connection], T]:
        """The work and its ``allowed`` event, for one transaction."""
        base_details = {"operator": actor.id, **(self.details or {})}

        def unit(conn: Connection) -> T:
            result = self.work(conn)
            extra = self.describe(result) if self.describe is not None else {}
            event = AuditEvent(
                type=self.type,
                decision="allowed",
                subject=extra.get("subject", self.subject),
                action=self.action,
                resource=extra.get("resource", self.resource),
                details={
                    **base_details,
                    **{k: v for k, v in extra.items() if k not in ("subject", "resource")},
                },
            )
            append_event(conn, event, clock.now())
            return result

        return unit

    def refusal(self, actor: Actor, error: DIDAgentsError) -> AuditEvent:
        return _refusal_event(self.type, actor, error, self.subject, self.action, self.resource, self.details)


def _refusal_event(
    type: str,
    actor: Actor,
    error: DIDAgentsError,
    subject: str | None,
    action: str | None,
    resource: str | None,
    details: Mapping[str, Any] | None,
) -> AuditEvent:
    return AuditEvent(
        type=type,
        decision="denied",
        reason=_slug(error.reason),
        subject=subject if subject is None or len(subject) <= 2048 else None,
        action=action,
        resource=resource,
        details={"operator": actor.id, "status": error.status_code, **(details or {})},
    )


def mark_audited(error: DIDAgentsError) -> None:
    """Say that ``error``'s refusal event is written (the service must not write another)."""
    setattr(error, AUDITED_ATTRIBUTE, True)


def is_audited(error: DIDAgentsError) -> bool:
    return bool(getattr(error, AUDITED_ATTRIBUTE, False))


def _slug(reason: str) -> str:
    cleaned = "".join(ch if ch.isalnum() or ch in "_.:-" else "_" for ch in reason.lower())[:64]
    return cleaned or "refused"
