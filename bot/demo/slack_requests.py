"""Signed requests as Slack sends them to ``/slack/events``: slash commands and button clicks.

The signature is Slack's v0 scheme (PROTOCOLS: request signing), so the bot's Bolt app
verifies them exactly as it verifies Slack's.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode


def signed_headers(secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}",
            "Content-Type": "application/x-www-form-urlencoded"}


def slash_command_body(*, command: str, text: str, user: str, user_name: str, channel: str, channel_name: str,
                       team: str, response_url: str, trigger_id: str) -> str:
    return urlencode({
        "token": "demo", "team_id": team, "team_domain": "demo", "channel_id": channel,
        "channel_name": channel_name, "user_id": user, "user_name": user_name, "command": command, "text": text,
        "api_app_id": "ADEMO", "response_url": response_url, "trigger_id": trigger_id,
    })


def button_click_body(*, action_id: str, value: str, block_id: str, user: str, user_name: str, channel: str,
                      channel_name: str, message_ts: str, team: str, response_url: str, trigger_id: str) -> str:
    payload: dict[str, Any] = {
        "type": "block_actions", "api_app_id": "ADEMO", "token": "demo", "trigger_id": trigger_id,
        "team": {"id": team, "domain": "demo"},
        "user": {"id": user, "username": user_name, "team_id": team},
        "channel": {"id": channel, "name": channel_name},
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
        "response_url": response_url,
        "actions": [{"type": "button", "action_id": action_id, "block_id": block_id, "value": value,
                     "action_ts": f"{time.time():.6f}"}],
    }
    return urlencode({"payload": json.dumps(payload)})
