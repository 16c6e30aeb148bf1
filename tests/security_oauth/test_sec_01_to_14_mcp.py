"""SECURITY §A (SEC-01 … SEC-14) at the MCP resource server: every JOSE attack sent as the
bearer token of a ``tools/call`` to the Urban Bites server behind the MCP kit on uvicorn.
Expected everywhere: HTTP 401 with ``WWW-Authenticate: Bearer error="invalid_token",
resource_metadata="…"`` (MCP authorization §Token Handling, RFC 6750 §3.1), the tool body never
runs, the audit hook records one denial with a reason. Unit-level rules are in
``tests/mcp/test_token_verifier.py``; the wire-level alg none / HMAC / unknown key cases in
``tests/mcp/test_wire.py``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any
from urllib.parse import urlsplit

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from did_agents import multibase
from did_agents.keys import generate
from tests.mcp.conftest import AGENT, ISSUER, RESOURCE, T0, Stack, claims, mcp_client
from tests.security_oauth.checks import ConnectGuard, assert_mcp_401, b64, forge, rpc

pytestmark = pytest.mark.anyio

GRANTING = "orders:* menu:read"  # what each forged token claims: enough for the tool if it were accepted


def at_header(**extra: Any) -> dict[str, Any]:
    return {"alg": "EdDSA", "typ": "at+jwt", "kid": "k1", **extra}


def at_claims(**over: Any) -> dict[str, Any]:
    return claims(scope=GRANTING, **over)


def unsigned(header: dict[str, Any] | str, payload: dict[str, Any] | str) -> str:
    h = header if isinstance(header, str) else json.dumps(header)
    p = payload if isinstance(payload, str) else json.dumps(payload)
    return b64(h.encode()) + "." + b64(p.encode())


async def all_refused(stack: Stack, variants: dict[str, str]) -> None:
    """Each token → 401 invalid_token; no tool ran; one denial per call in the audit hook."""
    failures = []
    for name, token in variants.items():
        before = len(stack.audit.events)
        try:
            assert_mcp_401(rpc(stack.url, token), name)
            assert len(stack.audit.events) == before + 1, name
            event = stack.audit.events[-1]
            assert event.decision == "denied" and event.reason, (name, event)
            assert token not in json.dumps(event.details, default=str), name
        except (AssertionError, KeyError) as exc:
            failures.append(f"variant {name!r}: {exc!r}"[:400])
    assert not failures, "\n".join(failures)
    assert sum(stack.kitchen.calls.values()) == 0
    await served(stack)


async def served(stack: Stack) -> None:
    """Positive control: a genuine token for the same call is served (official MCP client)."""
    async with mcp_client(stack.url, stack.token(scope=GRANTING)) as client:
        assert (await client.call_tool("list_menu", {})).is_error is False


async def test_sec01_alg_none(stack: Stack) -> None:
    genuine = stack.token(scope=GRANTING)
    variants = {
        alg: unsigned(at_header(alg=alg), at_claims()) + "." for alg in ("none", "None", "NONE", "nOnE")
    }
    variants["none-with-original-signature"] = (
        unsigned(at_header(alg="none"), multibase.b64url_decode(genuine.split(".")[1]).decode())
        + "."
        + genuine.split(".")[2]
    )
    await all_refused(stack, variants)


async def test_sec02_hmac_keyed_with_the_sts_public_key(stack: Stack) -> None:
    raw = stack.key.public_key.raw
    public = ed25519.Ed25519PublicKey.from_public_bytes(raw)
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    secrets = {
        "pem-spki": public.public_bytes(serialization.Encoding.PEM, spki),
        "der": public.public_bytes(serialization.Encoding.DER, spki),
        "openssh": public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH),
        "jwk-json-from-jwks": json.dumps(stack.jwks.keys[0]).encode(),
        "raw": raw,
    }
    signing_input = unsigned(at_header(alg="HS256"), at_claims())
    await all_refused(
        stack,
        {
            name: signing_input + "." + b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())
            for name, secret in secrets.items()
        },
    )


async def test_sec03_algorithm_key_type_and_case_games(stack: Stack) -> None:
    variants = {
        "a-ES256-header-Ed25519-signature": forge(at_header(alg="ES256"), at_claims(), stack.key),
        "c-eddsa": forge(at_header(alg="eddsa"), at_claims(), stack.key),
        "d-ES256K": forge(at_header(alg="ES256K"), at_claims(), stack.key),
    }
    p384 = ec.generate_private_key(ec.SECP384R1())
    signing_input = unsigned(at_header(alg="ES256"), at_claims())
    r, s = decode_dss_signature(p384.sign(signing_input.encode(), ec.ECDSA(hashes.SHA384())))
    variants["b-ES256-P384"] = signing_input + "." + b64(r.to_bytes(48, "big") + s.to_bytes(48, "big"))
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    signing_input = unsigned(at_header(alg="RS256"), at_claims())
    variants["e-RS256-1024"] = (
        signing_input + "." + b64(rsa_key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256()))
    )
    await all_refused(stack, variants)


async def test_sec04_key_carried_in_the_header(stack: Stack) -> None:
    mallory = generate()
    await all_refused(
        stack,
        {
            "jwk": forge(at_header(jwk=mallory.public_key.to_jwk()), at_claims(), mallory),
            "jwk-no-kid": forge(
                {"alg": "EdDSA", "typ": "at+jwt", "jwk": mallory.public_key.to_jwk()}, at_claims(), mallory
            ),
            "x5c": forge(
                at_header(x5c=[base64.b64encode(b"\x30\x82not-a-cert").decode()]), at_claims(), mallory
            ),
            "mallory-under-k1": forge(at_header(), at_claims(), mallory),
        },
    )


async def test_sec05_key_urls_cause_no_outbound_connection(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    await served(stack)  # the JWKS is fetched before the guard goes up
    mcp_port = urlsplit(stack.url).port
    assert mcp_port is not None
    guard = ConnectGuard(monkeypatch, {("127.0.0.1", mcp_port)})
    urls = {
        "jku-metadata": ("jku", "http://169.254.169.254/latest/meta-data/"),
        "jku-attacker": ("jku", "https://attacker.example/jwks.json"),
        "x5u-file": ("x5u", "file:///etc/passwd"),
        "jku-mapped-loopback-redis": ("jku", "http://[::ffff:127.0.0.1]:6379/"),
    }
    variants = {name: forge(at_header(**{h: url}), at_claims(), stack.key) for name, (h, url) in urls.items()}
    failures = []
    for name, token in variants.items():
        try:
            assert_mcp_401(rpc(stack.url, token), name)
        except (AssertionError, KeyError) as exc:
            failures.append(f"{name}: {exc!r}")
    assert not failures, failures
    assert guard.attempts == []
    assert sum(stack.kitchen.calls.values()) == 1  # the warm-up call only


async def test_sec06_kid_injection(stack: Stack) -> None:
    kids: dict[str, Any] = {
        "sql": "' OR '1'='1",
        "path": "../../../../dev/null",
        "64KiB": "k" * 64 * 1024,
        "nul": "k1\u0000",
        "int": 7,
        "null": None,
        "did-web-of-attacker": "did:web:attacker.example#key-1",
    }
    await all_refused(
        stack, {name: forge(at_header(kid=kid), at_claims(), stack.key) for name, kid in kids.items()}
    )
    assert stack.jwks.hits <= 3  # unknown kids: bounded refetches (FLT-08), not one per token


async def test_sec06_duplicate_kids_in_the_jwks_refuse_the_key_set(stack: Stack) -> None:
    """The JWKS publishes two keys under one kid: the kit never picks "the first match"."""
    stack.jwks.publish("k1", generate())
    stack.clock.advance(__import__("datetime").timedelta(hours=1))  # past max_age: the set is refetched
    now = int(stack.clock.now().timestamp())
    token = forge(at_header(), at_claims(iat=now, exp=now + 300), stack.key)
    assert_mcp_401(rpc(stack.url, token))
    assert stack.kitchen.calls["list_menu"] == 0


async def test_sec07_crit(stack: Stack) -> None:
    crits = {
        "extension": {"crit": ["x-policy"], "x-policy": "require-mfa"},
        "empty": {"crit": []},
        "string": {"crit": "b64"},
        "alg": {"crit": ["alg"]},
        "exp-without-header": {"crit": ["exp"]},
    }
    await all_refused(
        stack, {n: forge(at_header(**extra), at_claims(), stack.key) for n, extra in crits.items()}
    )


async def test_sec08_unencoded_and_detached_payloads(stack: Stack) -> None:
    header = b64(json.dumps(at_header(b64=False, crit=["b64"])).encode())
    payload = json.dumps(at_claims())
    detached = header + ".." + b64(stack.key.sign((header + "." + payload).encode()))
    h, _, s = stack.token(scope=GRANTING).split(".")
    await all_refused(
        stack,
        {
            "b64-false-detached": detached,
            "b64-false-without-crit": forge(at_header(b64=False), at_claims(), stack.key),
            "detached-payload": f"{h}..{s}",
        },
    )


async def test_sec09_cross_jwt_confusion(stack: Stack) -> None:
    """(b) a VC-JWT / VP-JWT / VP document as bearer; (c) typ JWT or none; (d) an actor token —
    all signed with the STS's own published key so that only the type decides."""
    actor = {
        "iss": AGENT,
        "sub": AGENT,
        "aud": ISSUER,
        "iat": int(T0.timestamp()),
        "exp": int(T0.timestamp()) + 60,
        "jti": "a",
    }
    await all_refused(
        stack,
        {
            "b-vc+jwt": forge(at_header(typ="vc+jwt"), at_claims(), stack.key),
            "b-vp+jwt": forge(at_header(typ="vp+jwt"), at_claims(), stack.key),
            "b-vp-document": json.dumps({"type": ["VerifiablePresentation"], "holder": AGENT}),
            "c-JWT": forge(at_header(typ="JWT"), at_claims(), stack.key),
            "c-no-typ": forge({"alg": "EdDSA", "kid": "k1"}, at_claims(), stack.key),
            "d-actor-token": forge(at_header(typ="actor+jwt"), actor, stack.key),
            "d-actor-claims-typed-at": forge(at_header(), actor, stack.key),
        },
    )


