"""The error a Web API method raises to answer ``{"ok": false, "error": ...}``."""

from __future__ import annotations

from typing import Any


class SlackError(Exception):
    """A Slack error code, plus any extra top-level fields Slack sends with it."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra

    def body(self) -> dict[str, Any]:
        """The JSON body Slack answers with (HTTP 200)."""
        return {"ok": False, "error": self.error, **self.extra}


def invalid_arguments(*messages: str) -> SlackError:
    """Slack's generic answer to a missing or malformed argument."""
    return SlackError("invalid_arguments", response_metadata={"messages": [f"[ERROR] {m}" for m in messages]})
