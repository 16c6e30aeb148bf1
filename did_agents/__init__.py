"""did-agents: identities for AI agents — DIDs, verifiable credentials, delegation.

The public API, importable from the package root::

    from did_agents import DIDResolver, SystemClock, generate_key, issue_credential, verify_presentation

Names are loaded on first use (PEP 562), so importing one submodule does not
pull in JSON-LD, JOSE and the rest.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "AgentCapability",
    "Capability",
    "Clock",
    "DIDAgentsError",
    "DIDDocument",
    "DIDResolver",
    "Delegation",
    "FixedClock",
    "KeyType",
    "MalformedError",
    "ParentCredential",
    "PrivateKey",
    "Problem",
    "PublicKey",
    "RoleGrant",
    "SystemClock",
    "VerificationError",
    "VerificationResult",
    "build_capability_credential",
    "build_delegation_credential",
    "build_presentation",
    "build_role_credential",
    "credential_digest_sri",
    "did_key",
    "envelope_credential",
    "generate_key",
    "issue_credential",
    "parse_capability_credential",
    "parse_delegation_credential",
    "parse_role_credential",
    "sign_presentation",
    "validate_credential",
    "validate_presentation",
    "verify_credential",
    "verify_presentation",
]

# public name -> (module, attribute)
_EXPORTS: dict[str, tuple[str, str]] = {
    "AgentCapability": ("did_agents.credentials.vocabulary", "AgentCapability"),
    "Capability": ("did_agents.credentials.capability", "Capability"),
    "Clock": ("did_agents.clock", "Clock"),
    "DIDAgentsError": ("did_agents.errors", "DIDAgentsError"),
    "DIDDocument": ("did_agents.did.document", "DIDDocument"),
    "DIDResolver": ("did_agents.did.resolver", "DIDResolver"),
    "Delegation": ("did_agents.credentials.vocabulary", "Delegation"),
    "FixedClock": ("did_agents.clock", "FixedClock"),
    "KeyType": ("did_agents.keys", "KeyType"),
    "MalformedError": ("did_agents.errors", "MalformedError"),
    "ParentCredential": ("did_agents.credentials.vocabulary", "ParentCredential"),
    "PrivateKey": ("did_agents.keys", "PrivateKey"),
    "Problem": ("did_agents.credentials.verify", "Problem"),
    "PublicKey": ("did_agents.keys", "PublicKey"),
    "RoleGrant": ("did_agents.credentials.vocabulary", "RoleGrant"),
    "SystemClock": ("did_agents.clock", "SystemClock"),
    "VerificationError": ("did_agents.errors", "VerificationError"),
    "VerificationResult": ("did_agents.credentials.verify", "VerificationResult"),
    "build_capability_credential": ("did_agents.credentials.vocabulary", "build_capability_credential"),
    "build_delegation_credential": ("did_agents.credentials.vocabulary", "build_delegation_credential"),
    "build_presentation": ("did_agents.credentials.verify", "build_presentation"),
    "build_role_credential": ("did_agents.credentials.vocabulary", "build_role_credential"),
    "credential_digest_sri": ("did_agents.credentials.vocabulary", "credential_digest_sri"),
    "did_key": ("did_agents.did.key", ""),
    "envelope_credential": ("did_agents.credentials.verify", "envelope_credential"),
    "generate_key": ("did_agents.keys", "generate"),
    "issue_credential": ("did_agents.credentials.verify", "issue_credential"),
    "parse_capability_credential": ("did_agents.credentials.vocabulary", "parse_capability_credential"),
    "parse_delegation_credential": ("did_agents.credentials.vocabulary", "parse_delegation_credential"),
    "parse_role_credential": ("did_agents.credentials.vocabulary", "parse_role_credential"),
    "sign_presentation": ("did_agents.credentials.verify", "sign_presentation"),
    "validate_credential": ("did_agents.credentials.model", "validate_credential"),
    "validate_presentation": ("did_agents.credentials.model", "validate_presentation"),
    "verify_credential": ("did_agents.credentials.verify", "verify_credential"),
    "verify_presentation": ("did_agents.credentials.verify", "verify_presentation"),
}


def __getattr__(name: str) -> Any:
    try:
        module_name, attribute = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'did_agents' has no attribute {name!r}") from None
    module = importlib.import_module(module_name)
    value = getattr(module, attribute) if attribute else module
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:
    from did_agents.clock import Clock, FixedClock, SystemClock
    from did_agents.credentials.capability import Capability
    from did_agents.credentials.model import validate_credential, validate_presentation
    from did_agents.credentials.verify import (
        Problem,
        VerificationResult,
        build_presentation,
        envelope_credential,
        issue_credential,
        sign_presentation,
        verify_credential,
        verify_presentation,
    )
    from did_agents.credentials.vocabulary import (
        AgentCapability,
        Delegation,
        ParentCredential,
        RoleGrant,
        build_capability_credential,
        build_delegation_credential,
        build_role_credential,
        credential_digest_sri,
        parse_capability_credential,
        parse_delegation_credential,
        parse_role_credential,
    )
    from did_agents.did import key as did_key
    from did_agents.did.document import DIDDocument
    from did_agents.did.resolver import DIDResolver
    from did_agents.errors import DIDAgentsError, MalformedError, VerificationError
    from did_agents.keys import KeyType, PrivateKey, PublicKey
    from did_agents.keys import generate as generate_key
