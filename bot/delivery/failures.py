"""One short line that tells people in the channel what did not happen in Slack. Pure."""

from __future__ import annotations

from typing import Any

from bot.slack.blocks import escape

_WHAT = {
    "channel.topic": "set the channel topic",
    "channel.purpose": "set the channel purpose",
    "message.header": "post the incident header",
    "message.pin_header": "pin the incident header",
    "message.update_header": "update the incident header",
    "message.post": "post a message",
    "triage.notice": "post the triage notice",
}


def describe_failure(kind: str, payload: dict[str, Any], error: str) -> str:
    if kind == "channel.invite":
        what = f"invite {escape(str(payload.get('user')))}"
    elif kind == "bookmark.add":
        what = f"bookmark {escape(str(payload.get('title')))}"
    elif kind == "channel.create":
        what = "create the incident channel"
    else:
        what = _WHAT.get(kind, kind)
    return f"incident-bot could not {what}: Slack said `{escape(error)}`."
