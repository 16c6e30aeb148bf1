"""Clocks. Every time-dependent decision takes a ``Clock`` so tests never sleep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "FixedClock", "SystemClock", "format_datetime", "parse_datetime"]


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that only moves when told to."""

    def __init__(self, at: datetime | None = None) -> None:
        self._now = at or datetime(2026, 12, 1, 9, 0, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, at: datetime) -> None:
        self._now = at

    def advance(self, delta: timedelta | float) -> None:
        if not isinstance(delta, timedelta):
            delta = timedelta(seconds=delta)
        self._now = self._now + delta


def format_datetime(value: datetime) -> str:
    """XML Schema dateTimeStamp in UTC with a ``Z`` and whole seconds (VCDM 2.0 §4.9).

    The year has four digits always (XML Schema 1.1 Part 2 §3.3.7 ``yearFrag``), which
    ``isoformat`` writes and ``strftime("%Y")`` does not for years before 1000.
    """
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def parse_datetime(value: object) -> datetime:
    """Parse an XML Schema ``dateTimeStamp`` (a time zone is required).

    Raises ``ValueError`` for anything else, including naive times.
    """
    if not isinstance(value, str) or "T" not in value:
        raise ValueError(f"not a dateTimeStamp: {value!r}")
    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"dateTimeStamp without time zone: {value!r}")
    return parsed.astimezone(UTC)
