"""Who asked for a command and where (a Slack channel, or the web workspace), and the reply."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Context:
    user: str
    channel: str  # the Slack channel it was typed in; "" from the web workspace
    source: str = "slash"  # or "button", "modal", "web"
    text: str = ""


@dataclass(frozen=True)
class Reply:
    text: str  # Slack mrkdwn
    changed: bool = False  # the command changed something (and the outbox has work)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def refused(self) -> bool:
        return bool(self.extra.get("refused", False))


def refused(text: str) -> Reply:
    """A refusal: recorded as a command that was not allowed, nothing else written."""
    return Reply(text, extra={"refused": True})
