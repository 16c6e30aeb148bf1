"""The guarded fetcher against a real HTTPS server (uvicorn on 127.0.0.1).

DESIGN §3/§10; SECURITY SEC-05, SEC-45, SEC-47 (SSRF), SEC-48 (redirects),
SEC-49 (oversized / slow / malformed), FLT-11 (total deadline).
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from did_agents.errors import FetchError
from did_agents.fetch import (
    DID_DOCUMENT_MEDIA_TYPES,
    FetchSettings,
    GuardedFetcher,
    IPAddress,
    is_public_address,
)
from tests.servers import (
    StaticResolver,
    StubApp,
    client_ssl_context,
    endless,
    guard_connections,
    run_server,
    stall,
    static,
    trickle,
)

pytestmark = pytest.mark.anyio

LOOPBACK = frozenset({"127.0.0.1"})


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def app() -> StubApp:
    return StubApp(
        {
            "/doc": static('{"id": "x"}', content_type="application/did+json"),
            "/charset": static('{"ok": true}', content_type="application/json; charset=utf-8"),
            "/redirect": static(b"", status=302, headers=[("location", "/doc")]),
            "/redirect-metadata": static(
                b"", status=301, headers=[("location", "http://169.254.169.254/latest/meta-data/")]
            ),
            "/big": static(b" " * (2 * 1024) + b"{}"),
            "/endless": endless(),
            "/trickle": trickle(interval=0.05),
            "/stall": stall(),
            "/html": static("<html></html>", content_type="text/html"),
            "/no-type": static("{}", content_type=None),
            "/gzip": static("{}", headers=[("content-encoding", "gzip")]),
            "/missing": static("{}", status=404),
            "/error": static("{}", status=500),
            "/not-json": static("{"),
            "/duplicate": static('{"id": "a", "id": "b"}'),
            "/bom": static(b"\xef\xbb\xbf{}"),
            "/nan": static('{"n": NaN}'),
            "/deep": static("[" * 5000 + "]" * 5000),
            "/latin1": static(b'{"name": "\xe9"}'),
        }
    )


@pytest.fixture(scope="module")
def base(app: StubApp) -> Iterator[str]:
    with run_server(app, ssl=True) as url:
        yield url


@pytest.fixture
def fetcher() -> GuardedFetcher:
    return GuardedFetcher(FetchSettings(allow=LOOPBACK, timeout=2.0), ssl_context=client_ssl_context())


@pytest.fixture
def no_connect(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    return guard_connections(monkeypatch)


async def refused(fetcher: GuardedFetcher, url: str, reason: str, **kwargs: Any) -> FetchError:
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch_json(url, **kwargs)
    assert caught.value.reason == reason, caught.value.description
    return caught.value


# -- success ----------------------------------------------------------------------------------


async def test_fetches_json_from_an_allow_listed_https_host(fetcher: GuardedFetcher, base: str) -> None:
    assert await fetcher.fetch_json(base + "/doc") == {"id": "x"}


async def test_media_type_parameters_are_ignored(fetcher: GuardedFetcher, base: str) -> None:
    assert await fetcher.fetch_json(base + "/charset") == {"ok": True}


async def test_accepted_media_types_are_chosen_per_call(fetcher: GuardedFetcher, base: str) -> None:
    response = await fetcher.fetch(base + "/html", accept=("text/html",))
    assert response.media_type == "text/html"
    assert response.content == b"<html></html>"


async def test_request_asks_for_identity_encoding_and_the_accepted_types(
    fetcher: GuardedFetcher, base: str, app: StubApp
) -> None:
    before = len(app.requests)
    await fetcher.fetch_json(base + "/doc")
    assert app.header(before, "accept-encoding") == "identity"
    assert app.header(before, "accept") == ", ".join(DID_DOCUMENT_MEDIA_TYPES)


# -- DNS pinning: connect to the checked address, verify TLS for the name -----------------------


async def test_connects_to_the_resolved_address_with_host_and_sni_of_the_name(
    base: str, app: StubApp
) -> None:
    # did-agents.test exists only in our resolver, so httpx cannot have resolved it itself;
    # the server certificate is valid for did-agents.test but the URL httpx saw held an IP.
    port = base.rsplit(":", 1)[1]
    resolver = StaticResolver({"did-agents.test": ["127.0.0.1"]})
    fetcher = GuardedFetcher(
        FetchSettings(allow=frozenset({"did-agents.test"})),
        ssl_context=client_ssl_context(),
        resolver=resolver,
    )
    before = len(app.requests)
    assert await fetcher.fetch_json(f"https://did-agents.test:{port}/doc") == {"id": "x"}
    assert resolver.asked == ["did-agents.test"]
    assert app.header(before, "host") == f"did-agents.test:{port}"


async def test_certificate_must_match_the_host_name_not_the_address(base: str) -> None:
    port = base.rsplit(":", 1)[1]
    fetcher = GuardedFetcher(
        FetchSettings(allow=LOOPBACK),
        ssl_context=client_ssl_context(),
        resolver=StaticResolver({"other.example": ["127.0.0.1"]}),
    )
    await refused(fetcher, f"https://other.example:{port}/doc", "tls_failed")


async def test_untrusted_certificate_is_refused(base: str) -> None:
    fetcher = GuardedFetcher(FetchSettings(allow=LOOPBACK))  # public roots only
    await refused(fetcher, base + "/doc", "tls_failed")


async def test_next_address_is_tried_when_one_refuses(base: str) -> None:
    # The server listens on 127.0.0.1 only; 127.0.0.2 (also loopback) refuses the connection.
    port = base.rsplit(":", 1)[1]
    fetcher = GuardedFetcher(
        FetchSettings(allow=frozenset({"127.0.0.0/8"})),
        ssl_context=client_ssl_context(),
        resolver=StaticResolver({"did-agents.test": ["127.0.0.2", "127.0.0.1"]}),
    )
    assert await fetcher.fetch_json(f"https://did-agents.test:{port}/doc") == {"id": "x"}


async def test_connection_refused_is_connect_failed(fetcher: GuardedFetcher) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        await refused(fetcher, f"https://127.0.0.1:{port}/doc", "connect_failed")


async def test_unresolvable_host_is_refused(no_connect: list[Any]) -> None:
    fetcher = GuardedFetcher(resolver=StaticResolver({}))
    await refused(fetcher, "https://nowhere.example/doc", "unresolvable_host")
    assert no_connect == []


# -- SSRF: blocked before any connection -------------------------------------------------------

BLOCKED_URLS = [
    "https://127.0.0.1/",
    "https://127.1.2.3:8443/",
    "https://10.0.0.1/",
    "https://172.16.0.1/",
    "https://192.168.1.1/",
    "https://169.254.169.254/latest/meta-data/",
    "https://100.64.0.1/",  # shared address space (RFC 6598)
    "https://100.100.100.200/",  # Alibaba metadata
    "https://0.0.0.0/",
    "https://224.0.0.1/",
    "https://255.255.255.255/",
    "https://[::1]/",
    "https://[::]/",
    "https://[::ffff:127.0.0.1]/",
    "https://[::ffff:169.254.169.254]/",
    "https://[fd00:ec2::254]/",
    "https://[fe80::1]/",
    "https://[fc00::1]/",
    "https://[ff02::1]/",
    "https://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
    "https://[64:ff9b::a00:1]/",  # NAT64 of 10.0.0.1
    "https://[::127.0.0.1]/",  # IPv4-compatible
]


@pytest.mark.parametrize("url", BLOCKED_URLS)
async def test_non_public_addresses_are_refused_before_connecting(url: str, no_connect: list[Any]) -> None:
    resolver = StaticResolver({})
    fetcher = GuardedFetcher(resolver=resolver)
    await refused(fetcher, url, "blocked_address")
    assert no_connect == []
    assert resolver.asked == []  # IP literals are never looked up


async def test_loopback_server_is_not_contacted_without_allow_list(
    base: str, app: StubApp, no_connect: list[Any]
) -> None:
    fetcher = GuardedFetcher(ssl_context=client_ssl_context())
    before = app.hits["/doc"]
    await refused(fetcher, base + "/doc", "blocked_address")
    assert no_connect == []
    assert app.hits["/doc"] == before


@pytest.mark.parametrize(
    "answers",
    [
        ["10.0.0.5"],
        ["169.254.169.254"],
        ["::ffff:127.0.0.1"],
        ["93.184.216.34", "127.0.0.1"],  # one bad answer is enough (rebinding via answer order)
    ],
)
async def test_names_resolving_to_non_public_addresses_are_refused(
    answers: list[str], no_connect: list[Any]
) -> None:
    fetcher = GuardedFetcher(resolver=StaticResolver({"rebind.example": answers}))
    await refused(fetcher, "https://rebind.example/did.json", "blocked_address")
    assert no_connect == []


async def test_system_resolver_answer_for_localhost_is_checked(base: str, no_connect: list[Any]) -> None:
    port = base.rsplit(":", 1)[1]
    await refused(GuardedFetcher(), f"https://localhost:{port}/doc", "blocked_address")
    assert no_connect == []


async def test_allow_list_by_name_admits_the_names_addresses(base: str) -> None:
    port = base.rsplit(":", 1)[1]
    fetcher = GuardedFetcher(FetchSettings(allow=frozenset({"LOCALHOST"})), ssl_context=client_ssl_context())
    assert await fetcher.fetch_json(f"https://localhost:{port}/doc") == {"id": "x"}


async def test_allow_list_of_one_address_does_not_admit_others(no_connect: list[Any]) -> None:
    fetcher = GuardedFetcher(FetchSettings(allow=LOOPBACK))
    await refused(fetcher, "https://127.0.0.2/", "blocked_address")
    await refused(fetcher, "https://[::ffff:127.0.0.1]/", "blocked_address")
    assert no_connect == []


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "93.184.216.34", "2606:4700:4700::1111", "2a00:1450:4001:81b::200e"],
)
def test_public_addresses_are_public(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("url", [u for u in BLOCKED_URLS if "[" not in u])
def test_blocked_ipv4_addresses_are_not_public(url: str) -> None:
    host = url.split("/")[2].split(":")[0]
    assert not is_public_address(ipaddress.ip_address(host))


# -- URL rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/did.json",
        "gopher://127.0.0.1:6379/_INFO",
        "//example.com/did.json",
        "https://user:secret@example.com/did.json",
        "https://user@example.com/did.json",
        "https:///did.json",
        "https://example.com/" + "a" * 3000,
    ],
)
async def test_malformed_or_unsafe_urls_are_refused(url: str, no_connect: list[Any]) -> None:
    resolver = StaticResolver({})
    await refused(GuardedFetcher(resolver=resolver), url, "invalid_url")
    assert no_connect == []
    assert resolver.asked == []


async def test_plain_http_is_refused_unless_the_host_is_listed(app: StubApp, no_connect: list[Any]) -> None:
    fetcher = GuardedFetcher(FetchSettings(allow=LOOPBACK))
    await refused(fetcher, "http://127.0.0.1:8080/doc", "https_required")
    await refused(fetcher, "http://169.254.169.254/latest/meta-data/", "https_required")
    assert no_connect == []


async def test_plain_http_works_for_listed_test_hosts(app: StubApp) -> None:
    fetcher = GuardedFetcher(FetchSettings(allow=LOOPBACK, http_hosts=LOOPBACK))
    with run_server(app) as http_base:
        assert await fetcher.fetch_json(http_base + "/doc") == {"id": "x"}


# -- answers that are refused ------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/redirect", "/redirect-metadata"])
async def test_redirects_are_not_followed(
    fetcher: GuardedFetcher, base: str, app: StubApp, path: str
) -> None:
    before = app.hits["/doc"]
    await refused(fetcher, base + path, "redirect")
    assert app.hits["/doc"] == before


@pytest.mark.parametrize("path", ["/missing", "/error"])
async def test_non_200_status_is_refused(fetcher: GuardedFetcher, base: str, path: str) -> None:
    await refused(fetcher, base + path, "http_status")


@pytest.mark.parametrize("path", ["/html", "/no-type"])
async def test_unaccepted_content_type_is_refused(fetcher: GuardedFetcher, base: str, path: str) -> None:
    await refused(fetcher, base + path, "bad_content_type")


async def test_content_encoding_is_refused(fetcher: GuardedFetcher, base: str) -> None:
    await refused(fetcher, base + "/gzip", "bad_content_encoding")


async def test_announced_oversized_body_is_refused(fetcher: GuardedFetcher, base: str) -> None:
    await refused(fetcher, base + "/big", "too_large", max_bytes=1024)
    assert await fetcher.fetch_json(base + "/big", max_bytes=4096) == {}


async def test_endless_body_is_cut_at_the_limit(fetcher: GuardedFetcher, base: str) -> None:
    started = time.monotonic()
    await refused(fetcher, base + "/endless", "too_large")  # default limit, 100 KiB
    assert time.monotonic() - started < 1.0


async def test_trickling_server_hits_the_total_deadline(fetcher: GuardedFetcher, base: str) -> None:
    # A byte every 50 ms never trips a per-read timeout; the total deadline must.
    started = time.monotonic()
    await refused(fetcher, base + "/trickle", "timeout", timeout=0.3)
    assert 0.25 <= time.monotonic() - started < 1.0


async def test_server_that_never_answers_hits_the_deadline(fetcher: GuardedFetcher, base: str) -> None:
    started = time.monotonic()
    await refused(fetcher, base + "/stall", "timeout", timeout=0.2)
    assert time.monotonic() - started < 1.0


async def test_slow_resolver_counts_against_the_deadline() -> None:
    class SlowResolver:
        async def resolve(self, host: str, port: int) -> Sequence[IPAddress]:
            import anyio

            await anyio.sleep_forever()
            raise AssertionError

    await refused(GuardedFetcher(resolver=SlowResolver()), "https://slow.example/", "timeout", timeout=0.05)


@pytest.mark.parametrize("path", ["/not-json", "/duplicate", "/bom", "/nan", "/deep", "/latin1"])
async def test_body_must_be_strict_json(fetcher: GuardedFetcher, base: str, path: str) -> None:
    await refused(fetcher, base + path, "invalid_json")


def test_settings_refuse_non_positive_limits() -> None:
    with pytest.raises(ValueError):
        FetchSettings(max_bytes=0)
    with pytest.raises(ValueError):
        FetchSettings(timeout=0)
