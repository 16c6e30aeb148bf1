"""SECURITY §A (SEC-01 … SEC-14) at the token endpoint: every JOSE attack sent as the
``actor_token`` of an otherwise valid RFC 8693 request to the real verifier on uvicorn
(SQLite and PostgreSQL). Expected everywhere: 400 ``invalid_request`` (RFC 8693 §2.2.2: an
actor token invalid for any reason), with NEG-INV (``checks.refused``). The library-level
vectors are in ``tests/test_jws.py``; these prove the endpoint refuses them and writes
nothing but the denial event.

The actor token is checked before the presentation, so one presentation (its challenge
unspent by these refusals) carries every variant.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from tests.delegation.urban_bites import T0
from tests.exchange.harness import ISSUER
from tests.security_oauth.checks import ConnectGuard as _ConnectGuard
from tests.security_oauth.checks import actor_claims, actor_header, b64, chain, forge, form, refused
from tests.verifier.conftest import Live

ED25519_L = 2**252 + 27742317777372353535851937790883648493


def _subject(live: Live) -> tuple[str, str]:
    return live.subject_token(live.w.ordering, chain(live))


def _refuse_all(live: Live, variants: dict[str, tuple[str, str]]) -> None:
    """``variants``: name → (actor token, expected audit reason)."""
    subject = _subject(live)
    _each(live, subject, variants)
    # Positive control: the same presentation with a genuine actor token is accepted.
    ok = live.post_token(form(subject, actor=live.h.actor_token(live.w.ordering)))
    assert ok.status_code == 200, ok.text


def _each(live: Live, subject: tuple[str, str], variants: dict[str, tuple[str, str]]) -> None:
    """Send every variant as the actor token with ``subject``; report all mismatches at once."""
    failures = []
    for name, (token, reason) in variants.items():
        try:
            refused(live, form(subject, actor=token), reason=reason)
        except AssertionError as exc:
            failures.append(f"variant {name!r}: {exc}")
    assert not failures, "\n".join(failures)


def _unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())


def test_sec01_alg_none_actor_token(live: Live) -> None:
    o = live.w.ordering
    genuine = forge(actor_header(o), actor_claims(o), o.key)
    variants = {
        f"{alg}-empty-signature": (
            forge(actor_header(o, alg=alg), actor_claims(o), None, signature=b""),
            "actor_token_alg_not_allowed",
        )
        for alg in ("none", "None", "NONE", "nOnE")
    }
    variants["none-with-original-signature"] = (
        _unsigned(actor_header(o, alg="none"), json.loads(multibase_payload(genuine)))
        + "."
        + genuine.split(".")[2],
        "actor_token_alg_not_allowed",
    )
    variants["no-third-segment"] = (
        _unsigned(actor_header(o, alg="none"), actor_claims(o)),
        "actor_token_malformed",
    )
    _refuse_all(live, variants)


def multibase_payload(token: str) -> str:
    from did_agents import multibase

    return multibase.b64url_decode(token.split(".")[1]).decode()


def test_sec02_hmac_keyed_with_the_agents_public_key(live: Live) -> None:
    o = live.w.ordering
    raw = o.key.public_key.raw
    public = ed25519.Ed25519PublicKey.from_public_bytes(raw)
    secrets = {
        "pem-spki": public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "der": public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "openssh": public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH),
        "jwk-json": json.dumps(o.key.public_key.to_jwk()).encode(),
        "raw": raw,
    }
    header = actor_header(o, alg="HS256")
    claims = actor_claims(o)
    variants = {}
    for name, secret in secrets.items():
        signing_input = _unsigned(header, claims)
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        variants[name] = (signing_input + "." + b64(mac), "actor_token_alg_not_allowed")
    _refuse_all(live, variants)


def _p384_raw_signature(message: bytes) -> bytes:
    key = ec.generate_private_key(ec.SECP384R1())
    r, s = decode_dss_signature(key.sign(message, ec.ECDSA(hashes.SHA384())))
    return r.to_bytes(48, "big") + s.to_bytes(48, "big")


def test_sec03_algorithm_key_type_and_case_games(live: Live) -> None:
    o = live.w.ordering
    claims = actor_claims(o)
    variants: dict[str, tuple[str, str]] = {
        # (a) ES256 in the header, signed by the agent's Ed25519 did:key.
        "a-ES256-header-Ed25519-key": (
            forge(actor_header(o, alg="ES256"), claims, o.key),
            "actor_token_alg_key_mismatch",
        ),
        # (c) lower-case eddsa (RFC 7515 §4.1.1: case-sensitive).
        "c-eddsa-lower-case": (
            forge(actor_header(o, alg="eddsa"), claims, o.key),
            "actor_token_alg_not_allowed",
        ),
        # (d) ES256K where the verification method is an Ed25519 key.
        "d-ES256K": (forge(actor_header(o, alg="ES256K"), claims, o.key), "actor_token_alg_not_allowed"),
    }
    # (b) ES256 with a P-384 signature.
    signing_input = _unsigned(actor_header(o, alg="ES256"), claims)
    variants["b-ES256-P384-signature"] = (
        signing_input + "." + b64(_p384_raw_signature(signing_input.encode())),
        "actor_token_alg_key_mismatch",
    )
    # (e) RS256 with a 1024-bit RSA key.
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    signing_input = _unsigned(actor_header(o, alg="RS256"), claims)
    signature = rsa_key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    variants["e-RS256-1024"] = (signing_input + "." + b64(signature), "actor_token_alg_not_allowed")
    _refuse_all(live, variants)


def _self_signed_certificate(key: ed25519.Ed25519PrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mallory")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, None)
    )
    return cert.public_bytes(serialization.Encoding.DER)


def test_sec04_key_carried_in_the_header(live: Live) -> None:
    """Signed by mallory, claiming to be the ordering agent, with mallory's key in the header."""
    w = live.w
    o, m = w.ordering, w.mallory
    claims = actor_claims(o)
    mallory_jwk = m.key.public_key.to_jwk()
    cert_key = ed25519.Ed25519PrivateKey.generate()
    x5c = [__import__("base64").b64encode(_self_signed_certificate(cert_key)).decode()]

    def cert_signed(header: dict[str, Any]) -> str:
        signing_input = _unsigned(header, claims)
        return signing_input + "." + b64(cert_key.sign(signing_input.encode()))

    variants = {
        "jwk-with-agent-kid": (
            forge(actor_header(o, jwk=mallory_jwk), claims, m.key),
            "actor_token_header_not_allowed",
        ),
        "jwk-without-kid": (
            forge({"alg": "EdDSA", "typ": "actor+jwt", "jwk": mallory_jwk}, claims, m.key),
            "actor_token_header_not_allowed",
        ),
        "x5c-self-signed": (cert_signed(actor_header(o, x5c=x5c)), "actor_token_header_not_allowed"),
        # Without any key header: mallory's signature under the agent's kid does not verify.
        "mallory-signature-agent-kid": (forge(actor_header(o), claims, m.key), "actor_token_bad_signature"),
    }
    _refuse_all(live, variants)


