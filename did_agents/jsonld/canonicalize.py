"""JSON-LD expansion and RDF Dataset Canonicalization (RDFC-1.0) in safe mode.

This is the only module that imports pyld and pyoxigraph. It produces the
canonical N-Quads hashed by the ``eddsa-rdfc-2022`` and ``ecdsa-rdfc-2019``
cryptosuites (VC-DI-EDDSA §3.3.3 "Transformation (eddsa-rdfc-2022)": the
document is canonicalized with RDFC-1.0, RDF-CANON §4).

Pipeline::

    document --pyld expand (bundled contexts only)--> expanded JSON-LD
             --safe-mode checks + literal forms (JSON-LD 1.1 API §8.2)--> expanded'
             --pyoxigraph JSON-LD parser (toRdf)--> RDF dataset
             --RDFC-1.0 (pyoxigraph), work-bounded--> sorted canonical N-Quads

pyld does what only a JSON-LD processor can (contexts, ``@protected``,
scoped contexts; processed contexts are cached). pyoxigraph does the rest:
parsing expanded JSON-LD needs no context processing, and its RDFC-1.0 writes
literals in the canonical N-Quads form (RDF-CANON §4 / RDF 1.2 N-Quads
canonical form: ``\\b \\t \\n \\f \\r \\" \\\\`` as ECHAR, other C0 controls and
U+007F as upper-case UCHAR), which pyld 3.3 does not (it writes U+0001 raw),
and which the reference implementation (rdf-canonize) does. Literal lexical
forms (numbers, booleans, ``@json``) are computed here, as jsonld.js does, so
neither library's number formatting decides a signature.
``tests/jsonld/test_engine_equality.py`` proves the engines agree.

Cost (``bench/bench_canonicalize.py``, medians per document not seen
before): about 0.75 ms, of which expansion 0.4 ms, about half of pyld's own
``normalize``. Processed active contexts, type-scoped ones included, are
cached across documents (``_Processor``); without that, pyld processed the v2
context's type-scoped contexts again for every document (expansion 1.05 ms).
A document seen before (a verifier sees the same delegation chain at every
token exchange) costs an RFC 8785 serialization and a hash (about 40 µs).

Safe mode (VC-DATA-INTEGRITY "Securing Data Losslessly"; its test suite: "MUST
throw when data is dropped by a JSON-LD processor"): expansion silently drops keys that do not map to an IRI and turns
undefined type names into relative IRIs, which RDF conversion then drops. A
signature over a canonical form that lost data would not cover what the
reader sees, so such a term is refused with
``VerificationError(reason="undefined_term")`` naming it. Safe mode also
refuses what pyoxigraph's JSON-LD parser would drop silently (IRIs or
language tags it considers invalid).

Denial of service (RDF-CANON §4.8 "Hash N-Degree Quads" is exponential in the
worst case; RDF-CANON "Security Considerations", dataset poisoning): explicit blank node
identifiers are refused (without them JSON-LD yields trees), and when blank
nodes share a first-degree hash the deep-iteration budget of the reference
implementation (rdf-canonize, ``maxWorkFactor`` 1: as many Hash N-Degree
Quads calls as there are such blank nodes) is enforced before pyoxigraph runs.

Errors:
    * a context URL that is not bundled -> ``VerificationError("unknown_context")``
    * an undefined term / type / relative IRI -> ``VerificationError("undefined_term")``
    * a poison graph over the work budget -> ``InputTooLargeError("too_complex")``
    * any other JSON-LD error -> ``MalformedError("malformed")``
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

import pyoxigraph as ox
from cachetools import LRUCache
from pyld import jsonld
from pyld.canon import URDNA2015
from pyld.context_resolver import ContextResolver

from did_agents.errors import DIDAgentsError, InputTooLargeError, MalformedError, VerificationError
from did_agents.jcs import canonicalize as jcs_canonicalize
from did_agents.jsonld.loader import document_loader
from did_agents.strict_json import check_depth

__all__ = ["TRUSTED_VOCABULARIES", "UNDEFINED_TERM_VOCABULARIES", "canonicalize", "expand"]

#: Catch-all vocabularies: a term expanding into one of these was not defined by
#: any real context (the VC-DATA-MODEL-2.0 "undefined-terms" context; the
#: ``issuer-dependent`` namespace of earlier drafts of the v2 context).
UNDEFINED_TERM_VOCABULARIES: Final = (
    "https://www.w3.org/ns/credentials/undefined-term#",
    "https://www.w3.org/ns/credentials/issuer-dependent#",
)

#: Vocabularies declared by bundled contexts (the W3C examples context is one
#: ``@vocab``). An embedded context may not declare any other ``@vocab``: that
#: would turn every undefined term into a "defined" one (SECURITY SEC-29).
TRUSTED_VOCABULARIES: Final = ("https://www.w3.org/ns/credentials/examples#",)

_XSD: Final = "http://www.w3.org/2001/XMLSchema#"
_RDF: Final = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XSD_BOOLEAN: Final = _XSD + "boolean"
XSD_DOUBLE: Final = _XSD + "double"
XSD_INTEGER: Final = _XSD + "integer"
XSD_STRING: Final = _XSD + "string"
RDF_JSON: Final = _RDF + "JSON"
RDF_LANGSTRING: Final = _RDF + "langString"

# RFC 3987 §2.2 / RFC 3986 §3.1: an absolute IRI starts with a scheme.
_ABSOLUTE_IRI: Final = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")

# pyld keeps processed contexts per resolved URL; the loader tags bundled
# contexts "static", so each is processed once per process. Our own cache, not
# pyld's module-global one, so no other pyld user can poison it.
_RESOLVED_CONTEXTS: Final[LRUCache[str, Any]] = LRUCache(maxsize=64)
# pyld mutates that cache and the per-context caches inside it without locks;
# services call us from a thread pool. pyld is pure Python (it holds the GIL
# anyway), so serialising expansion costs no parallelism.
_PYLD_LOCK: Final = threading.Lock()

# Canonical forms already computed, keyed by the SHA-256 of the document's RFC
# 8785 form: a verifier sees the same delegation chain at every token exchange.
# Sound because the result is a function of the JSON value alone (contexts are
# static) and JCS is injective on JSON values with numbers as doubles, the only
# distinction JSON-LD makes (JSON-LD 1.1 API §8.2 "Object to RDF Conversion"). Only successes
# are kept; bounded; cachetools caches are not thread-safe, hence the lock.
_CANONICAL_FORMS: Final[LRUCache[tuple[bytes, bool], str]] = LRUCache(maxsize=1024)
_CANONICAL_FORMS_LOCK: Final = threading.Lock()

_PYLD_ERRORS: Final = (jsonld.JsonLdError, ValueError, TypeError, KeyError, RecursionError)

# Processed active contexts by (active context, local context, flags). pyld's
# own cache is keyed by the active context's ``_uuid``, but a type-scoped
# context (JSON-LD 1.1 §4.1.8, ``@propagate`` false) is applied to a fresh,
# non-propagating clone with a fresh ``_uuid`` for every node, and each
# embedded context costs a JCS cache key (c14n): the v2 context's type-scoped
# contexts were processed again for every document. Sound because context
# processing (JSON-LD 1.1 API §4.1) is a function of the active context, the
# local context and the options, all fixed here (bundled contexts only, no
# base); only frozen (immutable) active contexts are keys, held by reference
# and compared by identity. Used under _PYLD_LOCK.
_PROCESSED_CONTEXTS: Final[LRUCache[tuple[str, str, bool, bool, bool, object, object], tuple[Any, Any]]] = (
    LRUCache(maxsize=512)
)


# pyld freezes each active context it processes (a frozendict).
_FROZEN: Final[type[Any]] = type(jsonld.freeze({}))


def _local_context_key(local_ctx: Any) -> str | None:
    """An injective text key for a JSON local context, or None (do not cache)."""
    try:
        return json.dumps(local_ctx, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return None


class _Processor(jsonld.JsonLdProcessor):  # type: ignore[misc]
    """pyld's processor with processed active contexts cached across documents."""

    def _process_context(
        self,
        active_ctx: Any,
        local_ctx: Any,
        options: dict[str, Any],
        override_protected: bool = False,
        propagate: bool = True,
        validate_scoped: bool = True,
        cycles: set[str] | None = None,
    ) -> Any:
        uuid: object = active_ctx.get("_uuid") if isinstance(active_ctx, _FROZEN) else None
        # A call with a cycle set comes from pyld's pre-validation of scoped
        # contexts inside an uncached call; its result depends on that set.
        local_key = _local_context_key(local_ctx) if cycles is None else None
        if local_key is None or not isinstance(uuid, str):
            return super()._process_context(
                active_ctx, local_ctx, options, override_protected, propagate, validate_scoped, cycles
            )
        key = (
            uuid,
            local_key,
            override_protected,
            propagate,
            validate_scoped,
            options.get("base"),
            options.get("processingMode"),
        )
        cached = _PROCESSED_CONTEXTS.get(key)
        if cached is not None and cached[0] is active_ctx:
            return cached[1]
        result = super()._process_context(
            active_ctx, local_ctx, options, override_protected, propagate, validate_scoped, cycles
        )
        if isinstance(result, _FROZEN):
            _PROCESSED_CONTEXTS[key] = (active_ctx, result)
        return result


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
    """Translate a library error: our own error (from the loader) wins, wherever it is."""
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


