from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.rotation import commander_at, handoff_at, next_handoff, next_in_rotation
from bot.playbook import Rotation

USERS = ["U0000000001", "U0000000002", "U0000000003"]


def rotation(timezone: str, *, start: str = "2026-01-05T09:00", period: str = "1w") -> Rotation:
    return Rotation.model_validate(
        {"users": USERS, "start": start, "period": period, "timezone": timezone}
    )


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_first_user_is_on_call_from_start_and_users_take_turns() -> None:
    weekly = rotation("UTC")
    assert commander_at(weekly, utc(2026, 1, 5, 9, 0)) == USERS[0]
    assert commander_at(weekly, utc(2026, 1, 12, 8, 59)) == USERS[0]
    assert commander_at(weekly, utc(2026, 1, 12, 9, 0)) == USERS[1]
    assert commander_at(weekly, utc(2026, 1, 19, 9, 0)) == USERS[2]
    assert commander_at(weekly, utc(2026, 1, 26, 9, 0)) == USERS[0]


def test_before_start_the_first_user_is_on_call() -> None:
    assert commander_at(rotation("UTC"), utc(2025, 12, 31, 12, 0)) == USERS[0]


def test_weekly_handoff_stays_at_local_nine_across_berlin_spring_forward() -> None:
    berlin = rotation("Europe/Berlin")
    # Monday 2026-03-23 09:00 CET is 08:00 UTC; after the 2026-03-29 change, Monday
    # 2026-03-30 09:00 CEST is 07:00 UTC. 12 weeks after start -> users[12 % 3].
    assert commander_at(berlin, utc(2026, 3, 23, 7, 59)) == USERS[1]
    assert commander_at(berlin, utc(2026, 3, 23, 8, 0)) == USERS[2]
    assert commander_at(berlin, utc(2026, 3, 30, 6, 59)) == USERS[2]
    assert commander_at(berlin, utc(2026, 3, 30, 7, 0)) == USERS[0]
    assert handoff_at(berlin, 12) == utc(2026, 3, 30, 7, 0)


def test_weekly_handoff_stays_at_local_nine_across_new_york_spring_forward() -> None:
    new_york = rotation("America/New_York")
    # Monday 2026-03-02 09:00 EST is 14:00 UTC; after the 2026-03-08 change, Monday
    # 2026-03-09 09:00 EDT is 13:00 UTC (8 and 9 weeks after start).
    assert commander_at(new_york, utc(2026, 3, 2, 13, 59)) == USERS[1]
    assert commander_at(new_york, utc(2026, 3, 2, 14, 0)) == USERS[2]
    assert commander_at(new_york, utc(2026, 3, 9, 12, 59)) == USERS[2]
    assert commander_at(new_york, utc(2026, 3, 9, 13, 0)) == USERS[0]
    assert handoff_at(new_york, 9) == utc(2026, 3, 9, 13, 0)


def test_handoff_inside_a_dst_gap_happens_when_the_clock_has_jumped() -> None:
    # 2026-03-29 02:30 does not exist in Berlin; the handoff uses the pre-jump offset
    # (+01:00), i.e. 01:30 UTC = 03:30 CEST.
    nightly = rotation("Europe/Berlin", start="2026-03-28T02:30", period="1d")
    assert handoff_at(nightly, 1) == utc(2026, 3, 29, 1, 30)
    assert commander_at(nightly, utc(2026, 3, 29, 1, 29)) == USERS[0]
    assert commander_at(nightly, utc(2026, 3, 29, 1, 30)) == USERS[1]


def test_handoff_inside_a_dst_fold_happens_at_the_first_occurrence() -> None:
    # 2026-10-25 02:30 happens twice in Berlin; the first one is 00:30 UTC (CEST).
    nightly = rotation("Europe/Berlin", start="2026-10-24T02:30", period="1d")
    assert handoff_at(nightly, 1) == utc(2026, 10, 25, 0, 30)
    assert commander_at(nightly, utc(2026, 10, 25, 0, 29)) == USERS[0]
    assert commander_at(nightly, utc(2026, 10, 25, 0, 30)) == USERS[1]
    # The second 02:10 (01:10 UTC) is after the handoff even though 02:10 < 02:30.
    assert commander_at(nightly, utc(2026, 10, 25, 1, 10)) == USERS[1]


def test_commander_at_accepts_any_aware_instant_and_rejects_naive() -> None:
    weekly = rotation("Europe/Berlin")
    instant = utc(2026, 1, 12, 8, 0)
    assert commander_at(weekly, instant.astimezone()) == commander_at(weekly, instant) == USERS[1]
    with pytest.raises(ValueError, match="timezone-aware"):
        commander_at(weekly, datetime(2026, 1, 12, 9, 0))


def test_next_handoff_is_strictly_after_the_instant() -> None:
    weekly = rotation("UTC")
    assert next_handoff(weekly, utc(2026, 1, 1)) == utc(2026, 1, 5, 9, 0)
    assert next_handoff(weekly, utc(2026, 1, 5, 9, 0)) == utc(2026, 1, 12, 9, 0)


def test_long_running_rotation_is_computed_directly() -> None:
    hourly = rotation("UTC", period="1h")
    later = utc(2026, 1, 5, 9, 0) + timedelta(hours=30_001)
    assert commander_at(hourly, later) == USERS[30_001 % 3]


def test_next_in_rotation_returns_the_following_user_and_none_at_the_end() -> None:
    weekly = rotation("UTC")
    assert next_in_rotation(weekly, USERS[0]) == USERS[1]
    assert next_in_rotation(weekly, USERS[1]) == USERS[2]
    assert next_in_rotation(weekly, USERS[2]) is None
    assert next_in_rotation(weekly, "U0NOTLISTED") is None
