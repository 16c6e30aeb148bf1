"""The capability algebra (DESIGN §4, SECURITY SEC-37/SEC-38): parsing, covering, intersection."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from did_agents.delegation.capabilities import (
    Capability,
    capabilities_to_json,
    covers,
    effective_scopes,
    grants,
    intersect,
    normalize,
    parse_capabilities,
    parse_resource,
    parse_scope,
    parse_scope_parameter,
    resource_covers,
    scope_covers,
    scopes_on,
)
from did_agents.errors import InvalidScopeError, MalformedError

MCP = "https://mcp.urbanbites.example/mcp"


# -- scope grammar (RFC 6749 §3.3) -----------------------------------------------------------


@pytest.mark.parametrize(
    "scope", ["orders:read", "orders:*", "orders:read:own", "orders:read:*", "a-b.c_d:x/y"]
)
def test_scope_grammar_accepts(scope: str) -> None:
    assert parse_scope(scope) == scope


@pytest.mark.parametrize(
    "scope",
    [
        "",
        "*",
        "orders",
        "orders:",
        ":read",
        "orders::read",
        "orders:re*d",
        "ord*:read",
        "*:read",
        "orders:*:read",
        "orders:read ",
        "orders read",
        "orders:re\u0430d",  # Cyrillic а (SEC-38 look-alike)
        "orders:read\x00",
        "orders:read\t",
        'orders:"read"',
        "orders:re\\ad",
        "orders:" + "r" * 128,
    ],
)
def test_scope_grammar_refuses(scope: str) -> None:
    with pytest.raises(MalformedError) as info:
        parse_scope(scope)
    assert info.value.reason == "malformed_scope"


def test_scope_must_be_string() -> None:
    with pytest.raises(MalformedError):
        parse_scope(42)


def test_scope_parameter_space_delimited() -> None:
    assert parse_scope_parameter("orders:read orders:create") == {"orders:read", "orders:create"}
    assert parse_scope_parameter(None) == frozenset()
    assert parse_scope_parameter("") == frozenset()


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("orders:read  orders:create", "malformed_scope"),
        (" orders:read", "malformed_scope"),
        ("orders:read\u00a0orders:create", "malformed_scope"),  # SEC-20 non-ASCII separator
        ("orders:*", "wildcard_scope"),  # SEC-20 tools:*
        (" ".join(f"s:{i}" for i in range(10_000)), "too_many_scopes"),  # SEC-20 10 000 scopes
    ],
)
def test_scope_parameter_refuses(value: str, reason: str) -> None:
    with pytest.raises(InvalidScopeError) as info:
        parse_scope_parameter(value)
    assert info.value.reason == reason


# -- scope covering: ':' boundary, exact code points (SEC-38) ---------------------------------


@pytest.mark.parametrize(
    ("parent", "child", "expected"),
    [
        ("orders:read", "orders:read", True),
        ("orders:*", "orders:read", True),
        ("orders:*", "orders:read:own", True),
        ("orders:*", "orders:read:*", True),
        ("orders:read:*", "orders:read:own", True),
        ("orders:*", "ordersx:read", False),
        ("orders:read", "orders:readwrite", False),
        ("tools:read", "tools:read/", False),
        ("tools:read", "TOOLS:READ", False),
        ("orders:read", "orders:*", False),
        ("orders:read:*", "orders:*", False),
        ("orders:read:*", "orders:read", False),
        ("files:/home/u", "files:/home/u2", False),
    ],
)
def test_scope_covers_at_colon_boundary(parent: str, child: str, expected: bool) -> None:
    assert scope_covers(parent, child) is expected


# -- resources -------------------------------------------------------------------------------


def test_resource_scheme_and_host_case_insensitive() -> None:
    assert parse_resource("HTTPS://MCP.UrbanBites.Example/mcp") == MCP
    assert parse_resource("https://mcp.urbanbites.example/MCP") != MCP


@pytest.mark.parametrize(
    "value",
    [
        "https://a.example/mcp/./x",
        "https://a.example/mcp/../x",
        "https://a.example/mcp/%2e%2e/x",
        "https://a.example/mcp/%2E%2E/x",
        "https://a.example/mcp%2Fx",
        "https://a.example/mcp%5cx",
        "https://a.example/mcp\\x",
        "https://a.example/mcp//x",
        "https://a.example/mcp#frag",
        "https://a.example/mcp?x=1",
        "https://user@a.example/mcp",
        "https://a.example:0/mcp",
        "https://a.example:99999/mcp",
        "https://a.example:/mcp",
        "https://a..example/mcp",
        "https://a.example/m%zz",
        "https://аpple.example/mcp",  # Cyrillic а
        "https://a.example/mcp x",
        "mcp-a",
        "/mcp",
        "ftp://a.example/mcp",
        "https:a.example/mcp",
        "https:///mcp",
        "https://[::1/mcp",
        "",
        "https://a.example/" + "x" * 2048,
        "*",
    ],
)
def test_resource_refuses(value: str) -> None:
    with pytest.raises(MalformedError) as info:
        parse_resource(value)
    assert info.value.reason == "malformed_resource"


@pytest.mark.parametrize(
    ("parent", "child", "expected"),
    [
        ("https://a.example/mcp/", "https://a.example/mcp/x", True),
        ("https://a.example/mcp/", "https://a.example/mcp/", True),
        ("https://a.example/mcp/", "https://a.example/mcp/x/", True),
        ("https://a.example/mcp/", "https://a.example/mcpx", False),
        ("https://a.example/mcp/", "https://a.example/mcp", False),
        ("https://a.example/mcp", "https://a.example/mcp/x", False),
        ("https://a.example/", "https://a.example.evil/x", False),
        ("https://a.example/", "https://a.example:8443/x", False),
        ("https://a.example/crypto/", "https://a.example/cryptocurrency", False),
        ("https://a.example/x/", "https://a.example/x", False),
        ("http://a.example/", "https://a.example/x", False),
    ],
)
def test_resource_prefix_at_segment_boundary(parent: str, child: str, expected: bool) -> None:
    assert resource_covers(parse_resource(parent), parse_resource(child)) is expected


# -- capabilities claim ------------------------------------------------------------------------


def test_parse_capabilities_normalizes() -> None:
    caps = parse_capabilities(
        [
            {"resource": MCP, "scopes": ["orders:read", "orders:*"]},
            {"resource": MCP, "scopes": ["menu:read"]},
        ]
    )
    assert caps == (Capability(MCP, frozenset({"orders:*", "menu:read"})),)
    assert capabilities_to_json(caps) == [{"resource": MCP, "scopes": ["menu:read", "orders:*"]}]


@pytest.mark.parametrize(
    "value",
    [
        {"resource": MCP, "scopes": ["a:b"]},
        [],
        [{"resource": MCP}],
        [{"resource": MCP, "scopes": []}],
        [{"resource": MCP, "scopes": "orders:read"}],
        [{"resource": MCP, "scopes": ["orders:read"], "path": "/home/u/*"}],  # SEC-37 unknown caveat
        ["orders:read"],
        [{"resource": MCP, "scopes": [f"s:{i}" for i in range(65)]}],
        [{"resource": f"{MCP}{i}", "scopes": ["a:b"]} for i in range(33)],
    ],
)
def test_parse_capabilities_refuses(value: object) -> None:
    with pytest.raises(MalformedError):
        parse_capabilities(value)


def test_parse_capabilities_refuses_bad_members() -> None:
    with pytest.raises(MalformedError) as info:
        parse_capabilities([{"resource": "*", "scopes": ["a:b"]}])
    assert info.value.reason == "malformed_resource"
    with pytest.raises(MalformedError) as info:
        parse_capabilities([{"resource": MCP, "scopes": ["*"]}])
    assert info.value.reason == "malformed_scope"


# -- set algebra: examples -------------------------------------------------------------------


def test_covers_needs_every_pair() -> None:
    parent = (Capability(MCP, frozenset({"orders:read", "orders:create"})),)
    assert covers(parent, (Capability(MCP, frozenset({"orders:read"})),))
    assert not covers(parent, (Capability(MCP, frozenset({"orders:read", "orders:delete"})),))
    assert not covers(parent, (Capability("https://mcp.urbanbites.example/", frozenset({"orders:read"})),))


def test_covers_across_capabilities() -> None:
    parent = (
        Capability("https://a.example/", frozenset({"x:a"})),
        Capability("https://a.example/mcp", frozenset({"x:b"})),
    )
    assert covers(parent, (Capability("https://a.example/mcp", frozenset({"x:a", "x:b"})),))


def test_intersect_mixes_resource_and_scope_narrowing() -> None:
    a = (Capability("https://a.example/mcp/", frozenset({"n:*"})),)
    b = (Capability("https://a.example/", frozenset({"n:read", "m:read"})),)
    assert intersect(a, b) == (Capability("https://a.example/mcp/", frozenset({"n:read"})),)


def test_effective_scopes_example() -> None:
    agent = (Capability(MCP, frozenset({"orders:read", "orders:create"})),)
    user = (Capability("https://mcp.urbanbites.example/", frozenset({"orders:*", "menu:read"})),)
    assert effective_scopes(MCP, agent, user, ["orders:read"]) == {"orders:read"}
    assert effective_scopes(MCP, agent, user, ["orders:delete"]) == frozenset()
    assert effective_scopes("https://other.example/mcp", agent, user) == frozenset()
    assert effective_scopes(MCP) == frozenset()


# -- set algebra: properties -----------------------------------------------------------------

_segments = st.sampled_from(["a", "ab", "b"])
_actions = st.lists(st.sampled_from(["x", "xy", "y"]), min_size=1, max_size=2)
_concrete_scope = st.builds(lambda ns, rest: ":".join([ns, *rest]), _segments, _actions)
_wildcard_scope = st.builds(
    lambda ns, rest: ":".join([ns, *rest, "*"]), _segments, st.lists(st.sampled_from(["x", "y"]), max_size=1)
)
_scope = st.one_of(_concrete_scope, _wildcard_scope)
_hosts = st.sampled_from(["h.example", "g.example"])
_paths = st.lists(st.sampled_from(["m", "mx", "n"]), min_size=1, max_size=3)
_exact_resource = st.builds(lambda host, segs: f"https://{host}/" + "/".join(segs), _hosts, _paths)
_prefix_resource = st.builds(
    lambda host, segs: f"https://{host}/" + "".join(f"{s}/" for s in segs),
    _hosts,
    st.lists(st.sampled_from(["m", "mx", "n"]), max_size=2),
)
_resource = st.one_of(_exact_resource, _prefix_resource)
_capability = st.builds(Capability, _resource, st.frozensets(_scope, min_size=1, max_size=3))
_capset = st.lists(_capability, min_size=0, max_size=4).map(tuple)
_points = st.lists(st.tuples(_exact_resource, _concrete_scope), min_size=1, max_size=12)


@settings(deadline=None, max_examples=60)
@given(_capset)
def test_property_covers_reflexive(a: tuple[Capability, ...]) -> None:
    assert covers(a, a)
    assert covers(a, normalize(a)) and covers(normalize(a), a)


@settings(deadline=None, max_examples=60)
@given(_capset, _capset, _capset)
def test_property_covers_transitive(
    a: tuple[Capability, ...], b: tuple[Capability, ...], c: tuple[Capability, ...]
) -> None:
    ab = intersect(a, b)
    abc = intersect(ab, c)
    assert covers(a, ab) and covers(ab, abc) and covers(a, abc)
    if covers(a, b) and covers(b, c):
        assert covers(a, c)


@settings(deadline=None, max_examples=60)
@given(_capset, _capset)
def test_property_intersect_commutative(a: tuple[Capability, ...], b: tuple[Capability, ...]) -> None:
    assert intersect(a, b) == intersect(b, a)


@settings(deadline=None, max_examples=60)
@given(_capset)
def test_property_intersect_idempotent(a: tuple[Capability, ...]) -> None:
    assert intersect(a, a) == normalize(a)
    assert intersect(intersect(a, a), a) == normalize(a)


@settings(deadline=None, max_examples=60)
@given(_capset, _capset, _points)
def test_property_intersect_is_exactly_the_common_grants(
    a: tuple[Capability, ...], b: tuple[Capability, ...], points: list[tuple[str, str]]
) -> None:
    ab = intersect(a, b)
    assert covers(a, ab) and covers(b, ab)
    for resource, scope in points:
        assert grants(ab, resource, scope) == (grants(a, resource, scope) and grants(b, resource, scope))


@settings(deadline=None, max_examples=60)
@given(_capset, _points)
def test_property_normalize_keeps_grants(a: tuple[Capability, ...], points: list[tuple[str, str]]) -> None:
    n = normalize(a)
    assert normalize(n) == n
    for resource, scope in points:
        assert grants(n, resource, scope) == grants(a, resource, scope)


@settings(deadline=None, max_examples=60)
@given(
    _capset,
    st.lists(st.tuples(st.booleans(), _capset), min_size=1, max_size=6),
    _exact_resource,
    st.frozensets(_concrete_scope, max_size=4),
)
def test_property_attenuation_bounded_by_every_link(
    root: tuple[Capability, ...],
    steps: list[tuple[bool, tuple[Capability, ...]]],
    resource: str,
    request: frozenset[str],
) -> None:
    """For any chain (attenuating or not), the effective scopes are ⊆ every link and ⊆ the request."""
    links = [root]
    for attenuate, other in steps:
        links.append(intersect(links[-1], other) if attenuate else other)
    effective = effective_scopes(resource, *links, request)
    for link in links:
        granted = scopes_on(resource, link)
        assert all(any(scope_covers(g, s) for g in granted) for s in effective)
    assert all(any(scope_covers(r, s) for r in request) for s in effective)
    # and every concrete requested scope that every link grants is in the result
    for scope in request:
        if all(grants(link, resource, scope) for link in links):
            assert scope in effective


def test_memoized_set_operations_accept_capabilities_built_with_plain_sets() -> None:
    # Capability sets are memoized by value; one built with a (mutable, unhashable) set of
    # scopes is still computed, just not remembered.
    loose = (Capability("https://mcp.example/", {"orders:read", "orders:create"}),)  # type: ignore[arg-type]
    frozen = (Capability("https://mcp.example/", frozenset({"orders:read"})),)
    assert intersect(loose, frozen) == frozen
    assert scopes_on("https://mcp.example/orders", loose) == {"orders:read", "orders:create"}
