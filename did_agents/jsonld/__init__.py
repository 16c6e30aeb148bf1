"""JSON-LD for did-agents: bundled contexts, a static loader, RDFC-1.0 in safe mode.

Nothing here touches the network (DESIGN §4): contexts come from
``contexts/`` (see ``contexts/SOURCES.md``) and unknown context URLs are refused.
"""

from did_agents.jsonld.canonicalize import UNDEFINED_TERM_VOCABULARIES, canonicalize, expand
from did_agents.jsonld.loader import (
    CONTEXTS_V1,
    CONTEXTS_V2,
    CREDENTIALS_EXAMPLES_V2,
    DATA_INTEGRITY_V1,
    DATA_INTEGRITY_V2,
    DID_AGENTS_V1,
    DID_V1,
    ED25519_2018_V1,
    ED25519_2020_V1,
    KNOWN_CONTEXTS,
    MULTIKEY_V1,
    SECURITY_V1,
    SECURITY_V2,
    document_loader,
    get_context,
)

__all__ = [
    "CONTEXTS_V1",
    "CONTEXTS_V2",
    "CREDENTIALS_EXAMPLES_V2",
    "DATA_INTEGRITY_V1",
    "DATA_INTEGRITY_V2",
    "DID_AGENTS_V1",
    "DID_V1",
    "ED25519_2018_V1",
    "ED25519_2020_V1",
    "KNOWN_CONTEXTS",
    "MULTIKEY_V1",
    "SECURITY_V1",
    "SECURITY_V2",
    "UNDEFINED_TERM_VOCABULARIES",
    "canonicalize",
    "document_loader",
    "expand",
    "get_context",
]
