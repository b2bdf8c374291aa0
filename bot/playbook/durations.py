"""Prometheus-style durations such as ``30s``, ``5m``, ``1h30m``, ``2d`` and ``1w``."""

from __future__ import annotations

import json
import re
from datetime import timedelta

__all__ = ["parse_duration", "prometheus_duration"]

# Units in the order Prometheus requires them (largest first, each at most once).
_UNITS: tuple[tuple[str, timedelta], ...] = (
    ("w", timedelta(weeks=1)),
    ("d", timedelta(days=1)),
    ("h", timedelta(hours=1)),
    ("m", timedelta(minutes=1)),
    ("s", timedelta(seconds=1)),
    ("ms", timedelta(milliseconds=1)),
)

_PATTERN = re.compile("".join(rf"(?:(?P<{unit}>[0-9]+){unit})?" for unit, _ in _UNITS))

_EXPECTED = "expected a duration like 30s, 5m, 1h30m, 2d (units: w, d, h, m, s, ms; largest first)"


def parse_duration(text: str) -> timedelta:
    """Parse a Prometheus-style duration into a :class:`~datetime.timedelta`.

    Accepts one or more ``<integer><unit>`` parts, largest unit first, each unit at most
    once: ``"90s"``, ``"1h30m"``, ``"1w2d"``. ``"0"`` and ``"0s"`` give a zero duration
    (whether zero is acceptable is up to the caller). Surrounding whitespace is ignored.

    Raises:
        ValueError: for anything else (negative numbers, fractions, unknown units, empty
            text), with a message that shows the expected form.
    """
    if not isinstance(text, str):
        raise ValueError(f"{_EXPECTED}, got {json.dumps(text, default=str)}")
    stripped = text.strip()
    if stripped == "0":
        return timedelta(0)
    match = _PATTERN.fullmatch(stripped)
    if not stripped or match is None:
        raise ValueError(f"{_EXPECTED}, got {json.dumps(text, default=str)}")
    total = timedelta(0)
    try:
        for unit, size in _UNITS:
            amount = match.group(unit)
            if amount is not None:
                total += int(amount) * size
    except OverflowError:
        raise ValueError(f"duration {json.dumps(text)} is too long") from None
    return total


def prometheus_duration(duration: timedelta) -> str:
    """Format a non-negative duration the Prometheus way, the inverse of :func:`parse_duration`.

    ``timedelta(hours=1, minutes=30)`` gives ``"1h30m"``; zero gives ``"0s"``. Precision
    below one millisecond is dropped (truncated), so the result always parses back. (For
    people, the postmortem writes ``1h 30m``: :func:`bot.postmortem.text.human_duration`.)

    Raises:
        ValueError: if the duration is negative.
    """
    if duration < timedelta(0):
        raise ValueError(f"cannot format a negative duration ({duration})")
    remaining = duration - timedelta(microseconds=duration.microseconds % 1000)
    parts: list[str] = []
    for unit, size in _UNITS:
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"
