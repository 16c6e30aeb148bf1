"""JSON-LD expansion and RDF Dataset Canonicalization (RDFC-1.0) in safe mode.

This is the only module that imports pyld (and pyoxigraph). It produces the
canonical N-Quads hashed by the ``eddsa-rdfc-2022`` and ``ecdsa-rdfc-2019``
cryptosuites (VC-DI-EDDSA §3.3.3 "Transformation (eddsa-rdfc-2022)": the
document is canonicalized with RDFC-1.0, RDF-CANON §4).

Safe mode (VC-DATA-INTEGRITY §2.4.1 / §4 "Safe mode": "implementations ...
MUST NOT silently drop terms"): JSON-LD expansion silently drops keys that are
not mapped to an IRI and turns undefined type names into relative IRIs, which
RDF conversion then drops. A signature over a canonical form that lost data
would not cover what the reader sees, so in safe mode any such term is refused
with ``VerificationError(reason="undefined_term")``, naming it.

Errors:
    * a context URL that is not bundled -> ``VerificationError("unknown_context")``
    * an undefined term / type / relative IRI -> ``VerificationError("undefined_term")``
    * any other JSON-LD error -> ``MalformedError("malformed")``
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from cachetools import LRUCache
from pyld import jsonld
from pyld.canon import URDNA2015
from pyld.context_resolver import ContextResolver

from did_agents.errors import DIDAgentsError, MalformedError, VerificationError
from did_agents.jsonld.loader import document_loader
from did_agents.strict_json import check_depth

__all__ = ["TRUSTED_VOCABULARIES", "UNDEFINED_TERM_VOCABULARIES", "canonicalize", "expand"]

#: Catch-all vocabularies: a term expanding into one of these was not defined by
#: any real context (VC-DATA-MODEL-2.0 §5.2 "undefined-terms" context; the
#: ``issuer-dependent`` namespace of earlier drafts of the v2 context).
UNDEFINED_TERM_VOCABULARIES: Final = (
    "https://www.w3.org/ns/credentials/undefined-term#",
    "https://www.w3.org/ns/credentials/issuer-dependent#",
)

#: Vocabularies declared by bundled contexts (the W3C examples context is one
#: ``@vocab``). An embedded context may not declare any other ``@vocab``: that
#: would turn every undefined term into a "defined" one (SECURITY SEC-29).
TRUSTED_VOCABULARIES: Final = ("https://www.w3.org/ns/credentials/examples#",)

# RFC 3987 §2.2 / RFC 3986 §3.1: an absolute IRI starts with a scheme.
_ABSOLUTE_IRI: Final = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")

# pyld keeps processed contexts per resolved URL; the loader tags bundled
# contexts "static", so each is processed once per process. Our own cache, not
# pyld's module-global one, so no other pyld user can poison it.
_RESOLVED_CONTEXTS: Final[LRUCache[str, Any]] = LRUCache(maxsize=64)


def _options() -> dict[str, Any]:
    return {
        "documentLoader": document_loader,
        "contextResolver": ContextResolver(_RESOLVED_CONTEXTS, document_loader),
        # No document base: relative IRIs stay relative (pyld would otherwise
        # resolve them against http://example.org/base/) and are refused below.
        "base": None,
        "processingMode": "json-ld-1.1",
        "extractAllScripts": False,
    }


def _library_error(exc: BaseException) -> DIDAgentsError:
    """Translate a pyld error: our own error (from the loader) wins, wherever it is."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, DIDAgentsError):
            return seen
        seen = seen.__cause__ or seen.__context__
    code = getattr(exc, "code", None)
    detail = f" ({code})" if isinstance(code, str) else ""
    return MalformedError(f"invalid JSON-LD{detail}", reason="malformed")


def _undefined(what: str, name: object) -> VerificationError:
    return VerificationError(
        f"{what} {str(name)[:200]!r} is not defined by the document's contexts",
        reason="undefined_term",
    )


def _is_iri_or_blank(value: object) -> bool:
    return isinstance(value, str) and (value.startswith("_:") or _ABSOLUTE_IRI.match(value) is not None)


def _check_iri(what: str, value: object) -> None:
    if not _is_iri_or_blank(value):
        raise _undefined(what, value)
    assert isinstance(value, str)
    if value.startswith(UNDEFINED_TERM_VOCABULARIES):
        raise _undefined(what, value)


