"""Small pure formatters for the postmortem: durations, UTC times and safe Markdown."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TypeGuard

__all__ = [
    "clock",
    "code",
    "full_time",
    "human_duration",
    "is_slack_user",
    "link",
    "offset",
    "one_line",
    "quote",
    "safe_url",
    "to_utc",
    "user",
]

_SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,}")
_WHITESPACE = re.compile(r"\s+")
_BACKTICKS = re.compile(r"`+")


def human_duration(delta: timedelta) -> str:
    """A duration for people to read: ``42s``, ``4m 02s``, ``1h 03m``, ``2d 3h``; two units
    at most, truncated to whole seconds; a negative duration gets a leading ``-``.

    Not parseable back: playbook files use :func:`bot.playbook.durations.prometheus_duration`
    (``1h3m``) instead."""
    if delta < timedelta(0):
        return "-" + human_duration(-delta)
    total = delta.days * 86400 + delta.seconds
    if total < 60:
        return f"{total}s"
    if total < 3600:
        return f"{total // 60}m {total % 60:02d}s"
    if total < 86400:
        return f"{total // 3600}h {total % 3600 // 60:02d}m"
    return f"{total // 86400}d {total % 86400 // 3600}h"


def offset(delta: timedelta) -> str:
    """``T+4m 12s`` (or ``T-30s`` for something before the origin)."""
    if delta < timedelta(0):
        return "T-" + human_duration(-delta)
    return "T+" + human_duration(delta)


def to_utc(value: datetime, what: str = "datetime") -> datetime:
    """The same instant in UTC; a naive datetime is an error (its zone is unknown)."""
    tz = value.tzinfo
    if tz is UTC:
        return value
    if tz is None or tz.utcoffset(value) is None:
        raise ValueError(f"{what} is a naive datetime ({value.isoformat()}): expected a timezone-aware one")
    return value.astimezone(UTC)


def clock(value: datetime, with_date: bool) -> str:
    """``HH:MM:SS`` in UTC, prefixed with ``YYYY-MM-DD`` when asked."""
    value = to_utc(value)
    hms = f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d} {hms}" if with_date else hms


def full_time(value: datetime) -> str:
    return clock(value, True) + " UTC"


def one_line(text: object) -> str:
    """Whitespace (newlines included) collapsed to single spaces: safe inside one list line."""
    return _WHITESPACE.sub(" ", str(text)).strip()


def code(text: object) -> str:
    """An inline code span holding ``text`` literally, whatever backticks it contains."""
    value = one_line(text)
    if not value:
        return "``"
    longest = max((len(m) for m in _BACKTICKS.findall(value)), default=0)
    fence = "`" * (longest + 1)
    if longest or value.startswith(" ") or value.endswith(" "):
        return f"{fence} {value} {fence}"
    return f"{fence}{value}{fence}"


def quote(text: object, indent: str = "  ") -> str:
    """Slack text as a Markdown block quote nested in a list item: every line kept as it
    is (Slack's own escaping included), so a line starting with ``#`` or ``-`` stays
    inside the quote instead of breaking the document's structure."""
    lines = str(text).splitlines() or [""]
    return "\n".join(f"{indent}> {line.rstrip()}" if line.strip() else f"{indent}>" for line in lines)


def is_slack_user(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and _SLACK_USER.fullmatch(value) is not None


_ACTORS = {"alertmanager": "Alertmanager", "bot": "incident-bot"}


def user(value: object) -> str:
    """A Slack user id as a mention (``<@U123>``); the bot's own actors by name."""
    if value is None or value == "":
        return "nobody"
    if is_slack_user(value):
        return f"<@{value}>"
    return _ACTORS.get(str(value), one_line(value))


def safe_url(url: object) -> str | None:
    """``url`` if it is an absolute http(s) URL that can sit in a Markdown link, else None."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    lower = url.lower()
    if not lower.startswith(("http://", "https://")) or len(url) <= len("https://"):
        return None
    if any(c.isspace() or c in "<>" for c in url):
        return None
    return url


def link(title: str, url: object) -> str | None:
    """``[title](<url>)``: the angle brackets keep parentheses in the URL from ending it."""
    clean = safe_url(url)
    if clean is None:
        return None
    label = one_line(title).replace("[", "(").replace("]", ")") or "link"
    return f"[{label}](<{clean}>)"
