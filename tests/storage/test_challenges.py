"""Single-use challenges (SECURITY SEC-23, FLT-05)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from did_agents.errors import VerificationError
from did_agents.storage import Challenge, ChallengeRepository, Database

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TTL = timedelta(minutes=5)
DOMAIN = "https://sts.example.com"


def _issue(db: Database, client_id: str | None = None) -> Challenge:
    with db.transaction() as conn:
        return ChallengeRepository(conn).issue(
            purpose="presentation", domain=DOMAIN, ttl=TTL, now=NOW, client_id=client_id
        )


def _spend(db: Database, nonce: str, at: datetime = NOW, **kw: str) -> Challenge:
    with db.transaction() as conn:
        return ChallengeRepository(conn).spend(nonce, at, **kw)


def _refusal(db: Database, nonce: str, at: datetime = NOW, **kw: str) -> str:
    with pytest.raises(VerificationError) as exc:
        _spend(db, nonce, at, **kw)
    return exc.value.reason


def test_issued_nonce_is_256_bit_random(db: Database) -> None:
    a, b = _issue(db), _issue(db)
    assert a.nonce != b.nonce and len(a.nonce) >= 43
    assert (a.expires_at, a.spent_at) == (NOW + TTL, None)


def test_spend_once(db: Database) -> None:
    challenge = _issue(db)
    spent = _spend(db, challenge.nonce, purpose="presentation", domain=DOMAIN)
    assert spent.spent_at == NOW


def test_second_spend_refused(db: Database) -> None:
    challenge = _issue(db)
    _spend(db, challenge.nonce)
    assert _refusal(db, challenge.nonce) == "challenge_spent"


def test_expired_refused(db: Database) -> None:
    challenge = _issue(db)
    assert _refusal(db, challenge.nonce, NOW + TTL) == "challenge_expired"


def test_unknown_refused(db: Database) -> None:
    assert _refusal(db, "never-issued") == "challenge_unknown"
    assert _refusal(db, "") == "challenge_unknown"
    assert _refusal(db, "x" * 10_000) == "challenge_unknown"


@pytest.mark.parametrize(
    "kw", [{"purpose": "other"}, {"domain": "https://evil.example"}, {"client_id": "did:key:z6MkOther"}]
)
def test_mismatch_refused_and_not_spent(db: Database, kw: dict[str, str]) -> None:
    challenge = _issue(db, client_id="did:key:z6MkAgent")
    assert _refusal(db, challenge.nonce, **kw) == "challenge_mismatch"
    _spend(db, challenge.nonce, client_id="did:key:z6MkAgent")  # still spendable by its owner


def test_challenge_bound_to_a_client_needs_that_client(db: Database) -> None:
    challenge = _issue(db, client_id="did:key:z6MkAgent")
    assert _refusal(db, challenge.nonce) == "challenge_mismatch"


def test_unbound_challenge_any_client(db: Database) -> None:
    challenge = _issue(db)
    _spend(db, challenge.nonce, client_id="did:key:z6MkAgent")


def test_refused_spend_rolls_back_with_its_transaction(db: Database) -> None:
    challenge = _issue(db)
    with pytest.raises(RuntimeError), db.transaction() as conn:
        ChallengeRepository(conn).spend(challenge.nonce, NOW)
        raise RuntimeError("verification failed later in the same transaction")
    _spend(db, challenge.nonce)


def test_concurrent_spends_exactly_one_wins(db: Database) -> None:
    # FLT-05: 50 racing requests with the same challenge.
    challenge = _issue(db)
    barrier = threading.Barrier(50)

    def attempt(_: int) -> str:
        barrier.wait()
        try:
            _spend(db, challenge.nonce)
        except VerificationError as exc:
            return exc.reason
        return "won"

    with ThreadPoolExecutor(50) as pool:
        outcomes = list(pool.map(attempt, range(50)))
    assert outcomes.count("won") == 1
    assert set(outcomes) == {"won", "challenge_spent"}


def test_purge_removes_only_expired(db: Database) -> None:
    old, fresh = _issue(db), None
    with db.transaction() as conn:
        fresh = ChallengeRepository(conn).issue(purpose="p", domain=DOMAIN, ttl=TTL, now=NOW + TTL)
        assert ChallengeRepository(conn).purge(NOW + TTL) == 1
        assert ChallengeRepository(conn).find(old.nonce) is None
        assert ChallengeRepository(conn).find(fresh.nonce) is not None
