"""The static JSON-LD document loader: bundled contexts only, never the network.

DESIGN §4: contexts are never fetched at verification time. Every context a
credential may reference is shipped in ``contexts/`` (byte-for-byte copies of
the official files, provenance and SHA-256 in ``contexts/SOURCES.md``). Any
other URL is refused with ``VerificationError(reason="unknown_context")``.

URLs match exactly (no normalisation: ``http://`` or a trailing ``/`` is a
different, unknown URL).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any, Final

from did_agents.errors import VerificationError

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
    "document_loader",
    "get_context",
]

CONTEXTS_V2: Final = "https://www.w3.org/ns/credentials/v2"
CONTEXTS_V1: Final = "https://www.w3.org/2018/credentials/v1"
DATA_INTEGRITY_V1: Final = "https://w3id.org/security/data-integrity/v1"
DATA_INTEGRITY_V2: Final = "https://w3id.org/security/data-integrity/v2"
MULTIKEY_V1: Final = "https://w3id.org/security/multikey/v1"
DID_V1: Final = "https://www.w3.org/ns/did/v1"
ED25519_2020_V1: Final = "https://w3id.org/security/suites/ed25519-2020/v1"
ED25519_2018_V1: Final = "https://w3id.org/security/suites/ed25519-2018/v1"
SECURITY_V1: Final = "https://w3id.org/security/v1"
SECURITY_V2: Final = "https://w3id.org/security/v2"
DID_AGENTS_V1: Final = "https://w3id.org/did-agents/v1"
#: The W3C examples context (one ``@vocab``): used by the W3C test vectors and
#: test suites; its terms are defined (by that vocabulary), not undefined.
CREDENTIALS_EXAMPLES_V2: Final = "https://www.w3.org/ns/credentials/examples/v2"

#: Context URL -> file name in ``did_agents/jsonld/contexts/``.
KNOWN_CONTEXTS: Final[Mapping[str, str]] = MappingProxyType(
    {
        CONTEXTS_V2: "credentials-v2.jsonld",
        CONTEXTS_V1: "credentials-v1.jsonld",
        DATA_INTEGRITY_V1: "data-integrity-v1.jsonld",
        DATA_INTEGRITY_V2: "data-integrity-v2.jsonld",
        MULTIKEY_V1: "multikey-v1.jsonld",
        DID_V1: "did-v1.jsonld",
        ED25519_2020_V1: "ed25519-signature-2020-v1.jsonld",
        ED25519_2018_V1: "ed25519-signature-2018-v1.jsonld",
        SECURITY_V1: "security-v1.jsonld",
        SECURITY_V2: "security-v2.jsonld",
        DID_AGENTS_V1: "did-agents-v1.jsonld",
        CREDENTIALS_EXAMPLES_V2: "credentials-examples-v2.jsonld",
    }
)


@cache
def _parsed(url: str) -> Any:
    # Bundled files are trusted package data; parsed once per process.
    name = KNOWN_CONTEXTS[url]
    text = resources.files("did_agents.jsonld").joinpath("contexts", name).read_text("utf-8")
    return json.loads(text)


def _copy(value: Any) -> Any:
    # A deep copy of a JSON value (faster than copy.deepcopy): callers, and pyld
    # (which rewrites relative @context URLs in place), never touch the cache.
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def get_context(url: str) -> dict[str, Any]:
    """Return a fresh copy of the bundled context document served for ``url``.

    The document is the whole file (``{"@context": ...}``). Raises
    ``VerificationError(reason="unknown_context")`` for any URL not in
    :data:`KNOWN_CONTEXTS`.
    """
    if not isinstance(url, str) or url not in KNOWN_CONTEXTS:
        raise VerificationError(
            f"JSON-LD context {str(url)[:200]!r} is not bundled", reason="unknown_context"
        )
    document = _copy(_parsed(url))
    assert isinstance(document, dict)
    return document


def document_loader(url: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A pyld-compatible document loader serving only the bundled contexts.

    Returns the JSON-LD "RemoteDocument" shape pyld expects. ``tag: "static"``
    lets pyld keep the processed context in its resolved-context cache.
    """
    del options  # nothing in the request (headers, profile) changes the answer
    return {
        "contextUrl": None,
        "documentUrl": url,
        "document": get_context(url),
        "tag": "static",
    }
