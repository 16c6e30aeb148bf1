"""SECURITY FLT-03 at the token endpoint: when the database cannot take the audit event, the
exchange fails closed — 503 ``temporarily_unavailable``, no token in the answer, nothing
stored, the challenge not spent — and works again once the database does, with no restart.

The fault is the database's own: a trigger makes every ``INSERT`` into ``audit_events`` fail
inside the engine (PostgreSQL: SQLSTATE 53100 ``disk_full``, what a full disk raises; SQLite:
an error at statement preparation, as an I/O error would be), so the exchange's real commit
path meets it, inline on SQLite and in a worker thread on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from did_agents.storage import ChallengeRepository, Database
from tests.verifier.conftest import Live
from tests.verifier.test_wire import chain

_POSTGRES_FUNCTION = """
CREATE FUNCTION flt03_disk_full() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
    RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full';
END
$body$
"""


@contextmanager
def audit_inserts_fail(db: Database) -> Iterator[None]:
    with db.transaction() as conn:
        if db.backend == "sqlite":
            conn.exec_driver_sql(
                "CREATE TRIGGER flt03_disk_full BEFORE INSERT ON audit_events"
                " BEGIN SELECT flt03_no_space_left_on_device(); END"
            )
        else:
            conn.exec_driver_sql(_POSTGRES_FUNCTION)
            conn.exec_driver_sql(
                "CREATE TRIGGER flt03_disk_full BEFORE INSERT ON audit_events"
                " FOR EACH ROW EXECUTE FUNCTION flt03_disk_full()"
            )
    try:
        yield
    finally:
        with db.transaction() as conn:
            if db.backend == "sqlite":
                conn.exec_driver_sql("DROP TRIGGER flt03_disk_full")
            else:
                conn.exec_driver_sql("DROP TRIGGER flt03_disk_full ON audit_events")
                conn.exec_driver_sql("DROP FUNCTION flt03_disk_full()")


def test_audit_write_failure_mints_nothing_and_the_endpoint_recovers(live: Live) -> None:
    db = live.h.db
    nonce = live.challenge()
    body = live.form(live.subject_token(live.w.ordering, chain(live), challenge=nonce))
    before = db.row_counts()

    with audit_inserts_fail(db):
        refused = live.post_token(body)
        assert refused.status_code == 503, refused.text
        assert refused.headers["cache-control"] == "no-store"
        assert set(refused.json()) == {"error", "error_description"}
        assert refused.json()["error"] == "temporarily_unavailable"
        assert "access_token" not in refused.text and "Traceback" not in refused.text
        # Nothing minted or recorded: the token row, the spend and the event rolled back together
        # (and the denial's own record met the same fault).
        assert db.row_counts() == before
        with db.read() as conn:
            challenge = ChallengeRepository(conn).find(nonce)
        assert challenge is not None and challenge.spent_at is None

    # Space again: the same request is answered, once, with no restart.
    granted = live.post_token(body)
    assert granted.status_code == 200, granted.text
    after = db.row_counts()
    assert after["access_tokens"] == before["access_tokens"] + 1
    assert after["audit_events"] == before["audit_events"] + 1
    replayed = live.post_token(body)
    assert replayed.status_code == 400 and replayed.json()["error"] == "invalid_request"
