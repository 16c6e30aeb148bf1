"""The static document loader: bundled contexts only (DESIGN §4, SECURITY SEC-30)."""

from __future__ import annotations

import hashlib
import re
from importlib import resources

import pytest

from did_agents.errors import VerificationError
from did_agents.jsonld import (
    CONTEXTS_V2,
    DID_AGENTS_V1,
    KNOWN_CONTEXTS,
    document_loader,
    get_context,
)

CONTEXTS_DIR = resources.files("did_agents.jsonld").joinpath("contexts")
_ROW = re.compile(
    r"^\| (?P<file>[\w.-]+\.jsonld) \| (?P<url>\S+) \| (?P<source>[^|]+) \| (?P<path>[^|]+) \| "
    r"(?P<sha256>[0-9a-f]{64}) \|$"
)


def _sources() -> dict[str, dict[str, str]]:
    rows = {}
    for line in CONTEXTS_DIR.joinpath("SOURCES.md").read_text("utf-8").splitlines():
        match = _ROW.match(line)
        if match:
            rows[match["file"]] = match.groupdict()
    return rows


SOURCES = _sources()


def test_sources_md_lists_exactly_the_bundled_files() -> None:
    on_disk = {p.name for p in CONTEXTS_DIR.iterdir() if p.name.endswith(".jsonld")}
    assert set(SOURCES) == on_disk == set(KNOWN_CONTEXTS.values())


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_bundled_context_sha256_matches_sources_md(name: str) -> None:
    data = CONTEXTS_DIR.joinpath(name).read_bytes()
    assert hashlib.sha256(data).hexdigest() == SOURCES[name]["sha256"]


@pytest.mark.parametrize("url", sorted(KNOWN_CONTEXTS))
def test_each_url_is_served_from_the_file_sources_md_names(url: str) -> None:
    name = KNOWN_CONTEXTS[url]
    assert SOURCES[name]["url"] == url
    assert "@context" in get_context(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/context.jsonld",
        "http://www.w3.org/ns/credentials/v2",  # http, not https
        "https://www.w3.org/ns/credentials/v2/",  # trailing slash
        "https://www.w3.org/ns/credentials/V2",
        "http://169.254.169.254/latest/meta-data/",
        "file:///etc/passwd",
        "https://www.w3.org/ns/credentials/undefined-terms/v2",
        "",
    ],
)
def test_unknown_context_url_is_refused(url: str) -> None:
    with pytest.raises(VerificationError) as info:
        get_context(url)
    assert info.value.reason == "unknown_context"
    with pytest.raises(VerificationError) as info:
        document_loader(url, {})
    assert info.value.reason == "unknown_context"


def test_get_context_returns_an_independent_copy() -> None:
    first = get_context(CONTEXTS_V2)
    first["@context"]["name"] = "https://evil.example/#name"
    first["@context"].clear()
    assert get_context(CONTEXTS_V2)["@context"]["name"] == "https://schema.org/name"


def test_document_loader_returns_a_pyld_remote_document() -> None:
    remote = document_loader(DID_AGENTS_V1, {"headers": {}})
    assert remote["documentUrl"] == DID_AGENTS_V1
    assert remote["contextUrl"] is None
    assert remote["document"] == get_context(DID_AGENTS_V1)
    assert remote["document"]["@context"]["@protected"] is True