def _allowed(live: Live) -> set[tuple[str, int]]:
    from urllib.parse import urlsplit

    port = urlsplit(live.url).port
    assert port is not None
    allowed = {("127.0.0.1", port)}
    url = live.h.db.engine.url
    if url.host:
        allowed.add((url.host, url.port or 5432))
    return allowed


def test_sec05_key_urls_cause_no_outbound_connection(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    o = live.w.ordering
    claims = actor_claims(o)
    urls = {
        "jku-metadata": ("jku", "http://169.254.169.254/latest/meta-data/"),
        "jku-attacker": ("jku", "https://attacker.example/jwks.json"),
        "x5u-file": ("x5u", "file:///etc/passwd"),
        "jku-mapped-loopback-redis": ("jku", "http://[::ffff:127.0.0.1]:6379/"),
    }
    subject = _subject(live)  # before the guard: issuing the challenge needs the database only
    guard = _ConnectGuard(monkeypatch, _allowed(live))
    variants = {
        name: (
            forge({"alg": "EdDSA", "typ": "actor+jwt", "kid": o.vm, header: url}, claims, o.key),
            "actor_token_header_not_allowed",
        )
        for name, (header, url) in urls.items()
    }
    _each(live, subject, variants)
    assert guard.attempts == []


def test_sec06_kid_injection(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    o = live.w.ordering
    claims = actor_claims(o)
    subject = _subject(live)
    guard = _ConnectGuard(monkeypatch, _allowed(live))
    kids: dict[str, tuple[Any, str]] = {
        "sql": ("' OR '1'='1", "actor_token_unknown_key"),
        "path": ("../../../../dev/null", "actor_token_unknown_key"),
        "64KiB": ("k" * 64 * 1024, "actor_token_malformed"),
        "nul": ("k1\u0000", "actor_token_malformed"),
        "int": (7, "actor_token_malformed"),
        "null": (None, "actor_token_malformed"),
        # A kid of another DID than iss: refused before resolution (test below: nothing fetched).
        "other-did-web": ("did:web:attacker.example#key-1", "actor_token_wrong_issuer"),
        "other-did-key": (live.w.mallory.vm, "actor_token_wrong_issuer"),
    }
    variants = {
        name: (forge({"alg": "EdDSA", "typ": "actor+jwt", "kid": kid}, claims, o.key), reason)
        for name, (kid, reason) in kids.items()
    }
    _each(live, subject, variants)
    assert guard.attempts == []


def test_sec06_kid_of_another_did_is_refused_before_resolving_it(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token whose ``iss`` is the ordering agent but whose ``kid`` is a did:web URL on the
    attacker's host: the kid does not belong to the issuer, so nothing is fetched (NEG-INV 4)."""
    from did_agents.did.web import WebResolver
    from did_agents.fetch import FetchSettings, GuardedFetcher

    live.w.resolver.register("web", WebResolver(GuardedFetcher(FetchSettings())))
    o = live.w.ordering
    subject = _subject(live)
    guard = _ConnectGuard(monkeypatch, _allowed(live))
    token = forge(
        {"alg": "EdDSA", "typ": "actor+jwt", "kid": "did:web:attacker.example#key-1"}, actor_claims(o), o.key
    )
    refused(live, form(subject, actor=token), reason="actor_token_wrong_issuer")
    assert guard.attempts == []


def test_sec07_crit_in_every_shape(live: Live) -> None:
    o = live.w.ordering
    claims = actor_claims(o)
    crits: dict[str, dict[str, Any]] = {
        "extension": {"crit": ["x-policy"], "x-policy": "require-mfa"},
        "empty": {"crit": []},
        "string": {"crit": "b64"},
        "alg": {"crit": ["alg"]},
        "exp-without-header": {"crit": ["exp"]},
    }
    variants = {
        name: (forge(actor_header(o, **extra), claims, o.key), "actor_token_crit_not_understood")
        for name, extra in crits.items()
    }
    # JWS JSON serialization with crit in the unprotected header: not a compact token at all.
    compact = forge(actor_header(o), claims, o.key)
    h, p, s = compact.split(".")
    json_jws = json.dumps({"payload": p, "protected": h, "header": {"crit": ["x"]}, "signature": s})
    variants["json-serialization-unprotected-crit"] = (json_jws, "actor_token_malformed")
    _refuse_all(live, variants)


def test_sec08_unencoded_and_detached_payloads(live: Live) -> None:
    o = live.w.ordering
    claims = actor_claims(o)
    payload = json.dumps(claims)
    header = actor_header(o, b64=False, crit=["b64"])
    encoded_header = b64(json.dumps(header).encode())
    # RFC 7797 §3: the signing input is the header and the *raw* payload.
    detached_sig = o.key.sign((encoded_header + "." + payload).encode())
    compact = forge(actor_header(o), claims, o.key)
    h, p, s = compact.split(".")
    two_signatures = json.dumps(
        {
            "payload": p,
            "signatures": [
                {"protected": h, "signature": s},
                {"protected": b64(json.dumps(header).encode()), "signature": s},
            ],
        }
    )
    variants = {
        "b64-false-detached": (encoded_header + ".." + b64(detached_sig), "actor_token_crit_not_understood"),
        "b64-false-without-crit": (
            forge(actor_header(o, b64=False), claims, o.key),
            "actor_token_header_not_allowed",
        ),
        "detached-payload": (h + ".." + s, "actor_token_bad_signature"),
        "json-two-signatures-disagreeing": (two_signatures, "actor_token_malformed"),
    }
    _refuse_all(live, variants)


def test_sec09_cross_jwt_confusion_at_the_token_endpoint(live: Live) -> None:
    """(a) one of our access tokens as actor_token; a VC-JWT / VP-JWT / plain JWT / untyped token
    signed by the agent's own key as actor_token."""
    w = live.w
    o = w.ordering
    minted = live.post_token(form(live.subject_token(o, chain(live)))).json()["access_token"]
    claims = actor_claims(o)
    variants = {
        "a-access-token": (minted, "actor_token_unknown_key"),
        "vc+jwt": (forge(actor_header(o, typ="vc+jwt"), claims, o.key), "actor_token_wrong_typ"),
        "vp+jwt": (forge(actor_header(o, typ="vp+jwt"), claims, o.key), "actor_token_wrong_typ"),
        "at+jwt": (forge(actor_header(o, typ="at+jwt"), claims, o.key), "actor_token_wrong_typ"),
        "JWT": (forge(actor_header(o, typ="JWT"), claims, o.key), "actor_token_wrong_typ"),
        "no-typ": (forge({"alg": "EdDSA", "kid": o.vm}, claims, o.key), "actor_token_wrong_typ"),
    }
    _refuse_all(live, variants)


def test_sec10_jwe_compression_and_pbes2_are_refused_fast(live: Live) -> None:
    o = live.w.ordering
    enc = b64(b"\x00" * 16)

    def jwe(header: dict[str, Any]) -> str:
        return ".".join([b64(json.dumps(header).encode()), enc, enc, b64(b"\x00" * 1024), enc])

    variants = {
        "jwe-5-segments": (jwe({"alg": "dir", "enc": "A128GCM", "kid": o.vm}), "actor_token_malformed"),
        "jwe-zip-def": (
            jwe({"alg": "dir", "enc": "A128GCM", "zip": "DEF", "kid": o.vm}),
            "actor_token_malformed",
        ),
        "pbes2": (
            jwe({"alg": "PBES2-HS256+A128KW", "p2c": 2_000_000_000, "p2s": enc, "enc": "A128GCM"}),
            "actor_token_malformed",
        ),
        "zip-in-a-jws": (
            forge(actor_header(o, zip="DEF"), actor_claims(o), o.key),
            "actor_token_header_not_allowed",
        ),
        "pbes2-alg-in-a-jws": (
            forge(actor_header(o, alg="PBES2-HS256+A128KW", p2c=2_000_000_000), actor_claims(o), o.key),
            "actor_token_alg_not_allowed",
        ),
    }
    subject = _subject(live)
    for name, (token, reason) in variants.items():
        started = time.monotonic()
        try:
            refused(live, form(subject, actor=token), reason=reason, max_seconds=1.0)
        except AssertionError as exc:
            raise AssertionError(f"variant {name!r}: {exc}") from exc
        # < 100 ms server-side work; the round trip includes the audit write, so allow the wire.
        assert time.monotonic() - started < 0.5, name


def test_sec11_duplicate_members(live: Live) -> None:
    w = live.w
    o = w.ordering
    claims = actor_claims(o)
    header_text = f'{{"alg":"EdDSA","typ":"actor+jwt","kid":"{o.vm}","alg":"none"}}'
    payload_text = json.dumps(claims)[:-1] + f', "sub": "{w.mallory.did}"}}'
    variants = {
        "duplicate-alg": (forge(header_text, claims, o.key), "actor_token_duplicate_member"),
        "duplicate-sub": (forge(actor_header(o), payload_text, o.key), "actor_token_duplicate_member"),
    }
    _refuse_all(live, variants)
    # A delegation credential with two credentialSubject members inside the presentation.
    subject_token, token_type = live.subject_token(o, chain(live))
    doubled = subject_token.replace(
        '"credentialSubject": ', f'"credentialSubject": {{"id": "{w.mallory.did}"}}, "credentialSubject": ', 1
    )
    assert doubled != subject_token
    refused(live, form((doubled, token_type)), reason="duplicate_member")


def _s_plus_l(token: str) -> str:
    h, p, s = token.split(".")
    from did_agents import multibase

    sig = multibase.b64url_decode(s)
    s_value = int.from_bytes(sig[32:], "little") + ED25519_L
    return f"{h}.{p}.{b64(sig[:32] + s_value.to_bytes(32, 'little'))}"


def test_sec12_non_canonical_encodings_and_malleability(live: Live) -> None:
    o = live.w.ordering
    token = forge(actor_header(o), actor_claims(o), o.key)
    h, p, s = token.split(".")
    std = s.replace("-", "+").replace("_", "/")
    last = s[-1]
    # Ed25519 signature: 64 bytes → 86 base64url chars, the last carries 4 unused bits.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    stray = (
        alphabet[alphabet.index(last) | 1]
        if alphabet.index(last) % 16 == 0
        else alphabet[(alphabet.index(last) // 16) * 16 + 1]
    )
    variants = {
        "padding": (f"{h}.{p}.{s}==", "actor_token_malformed"),
        "header-padding": (f"{h}=.{p}.{s}", "actor_token_malformed"),
        "whitespace": (f"{h}.{p}. {s}", "actor_token_malformed"),
        "crlf": (f"{h}.{p}\r\n.{s}", "actor_token_malformed"),
        "trailing-bits": (f"{h}.{p}.{s[:-1]}{stray}", "actor_token_malformed"),
        "ed25519-S-plus-L": (_s_plus_l(token), "actor_token_bad_signature"),
    }
    if std != s:
        variants["plus-slash"] = (f"{h}.{p}.{std}", "actor_token_malformed")
    _refuse_all(live, variants)


def test_sec12_reencoded_copy_of_a_used_actor_token_is_a_replay(live: Live) -> None:
    """The replay cache is keyed on (agent, jti), not on token bytes: the same claims signed again
    under a header with another member order (new bytes, same jti) are refused as a replay."""
    o = live.w.ordering
    claims = actor_claims(o, jti="once-only")
    first = forge(actor_header(o), claims, o.key)
    ok = live.post_token(form(live.subject_token(o, chain(live)), actor=first))
    assert ok.status_code == 200, ok.text
    reordered = forge(
        {"kid": o.vm, "typ": "actor+jwt", "alg": "EdDSA"}, dict(reversed(claims.items())), o.key
    )
    assert reordered != first
    refused(live, form(live.subject_token(o, chain(live)), actor=reordered), reason="actor_token_replayed")


def test_sec13_numeric_date_type_confusion(live: Live) -> None:
    o = live.w.ordering
    now = int(T0.timestamp())
    base = json.dumps(actor_claims(o, exp="@EXP@"))
    raw_exp = {
        "true": ("true", "actor_token_bad_claim_type"),
        "string": ('"9999999999"', "actor_token_bad_claim_type"),
        "1e400": ("1e400", "actor_token_malformed"),
        "NaN": ("NaN", "actor_token_malformed"),
        "Infinity": ("Infinity", "actor_token_malformed"),
        "-Infinity": ("-Infinity", "actor_token_malformed"),
        "5000-digits": ("9" * 5000, "actor_token_malformed"),
        "2**63": (str(2**63), "actor_token_bad_claim_type"),
        "1.7e308": ("1.7e308", "actor_token_bad_claim_type"),
        "float": (f"{now + 60}.5", "actor_token_bad_claim_type"),
    }
    variants = {
        name: (forge(actor_header(o), base.replace('"@EXP@"', text), o.key), reason)
        for name, (text, reason) in raw_exp.items()
    }
    variants["nbf-false"] = (
        forge(actor_header(o), actor_claims(o, nbf=False), o.key),
        "actor_token_bad_claim_type",
    )
    variants["iat-year-3000"] = (
        forge(actor_header(o), actor_claims(o, iat=32503680000, exp=32503680060), o.key),
        "actor_token_iat_in_future",
    )
    _refuse_all(live, variants)


def test_sec14_actor_token_audience_is_exactly_the_issuer(live: Live) -> None:
    o = live.w.ordering
    auds: dict[str, Any] = {
        "suffix-domain": ISSUER + ".evil.tld",
        "prefix": ISSUER[: -len(".example")],
        "case": ISSUER.replace("verifier", "VERIFIER"),
        "trailing-slash": ISSUER + "/",
        "list-with-other-as": [ISSUER, "https://other-as.example"],
        "list-of-one": [ISSUER],
        "token-endpoint": ISSUER + "/oauth/token",
    }
    variants = {}
    for name, aud in auds.items():
        reason = "actor_token_wrong_audience"
        variants[name] = (forge(actor_header(o), actor_claims(o, aud=aud), o.key), reason)
    _refuse_all(live, variants)
