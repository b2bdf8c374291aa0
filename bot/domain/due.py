"""When something is due, as people type it: a date (``2026-12-24``: by the end of that
day, UTC) or a duration from now in Prometheus syntax (``20s``, ``36h``, ``7d``). Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from bot.playbook import parse_duration

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DUE_FORMAT = "a date like 2026-12-24 or a duration like 36h or 7d"


class DueError(ValueError):
    """What is wrong with the due date, in words for the person who typed it."""


@dataclass(frozen=True, slots=True)
class Due:
    on: date | None = None  # by the end of this day, UTC
    within: timedelta | None = None  # this long from when it is set

    def at(self, now: datetime) -> datetime:
        """The due time; DueError when it is not after ``now``."""
        if self.on is not None:
            due = datetime.combine(self.on + timedelta(days=1), time(0), tzinfo=UTC)
            if due <= now:
                raise DueError(f"{self.on.isoformat()} is in the past; give a later date")
            return due
        assert self.within is not None
        return now + self.within


def parse_due(text: str) -> Due:
    """A date or a duration; DueError saying what to type otherwise."""
    word = text.strip()
    if _DATE.match(word):
        try:
            return Due(on=date.fromisoformat(word))
        except ValueError:
            raise DueError(f"`{word}` is not a date; give {DUE_FORMAT}") from None
    try:
        within = parse_duration(word)
    except ValueError:
        raise DueError(f"`{word[:30]}` is not a due date; give {DUE_FORMAT}") from None
    if within <= timedelta(0):
        raise DueError(f"`{word[:30]}` is not in the future; give {DUE_FORMAT}")
    return Due(within=within)


def describe_due(due_at: datetime, now: datetime) -> str:
    """``2026-12-05 14:00 UTC (in 3 days)`` — the time and how far away it is."""
    left = due_at - now
    if left < timedelta(0):
        distance = f"{_span(-left)} ago"
    else:
        distance = f"in {_span(left)}"
    return f"{due_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC ({distance})"


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size * 0.97:  # a timer that fires a moment late still reads "in 1 day"
            count = max(round(seconds / size), 1)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"
