"""AccessTokenVerifier and JWKSCache: one test per rule of verifier/mcp/token_verifier.py (RFC 9068 §4,
SECURITY SEC-01/02/03/06/07/09/13/55/58, FLT-08). The JWKS comes from an in-process fetch function."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import timedelta
from typing import Any

import pytest

from did_agents import multibase
from did_agents.clock import FixedClock
from did_agents.errors import InvalidTokenError, MalformedError
from did_agents.keys import KeyType, generate
from tests.mcp.conftest import AGENT, ISSUER, OTHER_RESOURCE, RESOURCE, T0, USER, claims, mint
from verifier.mcp.token_verifier import AccessTokenVerifier, JWKSCache, actors_of, last_refusal, parse_jwks

pytestmark = pytest.mark.anyio

K1 = generate()
K2 = generate()
P256 = generate(KeyType.P256)


def jwk(kid: str, key: Any, **extra: Any) -> dict[str, Any]:
    return {**key.public_key.to_jwk(), "kid": kid, **extra}


class Source:
    def __init__(self, *keys: dict[str, Any]) -> None:
        self.keys = list(keys)
        self.fetches = 0

    async def __call__(self, url: str) -> Any:
        self.fetches += 1
        return {"keys": list(self.keys)}


def make(source: Source, clock: FixedClock | None = None) -> tuple[AccessTokenVerifier, FixedClock]:
    clock = clock or FixedClock(T0)
    cache = JWKSCache("https://verifier.example/jwks", clock=clock, fetch=source)
    return AccessTokenVerifier(ISSUER, RESOURCE, cache, clock=clock), clock


def b64(data: bytes) -> str:
    return multibase.b64url_encode(data)


def forge(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}.{b64(signature)}"


async def refused(verifier: AccessTokenVerifier, token: str, reason: str) -> None:
    with pytest.raises(InvalidTokenError) as info:
        await verifier.verify(token)
    assert info.value.reason == reason


async def test_valid_token_gives_subject_scopes_resource_and_act() -> None:
    verifier, _ = make(Source(jwk("k1", K1)))
    act = {"sub": "did:key:z6MkPayment", "act": {"sub": AGENT}}
    access = await verifier.verify(mint(K1, scope="orders:read", act=act))
    assert access.subject == USER
    assert access.client_id == AGENT
    assert access.scopes == ["orders:read"]
    assert access.resource == RESOURCE
    assert access.claims is not None and access.claims["act"] == act
    assert actors_of(access.claims) == ("did:key:z6MkPayment", AGENT)


async def test_p256_tokens_verify() -> None:
    verifier, _ = make(Source(jwk("p", P256)))
    assert (await verifier.verify(mint(P256, kid="p"))).subject == USER


@pytest.mark.parametrize(
    "aud",
    [
        OTHER_RESOURCE,
        [RESOURCE],
        [RESOURCE, OTHER_RESOURCE],
        "https://MCP.urbanbites.example/mcp",
        RESOURCE + "/",
        "https://mcp.urbanbites.example/mcp#frag",
    ],
)
async def test_rfc9068_audience_must_be_exactly_this_resource(aud: Any) -> None:
    verifier, _ = make(Source(jwk("k1", K1)))
    await refused(verifier, mint(K1, aud=aud), "wrong_audience")


@pytest.mark.parametrize("claim", ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"])
async def test_rfc9068_required_claims(claim: str) -> None:
    verifier, _ = make(Source(jwk("k1", K1)))
    token = mint(K1, **{claim: None})
    with pytest.raises(InvalidTokenError) as info:
        await verifier.verify(token)
    assert info.value.reason in ("missing_claim", "wrong_audience", "wrong_issuer")


async def test_issuer_must_be_the_configured_verifier() -> None:
    verifier, _ = make(Source(jwk("k1", K1)))
    await refused(verifier, mint(K1, iss="https://evil.example"), "wrong_issuer")
    await refused(verifier, mint(K1, iss=ISSUER + "/"), "wrong_issuer")


async def test_expired_token_is_refused_after_the_leeway() -> None:
    verifier, clock = make(Source(jwk("k1", K1)))
    token = mint(K1)
    clock.advance(timedelta(seconds=300 + 4))
    await verifier.verify(token)  # within the 5 s leeway
    clock.advance(timedelta(seconds=2))
    await refused(verifier, token, "expired")


async def test_not_yet_valid_and_future_iat_are_refused() -> None:
    verifier, _ = make(Source(jwk("k1", K1)))
    now = int(T0.timestamp())
    await refused(verifier, mint(K1, nbf=now + 3600), "not_yet_valid")
    await refused(verifier, mint(K1, iat=now + 86400), "iat_in_future")


@pytest.mark.parametrize("typ", [None, "JWT", "jwt", "vc+jwt", "vp+jwt", "AT+JWT", "application/jwt"])
async def test_rfc9068_typ_must_be_at_jwt(typ: str | None) -> None:
    verifier, _ = make(Source(jwk("k1", K1)))
    await refused(verifier, mint(K1, typ=typ), "wrong_typ")


async def test_application_at_jwt_is_accepted() -> None:
    verifier, _ = make(Source(jwk("k1", K1)))
    assert (await verifier.verify(mint(K1, typ="application/at+jwt"))).subject == USER


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
async def test_alg_none_is_refused(alg: str) -> None:
    verifier, _ = make(Source(jwk("k1", K1)))
    genuine = mint(K1)
    header = {"alg": alg, "typ": "at+jwt", "kid": "k1"}
    await refused(verifier, forge(header, claims()), "alg_not_allowed")
    # The original signature left in place.
    await refused(
        verifier,
        forge(header, claims()).rsplit(".", 1)[0] + "." + genuine.rsplit(".", 1)[1],
        "alg_not_allowed",
    )


@pytest.mark.parametrize(
    "secret",
    [
        K1.public_key.raw,
        json.dumps(K1.public_key.to_jwk()).encode(),
        K1.public_key.to_jwk()["x"].encode(),
        base64.b64encode(K1.public_key.raw),
    ],
    ids=["raw", "jwk-json", "jwk-x", "base64"],
)
async def test_hmac_keyed_with_our_public_key_is_refused(secret: bytes) -> None:
    verifier, _ = make(Source(jwk("k1", K1)))
    header = {"alg": "HS256", "typ": "at+jwt", "kid": "k1"}
    unsigned = forge(header, claims(scope="orders:*")).rsplit(".", 1)[0]
    signature = hmac.new(secret, unsigned.encode(), hashlib.sha256).digest()
    await refused(verifier, unsigned + "." + b64(signature), "alg_not_allowed")


async def test_alg_must_match_the_published_key() -> None:
    verifier, _ = make(Source(jwk("k1", K1)))
    header = {"alg": "ES256", "typ": "at+jwt", "kid": "k1"}
    await refused(verifier, forge(header, claims(), b"\x00" * 64), "alg_key_mismatch")


async def test_unknown_kid_and_unknown_key_are_refused() -> None:
    verifier, _ = make(Source(jwk("k1", K1)))
    await refused(verifier, mint(K2, kid="k2"), "unknown_kid")
    await refused(verifier, mint(K2, kid="k1"), "bad_signature")


@pytest.mark.parametrize(
    "extra",
    [{"crit": ["x"], "x": 1}, {"jku": "http://169.254.169.254/"}, {"jwk": {"kty": "OKP"}}, {"b64": False}],
)
async def test_dangerous_headers_are_refused(extra: dict[str, Any]) -> None:
    source = Source(jwk("k1", K1))
    verifier, _ = make(source)
    with pytest.raises(InvalidTokenError):
        await verifier.verify(
            forge({"alg": "EdDSA", "typ": "at+jwt", "kid": "k1", **extra}, claims(), b"\x00" * 64)
        )
    assert source.fetches == 0  # refused before any key lookup (SEC-05: no outbound I/O)


async def test_scope_must_be_a_string_of_scope_tokens() -> None:
    verifier, _ = make(Source(jwk("k1", K1)))
    await refused(verifier, mint(K1, scope=["orders:read"]), "malformed_scope")
    await refused(verifier, mint(K1, scope='orders:read "x"'), "malformed_scope")


async def test_act_must_be_nested_sub_objects_of_bounded_depth() -> None:
    verifier, _ = make(Source(jwk("k1", K1)))
    await refused(verifier, mint(K1, act="did:key:z6MkA"), "malformed_act")
    await refused(verifier, mint(K1, act={"act": {"sub": AGENT}}), "malformed_act")
    deep: dict[str, Any] = {"sub": "did:key:z6Mk0"}
    for i in range(1, 10):
        deep = {"sub": f"did:key:z6Mk{i}", "act": deep}
    await refused(verifier, mint(K1, act=deep), "malformed_act")


async def test_verify_token_returns_none_and_says_why() -> None:
    verifier, _ = make(Source(jwk("k1", K1)))
    assert await verifier.verify_token(mint(K1, aud=OTHER_RESOURCE)) is None
    assert last_refusal.get() == "wrong_audience"
    assert await verifier.verify_token(mint(K1)) is not None
    assert last_refusal.get() is None


# -- JWKS cache (SECURITY FLT-08) ---------------------------------------------------------------


async def test_random_kids_cause_at_most_one_refetch_per_interval() -> None:
    source = Source(jwk("k1", K1))
    verifier, clock = make(source)
    for _ in range(1000):
        assert await verifier.verify_token(mint(K2, kid=str(uuid.uuid4()))) is None
    assert source.fetches == 1  # the first fetch; no refetch within the interval
    clock.advance(timedelta(seconds=31))
    for _ in range(100):
        await verifier.verify_token(mint(K2, kid=str(uuid.uuid4())))
    assert source.fetches == 2


async def test_rotation_old_key_works_while_published_then_stops() -> None:
    source = Source(jwk("k1", K1))
    verifier, clock = make(source)
    old = mint(K1, kid="k1", exp=int(T0.timestamp()) + 3600)
    await verifier.verify(old)
    source.keys.append(jwk("k2", K2))
    clock.advance(timedelta(seconds=31))
    # A token with the new kid triggers one refetch; the old key keeps working.
    await verifier.verify(mint(K2, kid="k2", iat=int(clock.now().timestamp())))
    await verifier.verify(old)
    source.keys = [jwk("k2", K2)]
    clock.advance(timedelta(minutes=5))  # max_age: the cache refreshes and K1 is gone
    await refused(verifier, old, "unknown_kid")


def test_duplicate_kids_refuse_the_key_set() -> None:
    with pytest.raises(MalformedError) as info:
        parse_jwks({"keys": [jwk("k1", K1), jwk("k1", K2)]})
    assert info.value.reason == "duplicate_kid"


def test_jwks_skips_keys_not_for_signing_or_with_a_foreign_alg() -> None:
    keys = parse_jwks(
        {
            "keys": [
                jwk("enc", K1, use="enc"),
                jwk("hs", K1, alg="HS256"),
                {"kty": "oct", "k": "c2VjcmV0", "kid": "oct"},
                {"kty": "RSA", "n": "AQAB", "e": "AQAB", "kid": "rsa"},
                jwk("ok", K1, alg="EdDSA"),
            ]
        }
    )
    assert set(keys) == {"ok"}


async def test_unavailable_jwks_is_invalid_token() -> None:
    async def failing(url: str) -> Any:
        raise MalformedError("down", reason="fetch_failed")

    clock = FixedClock(T0)
    verifier = AccessTokenVerifier(
        ISSUER, RESOURCE, JWKSCache("https://v.example/jwks", clock=clock, fetch=failing), clock=clock
    )
    await refused(verifier, mint(K1), "jwks_unavailable")


async def test_scope_lists_are_not_shared_between_tokens() -> None:
    """Scope strings are parsed once (LRU); each AccessToken still gets its own list, and a
    malformed string is refused every time, not only the first."""
    verifier, _ = make(Source(jwk("k1", K1)))
    first = await verifier.verify(mint(K1, scope="orders:read orders:read menu:read"))
    first.scopes.append("orders:delete")
    second = await verifier.verify(mint(K1, scope="orders:read orders:read menu:read"))
    assert second.scopes == ["orders:read", "menu:read"]
    for _ in range(2):
        await refused(verifier, mint(K1, scope='orders:read "x"'), "malformed_scope")