def _check_expanded(element: Any) -> None:
    """Walk expanded JSON-LD; refuse what RDF conversion would drop or invent."""
    stack: list[Any] = [element]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
            continue
        if not isinstance(item, dict):
            continue
        if "@value" in item:
            # A value object: its datatype must be an IRI (or @json, whose
            # value is an opaque JSON literal and is not walked).
            datatype = item.get("@type")
            if datatype is not None and datatype != "@json":
                _check_iri("datatype", datatype)
            continue
        for key, value in item.items():
            if key == "@id":
                _check_iri("node identifier", value)
            elif key == "@type":
                for type_ in value if isinstance(value, list) else [value]:
                    _check_iri("type", type_)
            elif key == "@reverse":
                for prop, nodes in value.items():
                    _check_iri("reverse property", prop)
                    stack.append(nodes)
            elif key.startswith("@"):
                if key in ("@graph", "@included", "@list", "@set"):
                    stack.append(value)
            else:
                if key.startswith("_:"):
                    # Blank-node predicates are dropped from (non-generalized) RDF.
                    raise _undefined("property", key)
                _check_iri("property", key)
                stack.append(value)


def _check_embedded_context(context: Any) -> None:
    """Refuse catch-all ``@vocab`` and ``@base`` in contexts the document embeds.

    JSON-LD 1.1 §4.1.2 (``@vocab``) and §4.1.3 (``@base``): both let undefined
    words or relative references become IRIs chosen by the document itself.
    Bundled contexts are trusted; embedded ones may only define terms.
    """
    stack: list[Any] = [context]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            vocab = item.get("@vocab")
            if vocab is not None and vocab not in TRUSTED_VOCABULARIES:
                raise _undefined("embedded @vocab", vocab)
            if item.get("@base") is not None:
                raise _undefined("embedded @base", item["@base"])
            # Scoped contexts inside term definitions (JSON-LD 1.1 §4.1.8).
            for key, definition in item.items():
                if key == "@context":
                    stack.append(definition)
                elif isinstance(definition, dict) and "@context" in definition:
                    stack.append(definition["@context"])


def _check_embedded_contexts(document: Any) -> None:
    stack: list[Any] = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            for key, value in item.items():
                if key == "@context":
                    _check_embedded_context(value)
                else:
                    stack.append(value)


def _expand(document: Mapping[str, Any], *, safe: bool) -> list[dict[str, Any]]:
    if not isinstance(document, Mapping):
        raise MalformedError("a JSON-LD document must be a JSON object", reason="malformed")
    check_depth(document)
    if safe:
        _check_embedded_contexts(document)
    dropped: list[str | None] = []
    processor = jsonld.JsonLdProcessor(on_property_dropped=dropped.append)
    try:
        expanded = processor.expand(dict(document), _options())
    except (jsonld.JsonLdError, ValueError, TypeError, KeyError, RecursionError) as exc:
        raise _library_error(exc) from exc
    if safe:
        if dropped:
            # JSON-LD 1.1 API §4.1 (IRI expansion): a key that expands to neither
            # an absolute IRI nor a keyword is dropped; None = an "@..." key.
            name = dropped[0] if dropped[0] is not None else "@-prefixed key"
            raise _undefined("term", name)
        _check_expanded(expanded)
    assert isinstance(expanded, list)
    return expanded


def expand(document: Mapping[str, Any], *, safe: bool = True) -> list[dict[str, Any]]:
    """JSON-LD 1.1 expansion with the bundled contexts only.

    In safe mode (the default) undefined terms, types and relative IRIs are
    refused instead of dropped.
    """
    return _expand(document, safe=safe)


def canonicalize(document: Mapping[str, Any], *, safe: bool = True) -> str:
    """Return the RDFC-1.0 canonical N-Quads of a JSON-LD document.

    RDF-CANON §4.4: blank nodes are relabelled ``_:c14n<n>``; the quads are
    serialised in canonical N-Quads form and sorted by code point, each line
    ending with ``\\n``. This is the string VC-DI-EDDSA §3.3.3 and
    VC-DI-ECDSA §3.3.3 hash.
    """
    expanded = _expand(document, safe=safe)
    options = _options()
    try:
        dataset = jsonld.JsonLdProcessor().to_rdf(expanded, options)
        result = URDNA2015().main(dataset, {"format": "application/n-quads"})
    except (jsonld.JsonLdError, ValueError, TypeError, KeyError, RecursionError) as exc:
        raise _library_error(exc) from exc
    assert isinstance(result, str)
    return result
