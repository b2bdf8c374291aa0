from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import SkippingClock

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_skipping_clock_runs_with_real_time_and_only_jumps_forward() -> None:
    ticks = iter([100.0, 100.0, 102.5, 103.0, 103.0, 104.0])
    clock = SkippingClock(START, lambda: next(ticks))
    assert clock() == START
    assert clock() == START + timedelta(seconds=2.5)
    assert clock.skip_to(START + timedelta(minutes=30)) == timedelta(minutes=30) - timedelta(seconds=3)
    assert clock.skip_to(START) == timedelta(0), "a moment in the past is not a jump back"
    assert clock() == START + timedelta(minutes=30, seconds=1)


def test_skipping_clock_needs_an_aware_start() -> None:
    with pytest.raises(ValueError, match="aware"):
        SkippingClock(START.replace(tzinfo=None), lambda: 0.0)
