"""Bodies Slack sends to an app: slash commands (B1), interactions and event envelopes (B3)."""

from __future__ import annotations

import time
from typing import Any

from .errors import SlackError
from .responses import ResponseUrls
from .state import Ephemeral, Workspace

VERIFICATION_TOKEN = "verification-token"


def slash_command_fields(ws: Workspace, responses: ResponseUrls, *, command: str, text: str, user_id: str,
                         channel_id: str, extra: dict[str, str]) -> dict[str, str]:
    """Every form field of a slash command; ``extra`` overrides or adds fields."""
    channel = ws.channels.get(channel_id)
    fields = {
        "token": VERIFICATION_TOKEN, "team_id": ws.team_id, "team_domain": ws.team_domain,
        "channel_id": channel_id, "channel_name": channel.name if channel else "directmessage",
        "user_id": user_id, "user_name": ws.users.get(user_id, "unknown"), "command": command, "text": text,
        "api_app_id": ws.app_id, "is_enterprise_install": "false",
        "response_url": responses.issue(channel_id=channel_id, user_id=user_id),
        "trigger_id": ws.new_trigger_id(),
    }
    fields.update(extra)
    return fields


def _user(ws: Workspace, user_id: str) -> dict[str, str]:
    name = ws.users.get(user_id, "unknown")
    return {"id": user_id, "username": name, "name": name, "team_id": ws.team_id}


def complete_interaction(ws: Workspace, responses: ResponseUrls, payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` with what Slack always sends filled in where missing.

    Adds ``token``, ``team``, ``api_app_id`` and a fresh ``trigger_id``; for message actions a
    ``response_url`` bound to the message; for ``view_submission`` an empty ``response_urls``.
    """
    full = {"token": VERIFICATION_TOKEN, "team": {"id": ws.team_id, "domain": ws.team_domain},
            "api_app_id": ws.app_id, "trigger_id": ws.new_trigger_id(), **payload}
    if full.get("type") == "view_submission":
        full.setdefault("response_urls", [])
    elif "response_url" not in full and full.get("type") in ("block_actions", "message_action", "shortcut"):
        channel_id = (full.get("channel") or {}).get("id") or (full.get("container") or {}).get("channel_id")
        message_ts = (full.get("container") or {}).get("message_ts") or (full.get("message") or {}).get("ts")
        user_id = (full.get("user") or {}).get("id")
        full["response_url"] = responses.issue(channel_id=channel_id, user_id=user_id, message_ts=message_ts)
    return full


def block_action_payload(ws: Workspace, *, channel_id: str, message_ts: str, action_id: str, user_id: str,
                         value: str | None = None) -> dict[str, Any]:
    """A ``block_actions`` payload for clicking ``action_id`` on a stored message."""
    channel = ws.channels[channel_id]
    message = channel.message(message_ts)
    if message is None:
        raise SlackError("message_not_found")
    action = element_action(message.blocks or [], action_id, value)
    return {
        "type": "block_actions", "user": _user(ws, user_id),
        "channel": {"id": channel.id, "name": channel.name},
        "container": {"type": "message", "message_ts": message.ts, "channel_id": channel.id, "is_ephemeral": False},
        "message": ws.message_json(channel, message, metadata=False), "actions": [action],
    }


def element_action(blocks: list[dict[str, Any]], action_id: str, value: str | None) -> dict[str, Any]:
    """The ``actions`` entry for using the element ``action_id`` of these blocks: a button's
    value, or for a menu (overflow, select) the option whose value is ``value``."""
    for block in blocks:
        elements = list(block.get("elements") or []) + ([block["accessory"]] if block.get("accessory") else [])
        for element in elements:
            if not isinstance(element, dict) or element.get("action_id") != action_id:
                continue
            action = {"action_id": action_id, "block_id": block.get("block_id", ""), "type": element["type"],
                      "action_ts": f"{time.time():.6f}"}
            if element.get("options") is not None:
                chosen = [o for o in element["options"] if o.get("value") == value]
                if not chosen:
                    raise KeyError(f"no option with value {value!r} in element {action_id!r}")
                action["selected_option"] = chosen[0]
                return action
            if element.get("text") is not None:
                action["text"] = element["text"]
            if value is not None or element.get("value") is not None:
                action["value"] = value if value is not None else element["value"]
            return action
    raise KeyError(f"no element with action_id {action_id!r} in these blocks")


def ephemeral_action_payload(ws: Workspace, ephemeral: Ephemeral, *, action_id: str, value: str | None,
                             user_id: str) -> dict[str, Any]:
    """A ``block_actions`` payload for using an element of an ephemeral message: Slack sends
    no ``message`` for those, only the container."""
    if ephemeral.user != user_id:
        raise SlackError("ephemeral messages are seen only by their user")
    channel = ws.channels[ephemeral.channel]
    return {
        "type": "block_actions", "user": _user(ws, user_id), "channel": {"id": channel.id, "name": channel.name},
        "container": {"type": "message", "message_ts": ephemeral.ts, "channel_id": channel.id, "is_ephemeral": True},
        "actions": [element_action(ephemeral.blocks or [], action_id, value)],
    }


def event_envelope(ws: Workspace, event: dict[str, Any], event_id: str) -> dict[str, Any]:
    """The ``event_callback`` envelope around ``event`` (``event_ts`` added if missing)."""
    now = time.time()
    inner = {"event_ts": f"{now:.6f}", **event}
    return {
        "token": VERIFICATION_TOKEN, "team_id": ws.team_id, "api_app_id": ws.app_id, "event": inner,
        "type": "event_callback", "event_id": event_id, "event_time": int(now),
        "authorizations": [{"enterprise_id": None, "team_id": ws.team_id, "user_id": ws.bot_user_id,
                            "is_bot": True, "is_enterprise_install": False}],
        "is_ext_shared_channel": False, "event_context": f"4-{event_id}", "context_team_id": ws.team_id,
        "context_enterprise_id": None,
    }


def message_shortcut_payload(ws: Workspace, *, callback_id: str, channel_id: str, message_ts: str,
                             user_id: str) -> dict[str, Any]:
    """A ``message_action`` payload: ``user_id`` chose the app's message shortcut
    ``callback_id`` on a stored message (Slack's shortcut interaction payload)."""
    channel = ws.channels[channel_id]
    message = channel.message(message_ts)
    if message is None:
        raise SlackError("message_not_found")
    return {
        "type": "message_action", "callback_id": callback_id, "action_ts": f"{time.time():.6f}",
        "user": _user(ws, user_id), "channel": {"id": channel.id, "name": channel.name},
        "message_ts": message.ts, "message": ws.message_json(channel, message, metadata=False),
        "is_enterprise_install": False, "enterprise": None,
    }