# --- embedded contexts ----------------------------------------------------------------------


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


# --- expanded JSON-LD: checks and RDF literal forms ----------------------------------------


def _canonical_double(value: float) -> str:
    """The ``xsd:double`` lexical form of JSON-LD 1.1 API §8.2 (see §8.6 "Data Round Tripping").

    As jsonld.js: ``value.toExponential(15)`` (ECMA-262 §21.1.3.2: 16 significant
    digits, ties away from zero), trailing zeros of the mantissa removed, ``E``,
    exponent without ``+`` or leading zeros: ``1.5E0``, ``1.0E21``, ``1.0E-7``.
    """
    if not math.isfinite(value):
        raise MalformedError("NaN or Infinity cannot be an xsd:double here", reason="malformed")
    if value == 0:
        return "0.0E0"
    exact = Decimal(abs(value))
    exponent = exact.adjusted()
    mantissa = exact.scaleb(-exponent).quantize(Decimal("1.000000000000000"), ROUND_HALF_UP)
    if mantissa >= 10:
        exponent += 1
        mantissa = (mantissa / 10).quantize(Decimal("1.000000000000000"), ROUND_HALF_UP)
    digits = str(mantissa).rstrip("0")
    if digits.endswith("."):
        digits += "0"
    sign = "-" if value < 0 else ""
    return f"{sign}{digits}E{exponent}"


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _rdf_literal(item: Mapping[str, Any]) -> dict[str, Any]:
    """A value object rewritten with the lexical form of its RDF literal.

    JSON-LD 1.1 API §8.2 "Object to RDF Conversion", as jsonld.js and pyld
    apply it (``rdfDirection`` null: ``@direction`` is dropped).
    """
    value = item["@value"]
    datatype = item.get("@type")
    if datatype == "@json":
        # A JSON literal: its RFC 8785 canonical form, typed rdf:JSON.
        return {"@value": jcs_canonicalize(value).decode("utf-8"), "@type": RDF_JSON}
    if isinstance(value, bool):
        return {"@value": "true" if value else "false", "@type": datatype or XSD_BOOLEAN}
    if _is_number(value) or datatype == XSD_DOUBLE:
        if _is_number(value):
            number = float(value)
            if datatype != XSD_DOUBLE and float(number).is_integer() and abs(number) < 1e21:
                # An integer (jsonld.js value.toFixed(0)).
                lexical = str(int(value)) if isinstance(value, int) else str(int(number))
                return {"@value": lexical, "@type": datatype or XSD_INTEGER}
        else:
            try:
                number = float(value)
            except (TypeError, ValueError):
                return {"@value": value, "@type": XSD_DOUBLE}
        # A double: non-integral, >= 1e21, or typed xsd:double.
        return {"@value": _canonical_double(number), "@type": datatype or XSD_DOUBLE}
    if "@language" in item:
        return {"@value": value, "@language": item["@language"]}
    return {"@value": value, "@type": datatype or XSD_STRING}


