"""The escalation policy snapshot stored with an incident when it opens.

Editing a playbook mid-incident must not change an escalation already under way, so
the rotation, timeouts, cadences and windows in force at open are copied onto the
incident as plain JSON (durations in seconds).
"""

from __future__ import annotations

from collections.abc import Mapping
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
        "auto_resolve_seconds": route.auto_resolve.total_seconds() if route.auto_resolve else None,
        "archive_after_seconds": route.archive_after.total_seconds() if route.archive_after else None,
        "triage_channel": route.triage_channel,
    }


def reopen_window(policy: Mapping[str, Any]) -> timedelta:
    seconds = policy.get("reopen_window_seconds")
    return timedelta(seconds=seconds) if seconds is not None else DEFAULT_REOPEN_WINDOW


def _seconds(value: Any) -> timedelta | None:
    return timedelta(seconds=float(value)) if value is not None else None


def _severity(policy: Mapping[str, Any], severity: str) -> dict[str, Any] | None:
    return next((s for s in policy.get("severities", []) if s.get("name") == severity), None)


def update_cadence(policy: Mapping[str, Any], severity: str) -> timedelta | None:
    found = _severity(policy, severity)
    return _seconds(found.get("update_every_seconds")) if found else None


def ack_timeout(policy: Mapping[str, Any], severity: str) -> timedelta | None:
    found = _severity(policy, severity)
    return _seconds(found.get("ack_timeout_seconds")) if found else None


def stakeholder_channels(policy: Mapping[str, Any], severity: str) -> list[str]:
    found = _severity(policy, severity)
    return list(found.get("stakeholder_channels", [])) if found else []


def auto_resolve_after(policy: Mapping[str, Any]) -> timedelta | None:
    return _seconds(policy.get("auto_resolve_seconds"))


def archive_after(policy: Mapping[str, Any]) -> timedelta | None:
    return _seconds(policy.get("archive_after_seconds"))


def rotation_users(policy: Mapping[str, Any]) -> list[str]:
    rotation = policy.get("rotation") or {}
    return list(rotation.get("users", []))


def next_in_snapshot(policy: Mapping[str, Any], user: str | None) -> str | None:
    """The next person down the rotation in force when the incident opened; None at its end."""
    users = rotation_users(policy)
    if user not in users:
        return None
    index = users.index(user)
    return users[index + 1] if index + 1 < len(users) else None


def backup_for(policy: Mapping[str, Any], commander: str | None) -> str | None:
    """Who to mention beside the commander: the next person in the rotation, wrapping round."""
    users = rotation_users(policy)
    if commander not in users or len(users) < 2:
        return None
    return users[(users.index(commander) + 1) % len(users)]
