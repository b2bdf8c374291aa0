from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.playbook.durations import parse_duration, prometheus_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("5m", timedelta(minutes=5)),
        ("1h", timedelta(hours=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("2d", timedelta(days=2)),
        ("1w", timedelta(weeks=1)),
        ("250ms", timedelta(milliseconds=250)),
        ("1m5ms", timedelta(minutes=1, milliseconds=5)),
        (
            "1w2d3h4m5s6ms",
            timedelta(weeks=1, days=2, hours=3, minutes=4, seconds=5, milliseconds=6),
        ),
        ("90m", timedelta(minutes=90)),
        (" 10s ", timedelta(seconds=10)),
    ],
)
def test_parse_duration_accepts_prometheus_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["0", "0s", "0m"])
def test_parse_duration_allows_explicit_zero(text: str) -> None:
    assert parse_duration(text) == timedelta(0)


@pytest.mark.parametrize(
    "text", ["", "   ", "5", "-5m", "1.5h", "5 m", "1m1h", "5mm", "1y", "abc", "5M", "1h 30m", "٣s"]
)
def test_parse_duration_rejects_garbage_with_the_expected_form(text: str) -> None:
    with pytest.raises(ValueError, match=r"expected a duration like 30s, 5m, 1h30m, 2d"):
        parse_duration(text)


def test_parse_duration_rejects_absurdly_long_durations() -> None:
    with pytest.raises(ValueError, match="too long"):
        parse_duration("99999999999999w")


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (timedelta(0), "0s"),
        (timedelta(hours=1, minutes=30), "1h30m"),
        (timedelta(days=7), "1w"),
        (timedelta(days=9, seconds=1), "1w2d1s"),
        (timedelta(milliseconds=1500), "1s500ms"),
        (timedelta(microseconds=999), "0s"),
    ],
)
def test_prometheus_duration_is_compact(duration: timedelta, text: str) -> None:
    assert prometheus_duration(duration) == text


def test_prometheus_duration_rejects_negative_durations() -> None:
    with pytest.raises(ValueError, match="negative"):
        prometheus_duration(timedelta(seconds=-1))


@given(st.integers(min_value=0, max_value=10**12))
def test_format_then_parse_round_trips_whole_milliseconds(milliseconds: int) -> None:
    duration = timedelta(milliseconds=milliseconds)
    assert parse_duration(prometheus_duration(duration)) == duration
