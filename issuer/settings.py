"""Issuer configuration (pydantic-settings, prefix ``DID_AGENTS_``).

Built in :func:`issuer.app.create_app` (or by the CLI) and kept on
``app.state``; nothing here reads the environment at import time (STYLE:
"Configuration").
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from did_agents.storage.engine import DEFAULT_SQLITE_SYNCHRONOUS, SQLiteSynchronous

__all__ = ["IssuerSettings", "SecuringFormat"]

SecuringFormat = Literal["eddsa-rdfc-2022", "eddsa-jcs-2022", "ecdsa-rdfc-2019", "jose"]

_log = logging.getLogger(__name__)


class IssuerSettings(BaseSettings):
    """Everything the issuer service needs to start.

    ``base_url`` is the public origin (``https://issuer.example``); the
    organization DID is ``did:web:<host>`` of that origin (did:web §3.1:
    a port is percent-encoded as ``%3A``).
    """

    model_config = SettingsConfigDict(env_prefix="DID_AGENTS_", env_file=".env", extra="ignore")

    base_url: str = "http://localhost:8000"
    data_dir: Path = Path(".did-agents")
    database_url: str | None = None
    keystore_path: Path | None = None
    keystore_passphrase: SecretStr | None = None
    #: 32 random bytes, base64url, instead of a passphrase (the "dir" KDF of the key store).
    keystore_key: SecretStr | None = None

    #: W3C VC API conformance runs only: ``POST /credentials/issue`` without operator credentials.
    vc_api_open_issue: bool = False
    #: Which DID ``POST /credentials/issue`` signs as: the organization's ``did:web`` (default), or
    #: ``did:key`` of its current signing key (the W3C DI suites resolve did:key only; docs/conformance.md).
    vc_api_issuer: Literal["did:web", "did:key"] = "did:web"

    max_body_bytes: int = Field(default=256 * 1024, gt=0)
    max_json_depth: int = Field(default=32, gt=0)
    credential_validity_days: int = Field(default=365, gt=0)
    #: The securing format when a request names none. Unset, it follows the organization key:
    #: eddsa-rdfc-2022 (Ed25519) or ecdsa-rdfc-2019 (P-256); set, the key must be able to make it.
    default_format: SecuringFormat = "eddsa-rdfc-2022"
    challenge_ttl_seconds: int = Field(default=300, gt=0)
    status_list_size: int = Field(default=131_072, ge=131_072)
    #: Cache-Control max-age of ``GET /status/{list}`` (seconds).
    status_list_max_age: int = Field(default=30, ge=0)
    #: role name → list of ``{resource, scopes}`` (JSON in the environment).
    role_capabilities: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    #: SQLite ``PRAGMA synchronous`` (WAL): ``FULL`` makes every commit wait for an fsync
    #: (durable across power loss); ``NORMAL`` does not, so the last commits may be lost on a
    #: power failure or OS crash (never on an application crash). See README "Operate an issuer".
    sqlite_synchronous: SQLiteSynchronous = DEFAULT_SQLITE_SYNCHRONOUS
    #: SECURITY FLT-14: where the newest committed state of every status list is kept outside
    #: the database (default ``<data_dir>/status-watermark.json``; best on storage that is not
    #: backed up with the database). See README "Operate an issuer".
    status_watermark: Path | None = None

    @field_validator("sqlite_synchronous", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("base_url")
    @classmethod
    def _origin(cls, value: str) -> str:
        value = value.rstrip("/")
        if not value.startswith(("https://", "http://")) or "/" in value.split("://", 1)[1]:
            raise ValueError("base_url must be an origin like https://issuer.example")
        return value

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'did-agents.db').resolve()}"

    @property
    def resolved_keystore_path(self) -> Path:
        return self.keystore_path or self.data_dir / "keystore.json"

    @property
    def resolved_status_watermark_path(self) -> Path:
        return self.status_watermark or self.data_dir / "status-watermark.json"

    def warn_if_open_issue(self) -> None:
        if self.vc_api_open_issue:
            _log.warning(
                "DID_AGENTS_VC_API_OPEN_ISSUE is on: POST /credentials/issue needs no operator"
                " credentials. Use this for conformance test runs only."
            )