class _Prepare:
    """One walk over expanded JSON-LD: checks, then literal forms for RDF."""

    def __init__(self, *, safe: bool) -> None:
        self.safe = safe

    def iri(self, what: str, value: object) -> str:
        if not isinstance(value, str):
            raise MalformedError(f"{what} is not a string", reason="malformed")
        if value.startswith("_:"):
            # Explicit labels are the only way to make blank-node cycles, the
            # shape of RDFC-1.0 poison graphs; credentials never need them.
            raise MalformedError(
                f"explicit blank node identifier {value[:100]!r} in {what}", reason="malformed"
            )
        if not self.safe:
            return value
        if _ABSOLUTE_IRI.match(value) is None or value.startswith(UNDEFINED_TERM_VOCABULARIES):
            raise _undefined(what, value)
        try:
            # pyoxigraph's JSON-LD parser silently drops quads with IRIs it
            # rejects (RFC 3987); refuse them instead.
            ox.NamedNode(value)
        except ValueError as exc:
            raise MalformedError(f"invalid IRI {value[:200]!r}", reason="malformed") from exc
        return value

    def value(self, item: Mapping[str, Any]) -> dict[str, Any]:
        datatype = item.get("@type")
        if datatype is not None and datatype != "@json":
            self.iri("datatype", datatype)
        literal = _rdf_literal(item)
        if self.safe and "@language" in literal:
            try:
                ox.Literal("", language=literal["@language"])  # BCP 47 well-formed
            except ValueError as exc:
                raise MalformedError(
                    f"invalid language tag {str(literal['@language'])[:50]!r}", reason="malformed"
                ) from exc
        return literal

    def element(self, element: Any) -> Any:
        if isinstance(element, list):
            return [self.element(item) for item in element]
        if not isinstance(element, dict):
            # A bare string is a node reference only under @id-typed keys,
            # which expansion has already turned into {"@id": ...}.
            return element
        if "@value" in element:
            return self.value(element)
        result: dict[str, Any] = {}
        for key, value in element.items():
            if key == "@id":
                result[key] = self.iri("node identifier", value)
            elif key == "@type":
                types = value if isinstance(value, list) else [value]
                result[key] = [self.iri("type", type_) for type_ in types]
            elif key == "@reverse":
                result[key] = {
                    self.iri("reverse property", prop): self.element(nodes) for prop, nodes in value.items()
                }
            elif key in ("@graph", "@included", "@list", "@set"):
                result[key] = self.element(value)
            elif key.startswith("@"):
                continue  # @index and friends carry no RDF
            else:
                result[self.iri("property", key)] = self.element(value)
        return result


