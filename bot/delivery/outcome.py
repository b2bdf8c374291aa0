"""What carrying out one outbox action ends in: done (with what to write back), not ready
yet, or impossible because something it depends on never happened."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.slack.gateway import SlackPermanentError, SlackRateLimited
from storage.rows import NewEvent


@dataclass(frozen=True, slots=True)
class Done:
    """What a finished action produced, and what to write back in the same commit."""

    result: dict[str, Any] = field(default_factory=dict)
    incident_updates: dict[str, Any] = field(default_factory=dict)
    group_updates: dict[str, Any] = field(default_factory=dict)
    absorbed: list[int] = field(default_factory=list)  # later actions this one carried out too
    events: list[NewEvent] = field(default_factory=list)  # timeline events recording what it did


class NotReady(SlackRateLimited):
    """An earlier action of another queue has not happened yet: look again shortly, at a
    steady pace rather than with growing backoff, and without counting an attempt."""

    def __init__(self, method: str, reason: str, retry_after: float = 1.0) -> None:
        super().__init__(method, retry_after)
        self.error = reason
        self.args = (f"{method}: {reason}",)


class MissingPrerequisite(SlackPermanentError):
    """An earlier action this one depends on (the channel, the header) never happened."""