async def test_sec10_jwe_compression_pbes2(stack: Stack) -> None:
    enc = b64(b"\x00" * 16)

    def jwe(header: dict[str, Any]) -> str:
        return ".".join([b64(json.dumps(header).encode()), enc, enc, b64(b"\x00" * 1024), enc])

    import time

    started = time.monotonic()
    await all_refused(
        stack,
        {
            "jwe": jwe({"alg": "dir", "enc": "A128GCM", "kid": "k1"}),
            "jwe-zip": jwe({"alg": "dir", "enc": "A128GCM", "zip": "DEF", "kid": "k1"}),
            "pbes2": jwe({"alg": "PBES2-HS256+A128KW", "p2c": 2_000_000_000, "p2s": enc, "enc": "A128GCM"}),
            "zip-in-jws": forge(at_header(zip="DEF"), at_claims(), stack.key),
        },
    )
    assert time.monotonic() - started < 2.0  # 4 refusals + 1 control over HTTP, no decryption work


async def test_sec11_duplicate_members(stack: Stack) -> None:
    header = '{"alg":"EdDSA","typ":"at+jwt","kid":"k1","alg":"none"}'
    payload = json.dumps(at_claims())[:-1] + ', "sub": "did:key:z6MkMallory"}'
    await all_refused(
        stack,
        {
            "duplicate-alg": forge(header, at_claims(), stack.key),
            "duplicate-sub": forge(at_header(), payload, stack.key),
        },
    )


