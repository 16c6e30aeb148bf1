"""did:web (W3C CCG did:web Method Specification): mapping, identifier rules, resolution.

Resolution runs against a real HTTPS server (uvicorn on 127.0.0.1 with a
throw-away CA); the fetcher trusts that CA and is allowed to reach 127.0.0.1
only where a test says so. SECURITY SEC-47..SEC-51.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from did_agents.did.resolver import DIDResolver
from did_agents.did.web import WebDID, WebResolver, did_for_url, document_url, parse
from did_agents.errors import MalformedError, ResolutionError
from did_agents.fetch import FetchSettings, GuardedFetcher
from did_agents.keys import PublicKey, generate
from tests.servers import StaticResolver, StubApp, client_ssl_context, run_server, static, trickle

HOST = "did-agents.test"  # in the test certificate; resolved only by StaticResolver

# -- §Read (Resolve): DID → URL, with the spec's own examples -------------------------------------

SPEC_EXAMPLES = [
    ("did:web:w3c-ccg.github.io", "https://w3c-ccg.github.io/.well-known/did.json"),
    ("did:web:w3c-ccg.github.io:user:alice", "https://w3c-ccg.github.io/user/alice/did.json"),
    ("did:web:example.com%3A3000", "https://example.com:3000/.well-known/did.json"),
    ("did:web:example.com%3A3000:user:alice", "https://example.com:3000/user/alice/did.json"),
    ("did:web:example.com:u:bob", "https://example.com/u/bob/did.json"),
    ("did:web:localhost%3A8443", "https://localhost:8443/.well-known/did.json"),
    ("did:web:agents.example.com:agents:a-1_b.c", "https://agents.example.com/agents/a-1_b.c/did.json"),
]


@pytest.mark.parametrize(("did", "url"), SPEC_EXAMPLES)
def test_did_maps_to_the_document_url(did: str, url: str) -> None:
    assert document_url(did) == url


@pytest.mark.parametrize(("did", "url"), SPEC_EXAMPLES)
def test_document_url_maps_back_to_the_did(did: str, url: str) -> None:
    assert did_for_url(url) == did


@pytest.mark.parametrize(
    ("url", "did"),
    [
        ("https://example.com", "did:web:example.com"),
        ("https://example.com/", "did:web:example.com"),
        ("https://Example.COM/.well-known/did.json", "did:web:example.com"),
        ("https://example.com:8443/", "did:web:example.com%3A8443"),
        ("https://example.com/user/alice", "did:web:example.com:user:alice"),
        ("https://example.com/user/alice/", "did:web:example.com:user:alice"),
    ],
)
def test_base_urls_map_to_the_did(url: str, did: str) -> None:
    assert did_for_url(url) == did


def test_lower_case_percent_encoded_port_is_accepted() -> None:
    assert parse("did:web:example.com%3a3000") == WebDID("example.com", 3000, ())


def test_idn_hosts_need_opting_in() -> None:
    did = "did:web:xn--exmple-cua.com"
    with pytest.raises(ResolutionError):
        parse(did)
    assert document_url(did, allow_idn=True) == "https://xn--exmple-cua.com/.well-known/did.json"


INVALID_DIDS = {
    # §Method-specific identifier: "MUST NOT include IP addresses" (SEC-47)
    "ipv4": "did:web:127.0.0.1",
    "ipv4 with port": "did:web:10.0.0.5%3A6379",
    "metadata ip": "did:web:169.254.169.254",
    "ipv4 as one number": "did:web:2130706433",
    "ipv4 in hex": "did:web:0x7f.1",
    "ipv6": "did:web:[::1]",
    "ipv6 encoded": "did:web:%5B::1%5D",
    # host syntax (RFC 1035 / 1123), one canonical form (SEC-51)
    "empty": "did:web:",
    "upper case host": "did:web:Example.com",
    "empty label": "did:web:example..com",
    "leading hyphen": "did:web:-example.com",
    "label too long": "did:web:" + "a" * 64 + ".com",
    "encoded slash": "did:web:example.com%2Fevil",
    "encoded at (userinfo)": "did:web:user%40evil.com",
    "encoded dot": "did:web:example%2Ecom",
    "idn look-alike": "did:web:xn--exmple-cua.com",
    # port: percent-encoded colon, 1-65535
    "port zero": "did:web:example.com%3A0",
    "port too large": "did:web:example.com%3A65536",
    "port leading zero": "did:web:example.com%3A08443",
    "two ports": "did:web:example.com%3A1%3A2",
    "empty port": "did:web:example.com%3A",
    # path segments
    "dot dot": "did:web:example.com:..:..:admin",
    "dot": "did:web:example.com:u:.",
    "empty segment": "did:web:example.com::alice",
    "encoded nul": "did:web:example.com:u:alice%00",
    "encoded segment": "did:web:example.com:u:%61lice",
    "well-known alias": "did:web:example.com:.well-known",
    # not a plain DID
    "fragment": "did:web:example.com#key-1",
    "query": "did:web:example.com?versionId=1",
    "path": "did:web:example.com/evil",
    "other method": "did:webs:example.com",
    "upper case method": "did:WEB:example.com",
}


@pytest.mark.parametrize("did", INVALID_DIDS.values(), ids=INVALID_DIDS.keys())
def test_malformed_did_web_is_refused(did: str) -> None:
    with pytest.raises(ResolutionError) as caught:
        parse(did)
    assert caught.value.reason == "invalid_did"


INVALID_URLS = [
    "http://example.com/.well-known/did.json",
    "https://user@example.com/",
    "https://example.com/did.json?x=1",
    "https://example.com/#frag",
    "https://127.0.0.1/",
    "https://[::1]/",
    "https://example.com:0/",
    "https://example.com:99999/",
    "https://example.com/a//b",
    "https://example.com/a/../b",
    "https://example.com/a%2Fb",
    "https://example.com/.well-known/other",
    "not a url",
]


@pytest.mark.parametrize("url", INVALID_URLS)
def test_urls_without_a_canonical_did_web_are_refused(url: str) -> None:
    with pytest.raises(MalformedError) as caught:
        did_for_url(url)
    assert caught.value.reason == "invalid_did"


# -- hypothesis: the mapping is a bijection on canonical identifiers ----------------------------

labels = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True).filter(
    lambda label: not label.startswith("xn--")
)
hosts = st.builds(
    lambda ls, tld: ".".join([*ls, tld]),
    st.lists(labels, max_size=3),
    st.from_regex(r"[a-z]{2,6}", fullmatch=True),
)
segments = st.from_regex(r"[A-Za-z0-9._-]{1,10}", fullmatch=True).filter(lambda s: s not in (".", ".."))
paths = st.lists(segments, max_size=4).filter(lambda p: not p or p[0] != ".well-known")
web_dids = st.builds(WebDID, hosts, st.none() | st.integers(1, 65535), paths.map(tuple))


@given(web_dids)
def test_did_url_did_round_trip(web: WebDID) -> None:
    assert parse(web.did) == web
    url = document_url(web.did)
    assert url.startswith("https://") and url.endswith("/did.json")
    assert did_for_url(url) == web.did


@given(st.text(alphabet="abcz019.-_:%3AFx", max_size=40))
def test_accepted_identifiers_are_canonical(tail: str) -> None:
    did = "did:web:" + tail
    try:
        web = parse(did)
    except ResolutionError as exc:
        assert exc.reason == "invalid_did"
    else:
        # Only %3A/%3a spellings differ; everything else that parses is already canonical.
        assert web.did == did.replace("%3a", "%3A")


# -- resolution against a real HTTPS server --------------------------------------------------------


def did_document(did: str, key: PublicKey, **extra: Any) -> dict[str, Any]:
    vm = f"{did}#key-1"
    return {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": did,
        "verificationMethod": [
            {"id": vm, "type": "Multikey", "controller": did, "publicKeyMultibase": key.to_multikey()}
        ],
        "assertionMethod": [vm],
        "authentication": [vm],
        **extra,
    }


def serve(app: StubApp, path: str, body: Any, content_type: str = "application/did+json") -> None:
    app.routes[path] = static(json.dumps(body), content_type=content_type)


@pytest.fixture(scope="module")
def app() -> StubApp:
    return StubApp()


@pytest.fixture(scope="module")
def port(app: StubApp) -> Iterator[int]:
    with run_server(app, ssl=True) as base:
        yield int(base.rsplit(":", 1)[1])


@pytest.fixture
def did(port: int) -> str:
    return f"did:web:{HOST}%3A{port}"


def web_resolver(**settings: Any) -> WebResolver:
    fetcher = GuardedFetcher(
        FetchSettings(allow=frozenset({HOST}), **settings),
        ssl_context=client_ssl_context(),
        resolver=StaticResolver({HOST: ["127.0.0.1"]}),
    )
    return WebResolver(fetcher)


async def refused(did: str, reason: str, resolver: WebResolver | None = None) -> ResolutionError:
    with pytest.raises(ResolutionError) as caught:
        await (resolver or web_resolver()).resolve(did)
    assert caught.value.reason == reason, caught.value.description
    return caught.value


@pytest.mark.anyio
async def test_resolves_the_host_did(app: StubApp, did: str) -> None:
    key = generate().public_key
    serve(app, "/.well-known/did.json", did_document(did, key))
    doc = await web_resolver().resolve(did)
    assert doc.id == did
    assert doc.authorized_method(did + "#key-1", "assertionMethod").public_key == key


@pytest.mark.anyio
async def test_resolves_a_did_with_a_path(app: StubApp, did: str) -> None:
    agent = did + ":agents:a1"
    key = generate("p256").public_key
    serve(app, "/agents/a1/did.json", did_document(agent, key))
    doc = await web_resolver().resolve(agent)
    assert doc.authorized_method(agent + "#key-1", "authentication").public_key == key


@pytest.mark.anyio
async def test_resolves_localhost_through_the_system_resolver_when_allowed(app: StubApp, port: int) -> None:
    did = f"did:web:localhost%3A{port}"
    serve(app, "/.well-known/did.json", did_document(did, generate().public_key))
    fetcher = GuardedFetcher(FetchSettings(allow=frozenset({"localhost"})), ssl_context=client_ssl_context())
    assert (await WebResolver(fetcher).resolve(did)).id == did


@pytest.mark.anyio
async def test_plugs_into_did_resolver(app: StubApp, did: str) -> None:
    key = generate().public_key
    serve(app, "/.well-known/did.json", did_document(did, key))
    resolver = DIDResolver(methods={"web": web_resolver()})
    vm = await resolver.verification_method(did + "#key-1", "assertionMethod")
    assert vm.public_key == key


@pytest.mark.anyio
async def test_document_id_must_be_the_did(app: StubApp, did: str) -> None:
    # §Read (Resolve) step 7; SECURITY SEC-50.
    serve(app, "/.well-known/did.json", did_document("did:web:evil.example", generate().public_key))
    await refused(did, "id_mismatch")


@pytest.mark.anyio
async def test_document_without_id_is_refused(app: StubApp, did: str) -> None:
    document = did_document(did, generate().public_key)
    del document["id"]
    serve(app, "/.well-known/did.json", document)
    await refused(did, "id_mismatch")


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda d, did: d["verificationMethod"][0].update(id="#key-1"), id="relative vm id"),
        pytest.param(
            lambda d, did: d["verificationMethod"][0].update(id="did:web:evil.example#key-1"),
            id="foreign vm id",
        ),
        pytest.param(lambda d, did: d.update(assertionMethod=["#key-1"]), id="relative reference"),
        pytest.param(
            lambda d, did: d.update(authentication=[{"id": "#k", "type": "Multikey"}]), id="relative embedded"
        ),
        pytest.param(
            lambda d, did: d["verificationMethod"][0].update(type="Unknown2099"), id="unsupported vm type"
        ),
    ],
)
@pytest.mark.anyio
async def test_document_with_unsafe_or_bad_methods_is_refused(app: StubApp, did: str, tamper: Any) -> None:
    document = did_document(did, generate().public_key)
    tamper(document, did)
    serve(app, "/.well-known/did.json", document)
    await refused(did, "invalid_did_document")


@pytest.mark.anyio
async def test_document_must_be_a_json_object(app: StubApp, did: str) -> None:
    serve(app, "/.well-known/did.json", [did])
    await refused(did, "invalid_did_document")


@pytest.mark.anyio
async def test_document_must_be_strict_json(app: StubApp, did: str) -> None:
    app.routes["/.well-known/did.json"] = static(
        '{"id": "x", "id": "y"}', content_type="application/did+json"
    )
    await refused(did, "invalid_json")


@pytest.mark.anyio
async def test_redirect_is_refused(app: StubApp, did: str) -> None:
    # SECURITY SEC-48: not even to the same origin.
    app.routes["/.well-known/did.json"] = static(
        b"", status=302, headers=[("location", "/elsewhere/did.json")]
    )
    serve(app, "/elsewhere/did.json", did_document(did, generate().public_key))
    before = app.hits["/elsewhere/did.json"]
    await refused(did, "redirect")
    assert app.hits["/elsewhere/did.json"] == before


@pytest.mark.anyio
async def test_oversized_document_is_refused(app: StubApp, did: str) -> None:
    document = did_document(did, generate().public_key, padding="x" * 4096)
    serve(app, "/.well-known/did.json", document)
    await refused(did, "too_large", web_resolver(max_bytes=2048))


@pytest.mark.anyio
async def test_slow_server_is_refused_by_the_total_deadline(app: StubApp, did: str) -> None:
    app.routes["/.well-known/did.json"] = trickle(interval=0.05, content_type="application/did+json")
    started = time.monotonic()
    await refused(did, "timeout", web_resolver(timeout=0.3))
    assert time.monotonic() - started < 1.0


@pytest.mark.anyio
async def test_wrong_content_type_is_refused(app: StubApp, did: str) -> None:
    serve(app, "/.well-known/did.json", did_document(did, generate().public_key), content_type="text/html")
    await refused(did, "bad_content_type")


@pytest.mark.anyio
async def test_missing_document_is_refused(app: StubApp, did: str) -> None:
    app.routes.pop("/.well-known/did.json", None)
    await refused(did, "http_status")


# -- SSRF: names that lead to non-public addresses (SEC-47) ------------------------------------------


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "10.0.0.1", "169.254.169.254", "::1", "::ffff:127.0.0.1", "0.0.0.0"]
)
@pytest.mark.anyio
async def test_did_web_host_resolving_to_a_blocked_address_is_refused_before_connecting(
    address: str, no_connect: list[Any]
) -> None:
    fetcher = GuardedFetcher(resolver=StaticResolver({"victim.example": [address]}))
    await refused("did:web:victim.example", "blocked_address", WebResolver(fetcher))
    assert no_connect == []


@pytest.mark.anyio
async def test_cloud_metadata_name_is_refused_before_connecting(no_connect: list[Any]) -> None:
    fetcher = GuardedFetcher(resolver=StaticResolver({"metadata.google.internal": ["169.254.169.254"]}))
    await refused("did:web:metadata.google.internal", "blocked_address", WebResolver(fetcher))
    assert no_connect == []


@pytest.mark.anyio
async def test_localhost_is_refused_without_an_allow_list(no_connect: list[Any]) -> None:
    # The real system resolver (/etc/hosts) answers; the answer is loopback.
    await refused("did:web:localhost%3A8080", "blocked_address", WebResolver(GuardedFetcher()))
    assert no_connect == []


@pytest.mark.parametrize(
    "did",
    [INVALID_DIDS[k] for k in ("ipv4", "ipv4 with port", "metadata ip", "ipv4 as one number", "ipv4 in hex")],
)
@pytest.mark.anyio
async def test_ip_address_dids_are_refused_without_any_lookup(did: str, no_connect: list[Any]) -> None:
    names = StaticResolver({})
    await refused(did, "invalid_did", WebResolver(GuardedFetcher(resolver=names)))
    assert names.asked == []
    assert no_connect == []