def _expand(document: Mapping[str, Any], *, safe: bool) -> list[Any]:
    if not isinstance(document, Mapping):
        raise MalformedError("a JSON-LD document must be a JSON object", reason="malformed")
    check_depth(document)
    if safe:
        _check_embedded_contexts(document)
    dropped: list[str | None] = []
    processor = _Processor(on_property_dropped=dropped.append)
    try:
        with _PYLD_LOCK:
            expanded = processor.expand(dict(document), _options())
    except _PYLD_ERRORS as exc:
        raise _library_error(exc) from exc
    if safe and dropped:
        # JSON-LD 1.1 API Expansion Algorithm: a key that expands to neither an
        # absolute IRI nor a keyword is dropped; None = an "@..." key.
        name = dropped[0] if dropped[0] is not None else "@-prefixed key"
        raise _undefined("term", name)
    assert isinstance(expanded, list)
    return expanded


# --- RDF datasets -----------------------------------------------------------------------------


def _dataset_from_expanded(prepared: list[Any]) -> ox.Dataset:
    """pyoxigraph parses the prepared expanded form (JSON-LD 1.1 API §8.1 toRdf).

    No context is left to process. Like any JSON-LD processor it drops triples
    with relative or invalid IRIs; in safe mode there are none left to drop.
    """
    try:
        text = json.dumps(prepared, ensure_ascii=False, allow_nan=False)
        return ox.Dataset(ox.parse(text.encode("utf-8"), format=ox.RdfFormat.JSON_LD))
    except (ValueError, SyntaxError, UnicodeEncodeError) as exc:
        raise MalformedError("invalid JSON-LD (RDF conversion)", reason="malformed") from exc


# --- RDFC-1.0 ---------------------------------------------------------------------------------


def _first_degree_shape(quad: Any, node: str) -> tuple[str, ...]:
    # Coarser than RDF-CANON §4.6 (every other blank node is "_:z", any blank
    # graph name "_:g"), so "all shapes distinct" implies "all hashes distinct".
    def part(term: Any) -> str:
        if isinstance(term, ox.BlankNode):
            return "_:a" if term.value == node else "_:z"
        return str(term)

    graph = quad.graph_name
    return (
        part(quad.subject),
        str(quad.predicate),
        part(quad.object),
        "_:g" if isinstance(graph, ox.BlankNode) else str(graph),
    )


def _shares_first_degree_hash(quads: list[Any]) -> bool:
    """Whether RDF-CANON §4.4 step 5 could leave blank nodes for step 6 (n-degree)."""
    mentions: dict[str, list[Any]] = {}
    for quad in quads:
        for term in (quad.subject, quad.object, quad.graph_name):
            if isinstance(term, ox.BlankNode):
                mentions.setdefault(term.value, []).append(quad)
    if len(mentions) < 2:
        return False
    seen: set[tuple[tuple[str, ...], ...]] = set()
    for node, node_quads in mentions.items():
        shape = tuple(sorted(_first_degree_shape(quad, node) for quad in node_quads))
        if shape in seen:
            return True
        seen.add(shape)
    return False


class _TooComplexError(Exception):
    pass


