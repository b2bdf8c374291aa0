"""One short line that tells people in the channel what did not happen in Slack. Pure."""

from __future__ import annotations

from typing import Any

from bot.domain.kinds import ActionKind
from bot.slack.blocks import escape

_WHAT: dict[str, str] = {
    ActionKind.CHANNEL_TOPIC: "set the channel topic",
    ActionKind.CHANNEL_PURPOSE: "set the channel purpose",
    ActionKind.MESSAGE_HEADER: "post the incident header",
    ActionKind.MESSAGE_PIN_HEADER: "pin the incident header",
    ActionKind.MESSAGE_UPDATE_HEADER: "update the incident header",
    ActionKind.MESSAGE_POST: "post a message",
    ActionKind.TRIAGE_NOTICE: "post the triage notice",
}


def describe_failure(kind: str, payload: dict[str, Any], error: str) -> str:
    if kind == ActionKind.CHANNEL_INVITE:
        what = f"invite {escape(str(payload.get('user')))}"
    elif kind == ActionKind.BOOKMARK_ADD:
        what = f"bookmark {escape(str(payload.get('title')))}"
    elif kind == ActionKind.CHANNEL_CREATE:
        what = "create the incident channel"
    else:
        what = _WHAT.get(kind, kind)
    return f"incident-bot could not {what}: Slack said `{escape(error)}`."
