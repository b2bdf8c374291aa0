"""What the emulator remembers about each Web API call."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Call:
    """One Web API call as answered.

    ``args`` are the merged query/form/JSON arguments (JSON fields decoded, no token);
    ``http_status`` is 0 for a dropped connection; ``at`` is ``time.monotonic()``.
    """

    method: str
    args: dict[str, Any]
    http_status: int
    ok: bool
    error: str | None
    at: float


def longest_run_of_429(calls: Iterable[Call]) -> int:
    """The longest run of consecutive HTTP 429 answers in ``calls``."""
    longest = current = 0
    for call in calls:
        current = current + 1 if call.http_status == 429 else 0
        longest = max(longest, current)
    return longest
