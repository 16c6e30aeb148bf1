"""FLT-12 (clock steps, with a ``FixedClock`` instead of libfaketime) and FLT-13 (no secrets in logs
or audit events) for the token endpoint on uvicorn, SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

import pytest

from did_agents.audit import AuditQuery
from did_agents.clock import FixedClock
from tests.security_oauth import checks
from tests.security_oauth.checks import chain, form, refused, remember_secret
from tests.verifier.conftest import Live


class SteppingClock:
    """Delegates to a ``FixedClock``; counts reads; once armed, every read after the first jumps
    by ``step`` (a clock step during a request)."""

    def __init__(self, base: FixedClock, step: timedelta) -> None:
        self.base = base
        self.step = step
        self.reads = 0
        self.armed = False

    def now(self) -> datetime:
        self.reads += 1
        if self.armed and self.reads > 1:
            self.base.advance(self.step)
        return self.base.now()

    def arm(self) -> None:
        self.reads = 0
        self.armed = True


@pytest.mark.parametrize("step", [timedelta(minutes=10), timedelta(minutes=-10)], ids=["forward", "backward"])
def test_flt12_one_clock_reading_decides_a_request(live: Live, step: timedelta) -> None:
    """A ±10 min clock step in the middle of an exchange changes nothing: the exchange reads the
    clock once and every validity decision (challenge TTL, actor token, chain, exp) uses it."""
    exchange = live.app.state.verifier.exchange
    clock = SteppingClock(live.h.clock, step)
    exchange.clock = clock
    start = live.h.clock.now()
    vp = live.subject_token(live.w.ordering, chain(live))
    actor = live.h.actor_token(live.w.ordering)
    clock.arm()
    response = live.post_token(form(vp, actor=actor))
    assert response.status_code == 200, response.text
    assert clock.reads == 1
    from tests.exchange.harness import decode_jwt

    claims = decode_jwt(response.json()["access_token"])[1]
    assert claims["iat"] == int(start.timestamp())


def test_flt12_clock_steps_never_resurrect_spent_or_expired_tokens(live: Live) -> None:
    h = live.h
    o = live.w.ordering
    actor = h.actor_token(o)  # 60 s lifetime
    assert live.post_token(form(live.subject_token(o, chain(live)), actor=actor)).status_code == 200
    # Forward 10 min: the actor token has expired (its replay entry may be purged: still refused).
    h.clock.advance(timedelta(minutes=10))
    refused(live, form(live.subject_token(o, chain(live)), actor=actor), reason="actor_token_expired")
    # Backward 10 min: the actor token looks current again, but its jti is still remembered.
    h.clock.advance(timedelta(minutes=-10))
    refused(live, form(live.subject_token(o, chain(live)), actor=actor), reason="actor_token_replayed")
    # A challenge issued, then a forward step past its TTL: expired; stepping back does not
    # un-spend a challenge that a refused-after-proof request consumed.
    nonce = live.challenge()
    h.clock.advance(timedelta(minutes=10))
    refused(live, form(live.subject_token(o, chain(live), challenge=nonce)), reason="challenge_expired")
    h.clock.advance(timedelta(minutes=-10))
    vp = live.subject_token(o, chain(live))
    refused(live, form(vp, scope="orders:delete"), reason="scope_not_granted", error="invalid_scope")
    h.clock.advance(timedelta(minutes=-10))
    refused(live, form(vp), reason="challenge_spent")


def test_flt13_no_token_in_logs_or_audit_events(live: Live, caplog: pytest.LogCaptureFixture) -> None:
    """Grants and refusals leave digests, never tokens, presentations or keys, in the audit log
    and in every service log record (the autouse fixture greps the records at teardown too)."""
    w = live.w
    h = live.h
    presented: list[str] = []
    for holder, actor_party, scope in (
        (w.ordering, w.ordering, "orders:read"),  # granted
        (w.ordering, w.mallory, "orders:read"),  # actor is not the delegatee
        (w.mallory, None, "orders:read"),  # wrong holder
        (w.ordering, None, "orders:delete"),  # scope refused after proof
    ):
        vp = live.subject_token(holder, chain(live))
        actor = h.actor_token(actor_party) if actor_party is not None else None
        response = live.post_token(form(vp, actor=actor, scope=scope))
        presented += [vp[0]] + ([actor] if actor else [])
        if response.status_code == 200:
            presented.append(response.json()["access_token"])
    # A body the exchange cannot parse at all: logged failures must not echo it.
    live.post_token(
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token=%7B%22x"
    )
    for token in presented:
        remember_secret(token)
    with h.db.read() as conn:
        from did_agents.audit import AuditLog

        records = AuditLog(conn, h.clock).query(AuditQuery(limit=1000))
    assert len(records) == 5
    text = json.dumps([r.event.details for r in records], default=str)
    leaks = [s[:16] for s in checks.SECRETS if s in text]
    assert leaks == []
    assert all(r.event.reason for r in records)
    assert sum(1 for r in records if r.event.decision == "denied") == 4
    assert checks.leaked_secrets(caplog.records) == []


def test_flt13_the_log_grep_finds_a_leak() -> None:
    """The log check itself can fail: a record carrying a registered token fragment is reported."""
    checks.SECRETS.append("eyJhbGciOiJFZERTQSJ9-canary-signature")
    record = logging.LogRecord(
        "did_agents.exchange",
        logging.INFO,
        __file__,
        1,
        "token %s",
        ("eyJhbGciOiJFZERTQSJ9-canary-signature",),
        None,
    )
    assert checks.leaked_secrets([record]) == [("did_agents.exchange", "eyJhbGciOiJFZERTQSJ9-can")]
    checks.SECRETS.clear()
