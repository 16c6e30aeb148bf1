"""RDFC-1.0 work limits (RDF-CANON §7 Security Considerations, SECURITY "bounded inputs").

Hash N-Degree Quads (RDF-CANON §4.8) is exponential on symmetric graphs. The
limit is the one rdf-canonize (the reference implementation) applies by
default: as many deep iterations as there are blank nodes sharing a
first-degree hash. Cross-checked against rdf-canonize 5.0.0 while writing
these tests: it refuses and accepts the same trees.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from did_agents.errors import InputTooLargeError, MalformedError
from did_agents.jsonld import CONTEXTS_V2, DID_AGENTS_V1, canonicalize

CONTEXT = {"p": "https://example.org/#p", "q": "https://example.org/#q"}


def _tree(depth: int, fan: int) -> dict[str, Any]:
    if depth == 0:
        return {"q": "leaf"}
    return {"p": [_tree(depth - 1, fan) for _ in range(fan)]}


# (3, 1): a chain of three anonymous nodes on one predicate already needs more
# deep iterations than it has shared-hash nodes; rdf-canonize refuses it too.
@pytest.mark.parametrize(("depth", "fan"), [(2, 2), (6, 3), (3, 10), (3, 1)])
def test_identical_branching_subtrees_are_refused_quickly(depth: int, fan: int) -> None:
    started = time.perf_counter()
    for safe in (True, False):
        with pytest.raises(InputTooLargeError) as info:
            canonicalize({"@context": CONTEXT, **_tree(depth, fan)}, safe=safe)
        assert info.value.reason == "too_complex"
    assert time.perf_counter() - started < 2.0


@pytest.mark.parametrize(("depth", "fan"), [(1, 2), (1, 30), (2, 1)])
def test_identical_leaves_and_chains_stay_within_the_limit(depth: int, fan: int) -> None:
    result = canonicalize({"@context": CONTEXT, **_tree(depth, fan)})
    assert result.count("\n") > 0


def test_many_identical_capabilities_are_accepted() -> None:
    capability = {"resource": "https://mcp.example/", "scopes": ["orders:read"]}
    document = {
        "@context": [CONTEXTS_V2, DID_AGENTS_V1],
        "type": ["VerifiableCredential", "DelegationCredential"],
        "issuer": "did:example:user",
        "credentialSubject": {"capabilities": [dict(capability) for _ in range(50)]},
    }
    assert canonicalize(document).count("#capabilities>") == 50


@pytest.mark.parametrize("safe", [True, False])
def test_explicit_blank_node_identifiers_are_refused(safe: bool) -> None:
    # Labels are what make blank-node cycles (cliques are RDFC poison).
    document = {
        "@context": CONTEXT,
        "@id": "_:a",
        "p": [{"@id": "_:b", "p": {"@id": "_:a"}}, {"@id": "_:c", "p": {"@id": "_:b"}}],
    }
    with pytest.raises(MalformedError) as info:
        canonicalize(document, safe=safe)
    assert info.value.reason == "malformed"


def test_blank_node_types_are_refused() -> None:
    with pytest.raises(MalformedError):
        canonicalize({"@context": CONTEXT, "@type": "_:t", "q": "x"})