async def test_sec12_non_canonical_encodings(stack: Stack) -> None:
    token = stack.token(scope=GRANTING)
    h, p, s = token.split(".")
    sig = multibase.b64url_decode(s)
    s_plus_l = int.from_bytes(sig[32:], "little") + 2**252 + 27742317777372353535851937790883648493
    variants = {
        "padding": f"{h}.{p}.{s}==",
        "header-padding": f"{h}=.{p}.{s}",
        "ed25519-S-plus-L": f"{h}.{p}.{b64(sig[:32] + s_plus_l.to_bytes(32, 'little'))}",
    }
    std = s.replace("-", "+").replace("_", "/")
    if std != s:
        variants["plus-slash"] = f"{h}.{p}.{std}"
    await all_refused(stack, variants)


async def test_sec13_numeric_date_type_confusion(stack: Stack) -> None:
    base = json.dumps(at_claims(exp="@EXP@"))
    raw = ["true", '"9999999999"', "1e400", "NaN", "Infinity", "-Infinity", "9" * 5000, str(2**63), "1.7e308"]
    variants = {f"exp={v[:12]}": forge(at_header(), base.replace('"@EXP@"', v), stack.key) for v in raw}
    variants["nbf=false"] = forge(at_header(), at_claims(nbf=False), stack.key)
    variants["iat=year-3000"] = forge(at_header(), at_claims(iat=32503680000), stack.key)
    await all_refused(stack, variants)


async def test_sec14_issuer_and_audience_exact_match(stack: Stack) -> None:
    issuers = {
        "suffix-domain": ISSUER + ".evil.tld",
        "prefix": ISSUER[: -len(".example")],
        "case": ISSUER.replace("verifier", "VERIFIER"),
        "trailing-slash": ISSUER + "/",
    }
    audiences: dict[str, Any] = {
        "aud-list-with-evil": [RESOURCE, "https://evil"],
        "aud-dot-dot": RESOURCE + "/../admin",
        "aud-case": RESOURCE.replace("mcp.urbanbites", "MCP.urbanbites"),
        "aud-trailing-slash": RESOURCE + "/",
    }
    variants = {f"iss-{n}": forge(at_header(), at_claims(iss=v), stack.key) for n, v in issuers.items()}
    variants.update({n: forge(at_header(), at_claims(aud=v), stack.key) for n, v in audiences.items()})
    await all_refused(stack, variants)
