"""Audit events: validation, no secrets, and the chain hash definition (DESIGN §8)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from did_agents.audit import GENESIS_HASH, AuditEvent, digest, event_hash
from did_agents.audit.event import format_time

T = datetime(2026, 12, 1, 9, 0, 0, 250000, tzinfo=UTC)
EVENT = AuditEvent(
    type="token_exchange.granted",
    decision="allowed",
    reason="ok",
    subject="did:key:z6MkSmith",
    actors=("did:key:z6MkPay", "did:key:z6MkOrdering"),
    client_id="did:key:z6MkPay",
    action="token_exchange",
    resource="https://mcp.urbanbites.example/mcp",
    details={"scope": "orders:read", "jti": "j1", "n": 1.0},
)


class TestHash:
    def test_hash_is_sha256_of_the_jcs_form(self) -> None:
        # The definition, spelled out by hand (RFC 8785: sorted keys, no spaces, 1.0 -> 1).
        event = AuditEvent(type="agent.suspended", decision="info", details={"b": 1.0, "a": "x"})
        expected = (
            '{"action":null,"actors":[],"client_id":null,"decision":"info",'
            '"details":{"a":"x","b":1},"prev_hash":"' + GENESIS_HASH + '","reason":null,'
            '"resource":null,"seq":1,"subject":null,"time":"2026-12-01T09:00:00.250000Z",'
            '"type":"agent.suspended"}'
        )
        assert event_hash(1, T, event, GENESIS_HASH) == hashlib.sha256(expected.encode()).hexdigest()

    def test_every_field_is_covered(self) -> None:
        base = event_hash(7, T, EVENT, GENESIS_HASH)
        variants = [
            event_hash(8, T, EVENT, GENESIS_HASH),
            event_hash(7, T + timedelta(microseconds=1), EVENT, GENESIS_HASH),
            event_hash(7, T, EVENT, "1" * 64),
        ]
        for field, value in [
            ("type", "token_exchange.denied"),
            ("decision", "denied"),
            ("reason", "other"),
            ("subject", "did:key:z6MkMallory"),
            ("actors", ("did:key:z6MkOrdering", "did:key:z6MkPay")),
            ("client_id", None),
            ("action", "x"),
            ("resource", "https://evil.example/mcp"),
            ("details", {"scope": "orders:*"}),
        ]:
            changed = AuditEvent(**{**EVENT.__dict__, field: value})
            variants.append(event_hash(7, T, changed, GENESIS_HASH))
        assert base not in variants and len(set(variants)) == len(variants)

    def test_time_is_utc_with_microseconds(self) -> None:
        other_zone = T.astimezone(timezone(timedelta(hours=5)))
        assert format_time(other_zone) == "2026-12-01T09:00:00.250000Z"
        assert event_hash(1, other_zone, EVENT, GENESIS_HASH) == event_hash(1, T, EVENT, GENESIS_HASH)
        with pytest.raises(ValueError):
            format_time(datetime(2026, 1, 1))


class TestValidation:
    @pytest.mark.parametrize("type_", ["", "issued", "Credential.Issued", "a..b", "a.b ", "x" * 70 + ".y"])
    def test_type_is_dotted_lower_case(self, type_: str) -> None:
        with pytest.raises(ValueError):
            AuditEvent(type=type_, decision="info")

    def test_decision_is_a_closed_set(self) -> None:
        with pytest.raises(ValueError):
            AuditEvent(type="a.b", decision="maybe")  # type: ignore[arg-type]

    @pytest.mark.parametrize("reason", ["", "Has Spaces", "x" * 65, "line\nbreak"])
    def test_reason_is_a_slug(self, reason: str) -> None:
        with pytest.raises(ValueError):
            AuditEvent(type="a.b", decision="denied", reason=reason)

    def test_actors_must_be_a_list_of_strings(self) -> None:
        with pytest.raises(ValueError):
            AuditEvent(type="a.b", decision="info", actors="did:key:z6MkA")

    @pytest.mark.parametrize("details", [{"n": float("nan")}, {"n": 2**80 + 1}, {1: "x"}, {"x": object()}])
    def test_details_must_be_canonical_json(self, details: dict[Any, Any]) -> None:
        with pytest.raises(ValueError):
            AuditEvent(type="a.b", decision="info", details=details)

    def test_details_are_bounded(self) -> None:
        with pytest.raises(ValueError):
            AuditEvent(type="a.b", decision="info", details={"x": "y" * 70_000})


class TestNoSecrets:
    """NEG-INV 3: digests only, never raw tokens or key material."""

    JWT = "eyJhbGciOiJFZERTQSIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"

    @pytest.mark.parametrize(
        "details",
        [
            {"token": JWT},
            {"nested": [{"vp": JWT}]},
            {"subject_token": "opaque"},
            {"Actor_Token": "opaque"},
            {"key": {"kty": "OKP", "crv": "Ed25519", "x": "abc", "d": "secret"}},
            {"password": "hunter2"},
        ],
    )
    def test_raw_secrets_refused(self, details: dict[str, Any]) -> None:
        with pytest.raises(ValueError):
            AuditEvent(type="token_exchange.denied", decision="denied", details=details)

    def test_digest_is_sri_sha256(self) -> None:
        # W3C SRI form: "sha256-" + base64 of the digest.
        assert digest("abc") == "sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
        assert digest(b"abc") == digest("abc")
        event = AuditEvent(type="token_exchange.denied", decision="denied", details={"vp": digest(self.JWT)})
        assert self.JWT not in str(event)
