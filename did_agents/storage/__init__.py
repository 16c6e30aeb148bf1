"""Persistence shared by the issuer and the verifier (DESIGN §9).

SQLAlchemy 2 Core over SQLite (embedded default) or PostgreSQL (psycopg 3),
with Alembic migrations bundled in ``migrations/``. Small repositories, one per
aggregate, take the :class:`~sqlalchemy.Connection` of a
:meth:`Database.transaction`, so everything written in one block — including
its audit event (:mod:`did_agents.audit`) — commits or rolls back together::

    db = Database.connect("sqlite:///data/did-agents.db", upgrade=True)
    with db.transaction() as conn:
        index = StatusListRepository(conn).allocate("1", credential_id, now=now)
        CredentialRepository(conn).add(credential)
        AuditLog(conn, clock).append(event)
"""

from did_agents.storage.agents import Agent, AgentKind, AgentRepository, AgentStatus
from did_agents.storage.challenges import Challenge, ChallengeRepository
from did_agents.storage.credentials import (
    CredentialFormat,
    CredentialRepository,
    IssuedCredential,
    StatusEntry,
)
from did_agents.storage.database import Database
from did_agents.storage.engine import Backend, create_engine_for, translate_errors
from did_agents.storage.migrate import current_revision, head_revision, upgrade
from did_agents.storage.operators import Operator, OperatorRepository, OperatorRole
from did_agents.storage.organization import Organization, OrganizationRepository, OrgKey, OrgKeyStatus
from did_agents.storage.replay import ReplayCache
from did_agents.storage.status_lists import (
    DEFAULT_LIST_SIZE,
    StatusAllocation,
    StatusList,
    StatusListRepository,
    StatusPurpose,
)
from did_agents.storage.tokens import MintedToken, TokenRepository
from did_agents.storage.users import User, UserRepository, UserStatus

__all__ = [
    "DEFAULT_LIST_SIZE",
    "Agent",
    "AgentKind",
    "AgentRepository",
    "AgentStatus",
    "Backend",
    "Challenge",
    "ChallengeRepository",
    "CredentialFormat",
    "CredentialRepository",
    "Database",
    "IssuedCredential",
    "MintedToken",
    "Operator",
    "OperatorRepository",
    "OperatorRole",
    "OrgKey",
    "OrgKeyStatus",
    "Organization",
    "OrganizationRepository",
    "ReplayCache",
    "StatusAllocation",
    "StatusEntry",
    "StatusList",
    "StatusListRepository",
    "StatusPurpose",
    "TokenRepository",
    "User",
    "UserRepository",
    "UserStatus",
    "create_engine_for",
    "current_revision",
    "head_revision",
    "translate_errors",
    "upgrade",
]
