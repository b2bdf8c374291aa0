"""When something is due, as people type it: a date (``2026-12-24``: by the end of that
day, UTC) or a duration from now in Prometheus syntax (``20s``, ``36h``, ``7d``). Pure.
Follow-ups and postmortems take the same words."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from bot.playbook import parse_duration

_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
MAX_DUE = timedelta(days=3660)
DUE_FORMAT = "a date like 2026-12-24 or a duration like 36h or 7d"

Due = date | timedelta


class DueError(ValueError):
    """What is wrong with the due date, in words for the person who typed it."""


def parse_due(word: str) -> Due:
    """A date (``2026-12-24``) or a Prometheus duration (``20s``, ``7d``, ``1w2d``)."""
    word = word.strip()
    if _DATE.match(word):
        try:
            return date.fromisoformat(word)
        except ValueError:
            raise DueError(f"`{word[:20]}` is not a date") from None
    try:
        duration = parse_duration(word)
    except ValueError:
        raise DueError(f"`{word[:20]}` is neither a date (YYYY-MM-DD) nor a duration (20s, 4h, 7d)") from None
    if duration <= timedelta(0):
        raise DueError("A due duration must be more than 0")
    if duration > MAX_DUE:
        raise DueError("Set a due time within ten years")
    return duration


def due_at(due: Due, now: datetime) -> datetime:
    """When ``due`` falls due; a date that has already ended is refused (DueError)."""
    if isinstance(due, timedelta):
        return now + due
    end_of_day = datetime.combine(due + timedelta(days=1), time(0), tzinfo=UTC)
    if end_of_day <= now:
        raise DueError(f"{due.isoformat()} is in the past (today is {now.astimezone(UTC):%Y-%m-%d} UTC)")
    return end_of_day


def due_label(at: datetime) -> str:
    """How a due time reads: the date for an end of day, else date and time (UTC)."""
    at = at.astimezone(UTC)
    if at.time() == time(0):
        return (at - timedelta(days=1)).strftime("%Y-%m-%d")
    return at.strftime("%Y-%m-%d %H:%M:%S UTC" if at.second else "%Y-%m-%d %H:%M UTC")


def describe_due(at: datetime, now: datetime) -> str:
    """``2026-12-05 14:00 UTC (in 3 days)`` — the time and how far away it is."""
    left = at - now
    distance = f"{_span(-left)} ago" if left < timedelta(0) else f"in {_span(left)}"
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M} UTC ({distance})"


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size * 0.97:  # a timer that fires a moment late still reads "in 1 day"
            count = max(round(seconds / size), 1)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"
