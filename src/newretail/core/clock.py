"""Time for every service.

Services never call ``datetime.now()``: they ask a :class:`Clock`. Production uses
:class:`SystemClock`; the digital twin and the tests use :class:`SimulatedClock`, which only moves
when told to, so a simulated day runs in seconds against the real services.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class SimulatedClock:
    """A clock that stands still until advanced. Thread-safe."""

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError("SimulatedClock needs a timezone-aware start")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("time cannot move backwards")
        with self._lock:
            self._now += delta
            return self._now

    def set(self, instant: datetime) -> None:
        instant = instant.astimezone(UTC)
        with self._lock:
            if instant < self._now:
                raise ValueError("time cannot move backwards")
            self._now = instant


def as_utc(instant: datetime) -> datetime:
    """Databases such as SQLite hand back naive datetimes; we store UTC, so re-attach it."""
    if instant.tzinfo is None:
        return instant.replace(tzinfo=UTC)
    return instant.astimezone(UTC)
