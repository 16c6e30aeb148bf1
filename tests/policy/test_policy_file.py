"""The verifier policy file (docs/policy.md): parsing, validation errors with key paths, lookups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from did_agents.delegation.capabilities import Capability
from did_agents.errors import ConfigurationError, InvalidTargetError
from did_agents.policy import ALL_FORMATS, load_policy, parse_policy

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "policy.toml"
MCP = "https://mcp.urbanbites.example/mcp"

MINIMAL = """
version = 1
[[trusted_issuers]]
did = "did:web:issuer.urbanbites.example"
scopes = ["orders:*"]
[[resources]]
url = "https://mcp.urbanbites.example/mcp"
"""


def test_example_policy_loads() -> None:
    policy = load_policy(EXAMPLE)
    ordering = policy.resource_policy(MCP)
    assert ordering.mode == "intersection"
    assert ordering.require_role_credential is True
    assert ordering.scopes == ("orders:read", "orders:create", "orders:delete", "menu:read")
    assert policy.resource_policy("urbanbites-ordering") is ordering
    assert policy.resource_policy("https://mcp.urbanbites.example/menu").mode == "union"
    assert policy.resource_policy("https://mcp.urbanbites.example/reports").allowed_scopes == (
        "reports:read",
    )
    assert policy.limits.max_chain_length == 8


def test_defaults() -> None:
    policy = parse_policy(MINIMAL)
    entry = policy.resource_policy(MCP)
    assert entry.mode == "intersection"
    assert entry.max_token_lifetime == 300
    assert entry.allowed_formats == ALL_FORMATS
    assert entry.require_role_credential is False
    assert (policy.limits.max_chain_length, policy.limits.max_credentials) == (8, 32)


def test_resource_lookup_normalizes_scheme_and_host() -> None:
    policy = parse_policy(MINIMAL)
    assert policy.resource_policy("HTTPS://MCP.UrbanBites.example/mcp").url == MCP


@pytest.mark.parametrize(
    "resource",
    [
        "https://mcp.urbanbites.example/mcp/",
        "https://mcp.urbanbites.example/mcpx",
        "mcp-a",
        "*",
        MCP + "#frag",
    ],
)
def test_unconfigured_resource_is_invalid_target(resource: str) -> None:
    with pytest.raises(InvalidTargetError) as info:
        parse_policy(MINIMAL).resource_policy(resource)
    assert info.value.reason == "resource_not_configured"


def _invalid(text: str) -> str:
    with pytest.raises(ConfigurationError) as info:
        parse_policy(text, source="policy.toml")
    assert info.value.reason == "invalid_policy"
    return info.value.description


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            '\nmode = "everything"',
            "policy.toml: resources[0].mode: Input should be 'intersection', 'union' or 'subset'",
        ),
        ("\ncolour = 1", "policy.toml: resources[0].colour: Extra inputs are not permitted"),
        ('\nmax_token_lifetime = "300"', "resources[0].max_token_lifetime: Input should be a valid integer"),
        (
            "\nmax_token_lifetime = 0",
            "resources[0].max_token_lifetime: Input should be greater than or equal to 1",
        ),
        (
            '\nrequire_role_credential = "yes"',
            "resources[0].require_role_credential: Input should be a valid boolean",
        ),
        ('\nallowed_formats = ["eddsa-2022"]', "resources[0].allowed_formats[0]: Input should be"),
        ("\nallowed_formats = []", "resources[0].allowed_formats: "),
        ('\nmode = "subset"', "resources[0]: mode 'subset' needs `allowed_scopes`"),
        (
            '\nallowed_scopes = ["orders:read"]',
            "resources[0]: `allowed_scopes` is only used with mode 'subset'",
        ),
        ('\nmode = "union"', "resources[0]: mode 'union' needs `require_role_credential = true`"),
        ('\nscopes = ["orders:*"]', "resources[0].scopes: list the concrete scopes"),
        ('\nscopes = ["orders"]', "resources[0].scopes: scope 'orders' is not of the form ns:action"),
        ('\nscopes = ["orders:read", "orders:read"]', "resources[0].scopes: duplicate scope"),
        (
            '\nmode = "subset"\nscopes = ["orders:read"]\nallowed_scopes = ["orders:create"]',
            "resources[0]: `allowed_scopes` not in `scopes`: ['orders:create']",
        ),
        ('\naudiences = ["has space"]', "resources[0].audiences: audience alias 'has space'"),
    ],
)
def test_resource_errors_name_the_key_path(extra: str, expected: str) -> None:
    assert expected in _invalid(MINIMAL + extra)


def test_bad_resource_url_named() -> None:
    text = MINIMAL.replace(
        'url = "https://mcp.urbanbites.example/mcp"', 'url = "https://mcp.urbanbites.example/a/../mcp"'
    )
    assert "resources[0].url: resource has a dot segment" in _invalid(text)


@pytest.mark.parametrize(
    ("issuer", "expected"),
    [
        (
            'did = "issuer.urbanbites.example"\nscopes = ["orders:*"]',
            "trusted_issuers[0].did: not a valid DID",
        ),
        ('did = "did:web:a.example#key-1"\nscopes = ["orders:*"]', "trusted_issuers[0].did: not a valid DID"),
        (
            'did = "did:web:a.example"',
            "trusted_issuers[0]: a trusted issuer needs `scopes` and/or `resources`",
        ),
        (
            'did = "did:web:a.example"\nscopes = ["*"]',
            "trusted_issuers[0].scopes: scope '*' is not of the form",
        ),
        ('did = "did:web:a.example"\nresources = ["*"]', "trusted_issuers[0].resources: resource must be"),
        (
            'did = "did:web:a.example"\nscopes = ["orders:*"]\ntrust = "all"',
            "trusted_issuers[0].trust: Extra inputs",
        ),
    ],
)
def test_issuer_errors_name_the_key_path(issuer: str, expected: str) -> None:
    text = f'version = 1\n[[trusted_issuers]]\n{issuer}\n[[resources]]\nurl = "{MCP}"\n'
    assert expected in _invalid(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("version = 2\n" + MINIMAL.replace("version = 1\n", ""), "policy.toml: version: Input should be 1"),
        ("version = 1\ntrusted_issuers = []\nresources = []", "`trusted_issuers` is empty"),
        (MINIMAL + '\n[[resources]]\nurl = "https://MCP.urbanbites.example/mcp"', "configured twice"),
        (
            MINIMAL.replace(
                "[[resources]]",
                '[[trusted_issuers]]\ndid = "did:web:issuer.urbanbites.example"\nscopes = ["a:*"]\n[[resources]]',
            ),
            "listed twice",
        ),
        (
            MINIMAL + "\n[limits]\nmax_chain_length = 1000",
            "limits.max_chain_length: Input should be less than or equal to 32",
        ),
        (MINIMAL + "\n[limits]\nmax_depth = 2", "limits.max_depth: Extra inputs are not permitted"),
        ("version = 1\n[[trusted_issuers]\n", "not valid TOML"),
    ],
)
def test_document_errors(text: str, expected: str) -> None:
    assert expected in _invalid(text)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as info:
        load_policy(tmp_path / "missing.toml")
    assert info.value.reason == "invalid_policy"


def test_issuer_vouches_only_for_its_namespaces() -> None:
    policy = load_policy(EXAMPLE)
    claimed = (
        Capability(MCP, frozenset({"orders:*", "payments:charge"})),
        Capability("https://mcp.urbanbites.example/", frozenset({"menu:read"})),
        Capability("https://mcp.payments.example/mcp", frozenset({"payments:charge"})),
    )
    assert policy.vouch("did:web:issuer.urbanbites.example", claimed) == (
        Capability("https://mcp.urbanbites.example/", frozenset({"menu:read"})),
        Capability(MCP, frozenset({"orders:*"})),
    )
    assert policy.vouch("did:web:agents.payments.example", claimed) == (
        Capability("https://mcp.payments.example/mcp", frozenset({"payments:charge"})),
    )
    assert policy.vouch("did:web:stranger.example", claimed) == ()
    assert not policy.is_trusted_issuer("did:web:stranger.example")


def test_issuer_vouch_narrows_prefixes() -> None:
    policy = load_policy(EXAMPLE)
    wide = (Capability("https://mcp.urbanbites.example/", frozenset({"orders:read"})),)
    narrowed = policy.vouch(
        "did:web:agents.payments.example", (Capability("https://mcp.payments.example/", frozenset({"p:x"})),)
    )
    assert narrowed == (Capability("https://mcp.payments.example/", frozenset({"p:x"})),)
    assert policy.vouch("did:web:agents.payments.example", wide) == ()


def test_token_expiry_is_bounded_by_lifetime_and_chain() -> None:
    entry = parse_policy(MINIMAL).resource_policy(MCP)
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert entry.token_expiry(now, None) == now + timedelta(seconds=300)
    assert entry.token_expiry(now, now + timedelta(seconds=30)) == now + timedelta(seconds=30)
