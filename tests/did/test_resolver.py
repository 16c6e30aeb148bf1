"""DIDResolver: dispatch by method and the TTL cache for network methods (did:web).

The cache is checked by counting requests on a real HTTPS server while a
``FixedClock`` moves time; nothing sleeps.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest

from did_agents.clock import FixedClock
from did_agents.did import key as did_key
from did_agents.did.resolver import DIDResolver
from did_agents.did.web import WebResolver
from did_agents.errors import ResolutionError, VerificationError
from did_agents.fetch import FetchSettings, GuardedFetcher
from did_agents.keys import PublicKey, generate
from tests.servers import StaticResolver, StubApp, client_ssl_context, run_server, static

pytestmark = pytest.mark.anyio

HOST = "did-agents.test"
PATH = "/.well-known/did.json"
TTL = timedelta(minutes=5)


def document(did: str, key: PublicKey) -> str:
    vm = f"{did}#key-1"
    return json.dumps(
        {
            "id": did,
            "verificationMethod": [
                {"id": vm, "type": "Multikey", "controller": did, "publicKeyMultibase": key.to_multikey()}
            ],
            "assertionMethod": [vm],
        }
    )


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


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def resolver(clock: FixedClock) -> DIDResolver:
    fetcher = GuardedFetcher(
        FetchSettings(allow=frozenset({HOST})),
        ssl_context=client_ssl_context(),
        resolver=StaticResolver({HOST: ["127.0.0.1"]}),
    )
    return DIDResolver(methods={"web": WebResolver(fetcher)}, clock=clock, ttl=TTL)


def serve(app: StubApp, did: str, key: PublicKey) -> None:
    app.routes[PATH] = static(document(did, key), content_type="application/did+json")


async def test_did_web_document_is_cached_until_the_ttl_passes(
    app: StubApp, did: str, resolver: DIDResolver, clock: FixedClock
) -> None:
    serve(app, did, generate().public_key)
    start = app.hits[PATH]
    first = await resolver.resolve(did)
    assert await resolver.resolve(did) is first
    assert app.hits[PATH] - start == 1
    clock.advance(TTL - timedelta(seconds=1))
    assert await resolver.resolve(did) is first
    assert app.hits[PATH] - start == 1
    clock.advance(timedelta(seconds=1))  # expired at exactly fetch time + TTL
    assert await resolver.resolve(did) is not first
    assert app.hits[PATH] - start == 2


async def test_refetch_after_expiry_sees_a_rotated_key(
    app: StubApp, did: str, resolver: DIDResolver, clock: FixedClock
) -> None:
    # SECURITY FLT-09: a replaced key stops verifying once the cached document expires.
    old, new = generate().public_key, generate().public_key
    serve(app, did, old)
    assert (await resolver.verification_method(did + "#key-1", "assertionMethod")).public_key == old
    serve(app, did, new)
    assert (await resolver.verification_method(did + "#key-1", "assertionMethod")).public_key == old
    clock.advance(TTL)
    assert (await resolver.verification_method(did + "#key-1", "assertionMethod")).public_key == new


async def test_invalidate_forces_a_refetch(app: StubApp, did: str, resolver: DIDResolver) -> None:
    serve(app, did, generate().public_key)
    start = app.hits[PATH]
    await resolver.resolve(did)
    resolver.invalidate(did)
    await resolver.resolve(did)
    resolver.invalidate()
    await resolver.resolve(did)
    assert app.hits[PATH] - start == 3


async def test_failures_are_not_cached(app: StubApp, did: str, resolver: DIDResolver) -> None:
    app.routes[PATH] = static("{}", status=503)
    start = app.hits[PATH]
    with pytest.raises(ResolutionError) as caught:
        await resolver.resolve(did)
    assert caught.value.reason == "http_status"
    serve(app, did, generate().public_key)
    assert (await resolver.resolve(did)).id == did
    assert app.hits[PATH] - start == 2


async def test_cache_is_bounded(app: StubApp, port: int, clock: FixedClock) -> None:
    fetcher = GuardedFetcher(
        FetchSettings(allow=frozenset({HOST})),
        ssl_context=client_ssl_context(),
        resolver=StaticResolver({HOST: ["127.0.0.1"]}),
    )
    resolver = DIDResolver(methods={"web": WebResolver(fetcher)}, clock=clock, max_entries=1)
    dids = [f"did:web:{HOST}%3A{port}:u:{name}" for name in ("a", "b")]
    for d in dids:
        app.routes[f"/u/{d.rsplit(':', 1)[1]}/did.json"] = static(
            document(d, generate().public_key), content_type="application/did+json"
        )
    await resolver.resolve(dids[0])
    await resolver.resolve(dids[1])  # evicts dids[0]
    await resolver.resolve(dids[0])
    assert app.hits["/u/a/did.json"] == 2
    assert app.hits["/u/b/did.json"] == 1


async def test_offline_methods_do_not_need_a_network_resolver(no_connect: list[object]) -> None:
    did = did_key.create(generate().public_key)
    resolver = DIDResolver()
    assert (await resolver.resolve(did)).id == did
    assert no_connect == []


async def test_unknown_method_is_refused() -> None:
    with pytest.raises(ResolutionError) as caught:
        await DIDResolver().resolve("did:example:123")
    assert caught.value.reason == "unsupported_did_method"


async def test_did_web_without_a_registered_resolver_is_refused() -> None:
    with pytest.raises(ResolutionError) as caught:
        await DIDResolver().resolve("did:web:example.com")
    assert caught.value.reason == "unsupported_did_method"


async def test_key_outside_the_relationship_is_refused(app: StubApp, did: str, resolver: DIDResolver) -> None:
    serve(app, did, generate().public_key)  # the key is listed under assertionMethod only
    with pytest.raises(VerificationError) as caught:
        await resolver.verification_method(did + "#key-1", "authentication")
    assert caught.value.reason == "wrong_purpose"