class _BudgetedURDNA2015(URDNA2015):  # type: ignore[misc]
    """pyld's RDFC-1.0 with rdf-canonize's default deep-iteration limit.

    rdf-canonize (the reference implementation) allows ``n ** maxWorkFactor``
    Hash N-Degree Quads calls, ``n`` = blank nodes sharing a first-degree hash,
    ``maxWorkFactor`` = 1 by default. Used only to measure the work; its output
    is discarded (pyld's literal escaping is not RDFC-1.0's).
    """

    def __init__(self) -> None:
        super().__init__()
        self._remaining: int | None = None

    def hash_n_degree_quads(self, id_: str, issuer: Any) -> Any:
        if self._remaining is None:
            # RDF-CANON §4.4 step 6: only the shared-hash groups are left.
            self._remaining = sum(len(ids) for ids in self.hash_to_blank_nodes.values())
        if self._remaining <= 0:
            raise _TooComplexError
        self._remaining -= 1
        return super().hash_n_degree_quads(id_, issuer)


def _pyld_term(term: Any) -> dict[str, str]:
    if isinstance(term, ox.NamedNode):
        return {"type": "IRI", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "blank node", "value": "_:" + term.value}
    literal = {"type": "literal", "value": term.value, "datatype": term.datatype.value}
    if term.language:
        literal["language"] = term.language
    return literal


def _check_work_budget(quads: list[Any]) -> None:
    dataset: dict[str, list[dict[str, Any]]] = {}
    for quad in quads:
        graph = quad.graph_name
        if isinstance(graph, ox.DefaultGraph):
            name = "@default"
        else:
            name = ("_:" + graph.value) if isinstance(graph, ox.BlankNode) else graph.value
        dataset.setdefault(name, []).append(
            {
                "subject": _pyld_term(quad.subject),
                "predicate": _pyld_term(quad.predicate),
                "object": _pyld_term(quad.object),
            }
        )
    try:
        _BudgetedURDNA2015().main(dataset, {"format": "application/n-quads"})
    except _TooComplexError:
        raise InputTooLargeError(
            "RDF dataset too complex to canonicalize (RDFC-1.0 deep-iteration limit)",
            reason="too_complex",
        ) from None


def _canonical_nquads(dataset: ox.Dataset) -> str:
    """RDF-CANON §4.4: canonical blank node labels, canonical N-Quads, sorted."""
    quads = list(dataset)
    if _shares_first_degree_hash(quads):
        _check_work_budget(quads)
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    text = ox.serialize(dataset, format=ox.RdfFormat.N_QUADS)
    assert isinstance(text, bytes)
    # Step 8: the canonical N-Quads sorted by Unicode code point, each ending
    # "\n". Split on "\n" only: literals may hold U+0085 or U+2028 raw.
    lines = text.decode("utf-8").split("\n")
    return "".join(line + "\n" for line in sorted(lines[:-1]))


# --- public API -------------------------------------------------------------------------------


def expand(document: Mapping[str, Any], *, safe: bool = True) -> list[Any]:
    """JSON-LD 1.1 expansion with the bundled contexts only.

    In safe mode (the default) undefined terms, types and relative IRIs are
    refused instead of dropped. The result is pyld's expanded form.
    """
    expanded = _expand(document, safe=safe)
    _Prepare(safe=safe).element(expanded)
    return expanded


def canonicalize(document: Mapping[str, Any], *, safe: bool = True) -> str:
    """Return the RDFC-1.0 canonical N-Quads of a JSON-LD document.

    RDF-CANON §4.4: blank nodes are relabelled ``_:c14n<n>``; the quads are
    serialised in canonical N-Quads form and sorted by code point, each line
    ending with ``\\n``. This is the string VC-DI-EDDSA §3.3.3 and
    VC-DI-ECDSA §3.3.3 hash. ``safe=False`` drops undefined terms silently, as
    JSON-LD processors do by default (only for verifying legacy proofs).
    """
    key = _cache_key(document, safe)
    if key is not None:
        with _CANONICAL_FORMS_LOCK:
            cached = _CANONICAL_FORMS.get(key)
        if cached is not None:
            return cached
    expanded = _expand(document, safe=safe)
    prepared = _Prepare(safe=safe).element(expanded)
    result = _canonical_nquads(_dataset_from_expanded(prepared))
    if key is not None:
        with _CANONICAL_FORMS_LOCK:
            _CANONICAL_FORMS[key] = result
    return result


def _cache_key(document: Mapping[str, Any], safe: bool) -> tuple[bytes, bool] | None:
    try:
        canonical_json = jcs_canonicalize(document)
    except DIDAgentsError:
        return None  # no RFC 8785 form (e.g. a huge integer): compute, do not cache
    return hashlib.sha256(canonical_json).digest(), safe
