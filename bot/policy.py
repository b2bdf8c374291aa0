"""The escalation policy snapshot stored with an incident when it opens.

Editing a playbook mid-incident must not change an escalation already under way, so
the rotation, timeouts, cadences and windows in force at open are copied onto the
incident as plain JSON (durations in seconds).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.playbook import RouteMatch

DEFAULT_REOPEN_WINDOW = timedelta(hours=1)


def policy_snapshot(match: RouteMatch) -> dict[str, Any]:
    playbook, route = match.playbook, match.route
    rotation = None
    if route.commander is not None and route.commander.rotation is not None:
        spec = playbook.rotations[route.commander.rotation]
        rotation = {
            "name": route.commander.rotation, "users": list(spec.users), "start": spec.start.isoformat(),
            "period_seconds": spec.period.total_seconds(), "timezone": spec.timezone,
        }
    return {
        "playbook": playbook.name,
        "route": route.name,
        "severities": [
            {
                "name": s.name, "description": s.description,
                "update_every_seconds": s.update_every.total_seconds(),
                "ack_timeout_seconds": s.ack_timeout.total_seconds(),
                "stakeholder_channels": list(s.stakeholder_channels),
            }
            for s in playbook.severities
        ],
        "rotation": rotation,
        "static_commander": route.commander.user if route.commander is not None else None,
        "responders": list(route.responders),
        "reopen_window_seconds": route.reopen_window.total_seconds(),
        "triage_channel": route.triage_channel,
    }


def reopen_window(policy: dict[str, Any]) -> timedelta:
    seconds = policy.get("reopen_window_seconds")
    return timedelta(seconds=seconds) if seconds is not None else DEFAULT_REOPEN_WINDOW
