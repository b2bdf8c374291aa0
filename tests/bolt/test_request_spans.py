"""What a Slack request's span says of it: its kind, a slash command's name, an event's type;
never the text, who sent it or where."""

from __future__ import annotations

import pytest

from bot.bolt.request_spans import request_attributes, span_name


@pytest.mark.parametrize(("body", "attributes", "name"), [
    ({"command": "/incident", "text": "severity sev2 customers recovering", "user_id": "UBOB", "channel_id": "C1"},
     {"incident_bot.slack.request": "slash_command", "incident_bot.slack.command": "/incident"}, "slack /incident"),
    ({"type": "block_actions", "actions": [{"action_id": "ack", "value": "7"}], "user": {"id": "UBOB"}},
     {"incident_bot.slack.request": "block_actions"}, "slack block_actions"),
    ({"type": "view_submission", "view": {"callback_id": "timeline_edit", "state": {"values": {}}}},
     {"incident_bot.slack.request": "view_submission"}, "slack view_submission"),
    ({"type": "event_callback", "event": {"type": "pin_added", "user": "UBOB", "item": {}}},
     {"incident_bot.slack.request": "event_callback", "incident_bot.slack.event": "pin_added"},
     "slack event pin_added"),
    ({"type": "event_callback", "event": "not an object"}, {"incident_bot.slack.request": "event_callback"},
     "slack event_callback"),
    ({}, {"incident_bot.slack.request": "unknown"}, "slack unknown"),
    ({"command": 7, "type": ["x"]}, {"incident_bot.slack.request": "unknown"}, "slack unknown"),
])
def test_a_request_is_named_by_its_kind_alone(body: dict[str, object], attributes: dict[str, str], name: str) -> None:
    assert request_attributes(body) == attributes
    assert span_name(request_attributes(body)) == name
