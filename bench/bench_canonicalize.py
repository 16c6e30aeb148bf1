"""Canonicalization cost per credential: our RDFC-1.0 pipeline vs pyld vs pyoxigraph vs JCS.

Run: ``.venv/bin/python -m bench.bench_canonicalize`` (or ``python -m bench``).

Rows are medians in µs of CPU time per call over the JSON-LD corpus of
``tests/vectors/jsonld/corpus`` plus the VC-DI-EDDSA B.1 credential, with warm
caches (processed contexts), as in a running verifier. No pass/fail.

* ``did_agents RDFC-1.0``: ``did_agents.jsonld.canonicalize`` on a document
  not seen before (its result cache cleared every call): pyld expansion with
  safe-mode checks, pyoxigraph toRdf + RDFC-1.0;
* ``  of which expansion``: ``did_agents.jsonld.expand`` (pyld + safe-mode checks);
* ``  repeated document``: the same call for a document already canonicalized
  (a verifier sees the same delegation chain at every exchange): JCS + SHA-256
  + a cache lookup;
* ``pyld normalize``: pyld alone (expansion + toRdf + URDNA2015), no safe mode;
* ``pyoxigraph alone``: pyoxigraph's own JSON-LD processing with the contexts
  embedded (it cannot load them) + RDFC-1.0; not JSON-LD-conformant for some
  literals (see tests/jsonld/test_engine_equality.py), shown for scale;
* ``JCS (RFC 8785)``: ``did_agents.jcs.canonicalize``, the eddsa-jcs-2022 transform.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from pyld import jsonld

from did_agents.jcs import canonicalize as jcs_canonicalize
from did_agents.jsonld import canonicalize, document_loader, expand, get_context
from did_agents.jsonld.canonicalize import _CANONICAL_FORMS, _CANONICAL_FORMS_LOCK

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "tests" / "vectors"
ROUNDS = 15
REPEAT = 10


def _corpus() -> list[tuple[str, dict[str, Any]]]:
    paths = [
        *sorted((VECTORS / "jsonld" / "corpus").glob("*.json")),
        VECTORS / "vc-di-eddsa" / "rdfc" / "signed.json",
    ]
    return [(path.stem, json.loads(path.read_text("utf-8"))) for path in paths]


def _pyld_normalize(document: dict[str, Any]) -> str:
    options = {
        "algorithm": "URDNA2015",
        "format": "application/n-quads",
        "documentLoader": document_loader,
        "base": None,
    }
    result = jsonld.normalize(document, options)
    assert isinstance(result, str)
    return result


def _inline(value: Any) -> Any:
    if isinstance(value, list):
        return [_inline(item) for item in value]
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            if key == "@context":
                contexts = item if isinstance(item, list) else [item]
                result[key] = [get_context(c)["@context"] if isinstance(c, str) else c for c in contexts]
            else:
                result[key] = _inline(item)
        return result
    return value


def _pyoxigraph_alone(document: dict[str, Any]) -> bytes:
    text = json.dumps(_inline(document))
    dataset = ox.Dataset(ox.parse(text, format=ox.RdfFormat.JSON_LD))
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    result = ox.serialize(dataset, format=ox.RdfFormat.N_QUADS)
    assert isinstance(result, bytes)
    return result


def _canonicalize_uncached(document: dict[str, Any]) -> str:
    with _CANONICAL_FORMS_LOCK:
        _CANONICAL_FORMS.clear()
    return canonicalize(document)


def _time_once(operation: Callable[[dict[str, Any]], object], docs: list[dict[str, Any]]) -> float:
    for document in docs:
        operation(document)  # warm (and, for "repeated document", fill the cache)
    # CPU time of this process: less sensitive than wall time to other load.
    started = time.process_time()
    for _ in range(REPEAT):
        for document in docs:
            operation(document)
    return (time.process_time() - started) / (REPEAT * len(docs)) * 1e6


def main() -> None:
    corpus = _corpus()
    docs = [document for _, document in corpus]
    rows: list[tuple[str, Callable[[dict[str, Any]], object]]] = [
        ("did_agents RDFC-1.0", _canonicalize_uncached),
        ("  of which expansion", expand),
        ("  repeated document", canonicalize),
        ("pyld normalize", _pyld_normalize),
        ("pyoxigraph alone", _pyoxigraph_alone),
        ("JCS (RFC 8785)", jcs_canonicalize),
    ]
    for _, operation in rows:
        for document in docs:
            operation(document)  # warm caches (processed contexts)
    # Each round times every operation back to back; ratios are taken within a
    # round, since a shared machine's load changes between rounds.
    samples: dict[str, list[float]] = {name: [] for name, _ in rows}
    ratios = []
    for _ in range(ROUNDS):
        for name, operation in rows:
            samples[name].append(_time_once(operation, docs))
        ratios.append(samples["pyld normalize"][-1] / samples["did_agents RDFC-1.0"][-1])
    print(f"{len(docs)} documents ({', '.join(name for name, _ in corpus)})")
    print(f"{'operation':<24} {'median µs/document':>20}")
    for name, _ in rows:
        print(f"{name:<24} {statistics.median(samples[name]):>20.0f}")
    print(
        f"pyld normalize / did_agents RDFC-1.0 (median of per-round ratios) = {statistics.median(ratios):.2f}"
    )


if __name__ == "__main__":
    main()
