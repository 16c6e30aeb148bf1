"""did_agents.clock: the dateTimeStamp form every credential and proof uses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from did_agents.clock import format_datetime, parse_datetime

ZONES = st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=11))])


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=ZONES))
def test_whole_seconds_in_utc_with_z_and_round_trips(value: datetime) -> None:
    text = format_datetime(value)
    assert len(text) == 20 and text[4] == "-" and text[10] == "T" and text.endswith("Z")
    assert parse_datetime(text) == value.astimezone(UTC).replace(microsecond=0)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (datetime(2026, 12, 1, 9, 0, 0, 999_999, tzinfo=UTC), "2026-12-01T09:00:00Z"),  # truncated
        (
            datetime(2026, 12, 1, 10, 30, tzinfo=timezone(timedelta(hours=1, minutes=30))),
            "2026-12-01T09:00:00Z",
        ),
        (datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC), "0999-01-02T03:04:05Z"),  # four-digit year
    ],
)
def test_examples(value: datetime, text: str) -> None:
    assert format_datetime(value) == text
