"""Verifier configuration (pydantic-settings, prefix ``DID_AGENTS_``).

Built in :func:`verifier.app.create_app` (or by ``did-agents serve``) and kept
on ``app.state``; nothing reads the environment at import time. The data
directory, database, key store and ``base_url`` names are the issuer's, so one
environment configures both services when they share a process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from did_agents.errors import ConfigurationError
from did_agents.keystore import Passphrase, RawKey

__all__ = ["VerifierSettings"]


class VerifierSettings(BaseSettings):
    """Everything the verifier needs to start.

    ``issuer_url`` (default: ``base_url``) is the RFC 8414 issuer identifier:
    the ``iss`` of minted tokens and the only ``aud`` actor tokens may carry.
    ``domain`` (default: the issuer identifier) is what presentation proofs
    must be bound to.
    """

    model_config = SettingsConfigDict(env_prefix="DID_AGENTS_", env_file=".env", extra="ignore")

    base_url: str = "http://localhost:8000"
    issuer_url: str | None = None
    domain: str | None = None
    data_dir: Path = Path(".did-agents")
    database_url: str | None = None
    keystore_path: Path | None = None
    keystore_passphrase: SecretStr | None = None
    keystore_key: SecretStr | None = None
    policy_path: Path | None = None

    token_algorithm: Literal["EdDSA", "ES256"] = "EdDSA"  # noqa: S105 - a media type / URN, not a secret
    max_token_lifetime: int = Field(default=300, ge=1, le=86_400)
    challenge_ttl_seconds: int = Field(default=300, ge=1, le=3600)
    actor_token_max_lifetime: int = Field(default=300, ge=1, le=300)
    require_actor_token: bool = False
    status_cache_ttl: int = Field(default=60, ge=0, le=3600)
    did_cache_ttl: int = Field(default=300, ge=0, le=86_400)
    max_body_bytes: int = Field(default=512 * 1024, gt=0)
    #: Hosts / CIDRs the guarded fetcher may reach although not public (tests, private deployments).
    fetch_allow: list[str] = Field(default_factory=list)

    @field_validator("base_url", "issuer_url", "domain")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.rstrip("/")
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return value

    @property
    def resolved_issuer_url(self) -> str:
        return self.issuer_url or self.base_url

    @property
    def resolved_domain(self) -> str:
        return self.domain or self.resolved_issuer_url

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'did-agents.db').resolve()}"

    @property
    def resolved_keystore_path(self) -> Path:
        return self.keystore_path or self.data_dir / "keystore.json"

    @property
    def resolved_policy_path(self) -> Path:
        return self.policy_path or self.data_dir / "policy.toml"

    def keystore_secret(self) -> Passphrase | RawKey:
        if self.keystore_key is not None:
            return RawKey.from_base64url(self.keystore_key.get_secret_value())
        if self.keystore_passphrase is not None:
            return Passphrase(self.keystore_passphrase.get_secret_value())
        raise ConfigurationError(
            "set DID_AGENTS_KEYSTORE_PASSPHRASE or DID_AGENTS_KEYSTORE_KEY", reason="keystore_secret"
        )
