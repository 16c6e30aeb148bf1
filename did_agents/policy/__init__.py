"""Verifier policy: the TOML policy file (``policy_file``) and the effective-scope rule (``effective_scope``)."""

from did_agents.policy.effective_scope import compute_effective_scope
from did_agents.policy.policy_file import (
    ALL_FORMATS,
    CredentialFormat,
    Limits,
    Mode,
    Policy,
    ResourcePolicy,
    TrustedIssuer,
    load_policy,
    parse_policy,
)

__all__ = [
    "ALL_FORMATS",
    "CredentialFormat",
    "Limits",
    "Mode",
    "Policy",
    "ResourcePolicy",
    "TrustedIssuer",
    "compute_effective_scope",
    "load_policy",
    "parse_policy",
]
