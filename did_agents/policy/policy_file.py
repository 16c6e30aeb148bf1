"""The verifier's policy file: whom it trusts for what, and how each resource combines authority.

A TOML document (``tomllib``) validated with pydantic v2; unknown keys are
refused everywhere and every error names the key path
(``resources[0].mode: Input should be 'intersection', 'union' or 'subset'``).
The format is documented with a full example in ``docs/policy.md`` and
``examples/policy.toml``.

Decisions recorded here (and in ``docs/policy.md``):

* a trusted issuer must be limited to scope patterns and/or resource patterns:
  an issuer that may vouch for anything is not expressible;
* ``union`` mode needs ``require_role_credential = true`` (a union with no user
  authority is just the agent's capabilities);
* ``allowed_scopes`` is the ``subset`` allowlist and only allowed in that mode;
* resources are looked up by exact (normalized) URL or by an audience alias;
  a policy resource is never a prefix.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)

from did_agents.delegation.capabilities import (
    Capability,
    CapabilitySet,
    is_wildcard,
    narrower_resource,
    narrower_scope,
    normalize,
    parse_resource,
    parse_scope,
)
from did_agents.did.document import parse_did
from did_agents.errors import ConfigurationError, InvalidTargetError, MalformedError

__all__ = [
    "ALL_FORMATS",
    "CredentialFormat",
    "Limits",
    "Mode",
    "Policy",
    "ResourcePolicy",
    "TrustedIssuer",
    "load_policy",
    "parse_policy",
]

CredentialFormat = Literal["eddsa-rdfc-2022", "eddsa-jcs-2022", "ecdsa-rdfc-2019", "jose"]
ALL_FORMATS: Final[tuple[CredentialFormat, ...]] = (
    "eddsa-rdfc-2022",
    "eddsa-jcs-2022",
    "ecdsa-rdfc-2019",
    "jose",
)
Mode = Literal["intersection", "union", "subset"]

_MAX_ALIAS_LENGTH: Final = 256


def _scope_list(values: tuple[str, ...] | None) -> tuple[str, ...] | None:
    if values is None:
        return None
    try:
        parsed = tuple(parse_scope(v) for v in values)
    except MalformedError as exc:
        raise ValueError(exc.description) from exc
    if len(set(parsed)) != len(parsed):
        raise ValueError("duplicate scope")
    return parsed


def _resource(value: str) -> str:
    try:
        return parse_resource(value)
    except MalformedError as exc:
        raise ValueError(exc.description) from exc


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TrustedIssuer(_Strict):
    """An organization DID whose AgentCapabilityCredentials and RoleCredentials count,
    limited to what it may vouch for: capabilities outside ``scopes`` (patterns such as
    ``orders:*``) or ``resources`` (exact URLs or prefixes ending in ``/``) are dropped."""

    did: StrictStr
    name: StrictStr | None = None
    scopes: tuple[StrictStr, ...] | None = Field(default=None, min_length=1)
    resources: tuple[StrictStr, ...] | None = Field(default=None, min_length=1)

    @field_validator("did")
    @classmethod
    def _did(cls, value: str) -> str:
        try:
            parse_did(value)
        except MalformedError as exc:
            raise ValueError(exc.description) from exc
        return value

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return _scope_list(value)

    @field_validator("resources")
    @classmethod
    def _resources(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return None if value is None else tuple(_resource(v) for v in value)

    @model_validator(mode="after")
    def _limited(self) -> TrustedIssuer:
        if self.scopes is None and self.resources is None:
            raise ValueError("a trusted issuer needs `scopes` and/or `resources` (what it may vouch for)")
        return self

    def vouch(self, capabilities: Iterable[Capability]) -> CapabilitySet:
        """The part of ``capabilities`` this issuer may vouch for (normal form)."""
        kept: list[Capability] = []
        for cap in capabilities:
            if self.resources is None:
                resources = [cap.resource]
            else:
                resources = [
                    r for p in self.resources if (r := narrower_resource(cap.resource, p)) is not None
                ]
            if self.scopes is None:
                scopes = set(cap.scopes)
            else:
                scopes = {
                    s for c in cap.scopes for p in self.scopes if (s := narrower_scope(c, p)) is not None
                }
            if scopes:
                kept.extend(Capability(r, frozenset(scopes)) for r in resources)
        return normalize(kept)


class ResourcePolicy(_Strict):
    """How tokens for one resource (an MCP server URL) are computed."""

    url: StrictStr
    mode: Mode = "intersection"
    scopes: tuple[StrictStr, ...] | None = Field(default=None, min_length=1)
    allowed_scopes: tuple[StrictStr, ...] | None = Field(default=None, min_length=1)
    require_role_credential: StrictBool = False
    max_token_lifetime: StrictInt = Field(default=300, ge=1, le=86_400)
    allowed_formats: tuple[CredentialFormat, ...] = Field(default=ALL_FORMATS, min_length=1)
    audiences: tuple[StrictStr, ...] = ()

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _resource(value)

    @field_validator("scopes", "allowed_scopes")
    @classmethod
    def _concrete_scopes(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        parsed = _scope_list(value)
        if parsed is not None and any(is_wildcard(s) for s in parsed):
            raise ValueError("list the concrete scopes; wildcards are not allowed here")
        return parsed

    @field_validator("audiences")
    @classmethod
    def _aliases(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for alias in value:
            if not alias or len(alias) > _MAX_ALIAS_LENGTH:
                raise ValueError("an audience alias must have 1 to 256 characters")
            if not alias.isascii() or any(ch <= " " or ch == "\x7f" for ch in alias):
                raise ValueError(f"audience alias {alias[:40]!r} has spaces, controls or non-ASCII")
        if len(set(value)) != len(value):
            raise ValueError("duplicate audience alias")
        return value

    @field_validator("allowed_formats")
    @classmethod
    def _formats(cls, value: tuple[CredentialFormat, ...]) -> tuple[CredentialFormat, ...]:
        if len(set(value)) != len(value):
            raise ValueError("duplicate format")
        return value

    @model_validator(mode="after")
    def _mode(self) -> ResourcePolicy:
        if self.mode == "subset" and self.allowed_scopes is None:
            raise ValueError("mode 'subset' needs `allowed_scopes`")
        if self.mode != "subset" and self.allowed_scopes is not None:
            raise ValueError("`allowed_scopes` is only used with mode 'subset'")
        if self.mode == "union" and not self.require_role_credential:
            raise ValueError("mode 'union' needs `require_role_credential = true` (the user authority)")
        if self.scopes is not None and self.allowed_scopes is not None:
            unknown = set(self.allowed_scopes) - set(self.scopes)
            if unknown:
                raise ValueError(f"`allowed_scopes` not in `scopes`: {sorted(unknown)!r}")
        return self

    def token_expiry(
        self, now: datetime, not_after: datetime | None, *, max_lifetime: timedelta | None = None
    ) -> datetime:
        """``exp`` for a token minted at ``now`` (DESIGN §6): at most ``max_token_lifetime`` later,
        and at most ``max_lifetime`` (the service's own cap) when given, and never after
        ``not_after`` (the chain's earliest ``validUntil``)."""
        lifetime = timedelta(seconds=self.max_token_lifetime)
        if max_lifetime is not None:
            lifetime = min(lifetime, max_lifetime)
        expiry = now + lifetime
        return expiry if not_after is None else min(expiry, not_after)


class Limits(_Strict):
    """Bounds applied before any signature work (DESIGN §10, SECURITY SEC-42)."""

    max_chain_length: StrictInt = Field(default=8, ge=1, le=32)
    max_credentials: StrictInt = Field(default=32, ge=1, le=256)
    clock_skew: StrictInt = Field(default=60, ge=0, le=300)


class Policy(_Strict):
    """A verifier's policy. Build with :func:`load_policy` or :func:`parse_policy`."""

    version: Literal[1] = 1
    trusted_issuers: tuple[TrustedIssuer, ...]
    resources: tuple[ResourcePolicy, ...]
    limits: Limits = Limits()

    @model_validator(mode="after")
    def _unique(self) -> Policy:
        if not self.trusted_issuers:
            raise ValueError("`trusted_issuers` is empty: nobody's credentials would count")
        if not self.resources:
            raise ValueError("`resources` is empty: no token could be issued")
        dids = [issuer.did for issuer in self.trusted_issuers]
        if len(set(dids)) != len(dids):
            raise ValueError("a DID is listed twice in `trusted_issuers`")
        names: set[str] = set()
        for resource in self.resources:
            for name in (resource.url, *resource.audiences):
                if name in names:
                    raise ValueError(f"resource URL or audience alias {name!r} is configured twice")
                names.add(name)
        return self

    # -- lookups ---------------------------------------------------------------------------

    def issuer(self, did: str) -> TrustedIssuer | None:
        """The trusted-issuer entry for ``did``, or ``None``."""
        for issuer in self.trusted_issuers:
            if issuer.did == did:
                return issuer
        return None

    def is_trusted_issuer(self, did: str) -> bool:
        return self.issuer(did) is not None

    def vouch(self, issuer: str, capabilities: Iterable[Capability]) -> CapabilitySet:
        """What ``issuer`` may vouch for among ``capabilities``; empty for untrusted issuers."""
        entry = self.issuer(issuer)
        return () if entry is None else entry.vouch(capabilities)

    def resource_policy(self, resource: str) -> ResourcePolicy:
        """The policy for a requested ``resource`` URL or audience alias.

        Raises ``InvalidTargetError`` (reason ``resource_not_configured``; RFC 8693
        §2.2.2 ``invalid_target``) when it names no configured resource.
        """
        for entry in self.resources:
            if resource in entry.audiences:
                return entry
        try:
            url = parse_resource(resource)
        except MalformedError as exc:
            raise InvalidTargetError(
                f"resource is not a valid URL: {exc.description}", reason="resource_not_configured"
            ) from exc
        for entry in self.resources:
            if entry.url == url:
                return entry
        raise InvalidTargetError(
            "the requested resource is not served by this verifier", reason="resource_not_configured"
        )


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text or "(top level)"


def _describe(exc: ValidationError, source: str) -> str:
    problems = []
    for error in exc.errors(include_url=False):
        message = str(error["msg"]).removeprefix("Value error, ")
        problems.append(f"{source}: {_location(tuple(error['loc']))}: {message}")
    return "; ".join(problems)


def parse_policy(text: str, *, source: str = "policy") -> Policy:
    """Parse and validate a TOML policy. Raises ``ConfigurationError`` (reason
    ``invalid_policy``) naming the offending key path."""
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{source}: not valid TOML: {exc}", reason="invalid_policy") from exc
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise ConfigurationError(_describe(exc, source), reason="invalid_policy") from exc


def load_policy(path: str | Path) -> Policy:
    """Read and validate a TOML policy file."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"cannot read policy file {file}: {exc}", reason="invalid_policy") from exc
    return parse_policy(text, source=file.name)
