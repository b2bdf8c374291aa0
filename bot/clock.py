"""Time, injectable: production reads the system clock, tests and the demo move their own."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> datetime:
        self.now += delta
        return self.now


class SkippingClock:
    """Real time, plus jumps forward: the demo skips the quiet minutes of an incident."""

    def __init__(self, start: datetime, monotonic: Callable[[], float]) -> None:
        if start.tzinfo is None:
            raise ValueError("SkippingClock needs an aware datetime")
        self._start = start
        self._monotonic = monotonic
        self._origin = monotonic()
        self._skipped = timedelta(0)

    def __call__(self) -> datetime:
        return self._start + timedelta(seconds=self._monotonic() - self._origin) + self._skipped

    def skip_to(self, moment: datetime) -> timedelta:
        """Jump to ``moment`` if it is ahead; returns how far the clock jumped."""
        jump = max(moment - self(), timedelta(0))
        self._skipped += jump
        return jump
