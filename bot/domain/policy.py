"""The escalation policy snapshot stored with an incident when it opens.

Editing a playbook mid-incident must not change an escalation already under way, so
the rotation, timeouts, cadences and windows in force at open are copied onto the
incident as plain JSON (durations in seconds).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from bot.playbook import RouteMatch

DEFAULT_REOPEN_WINDOW = timedelta(hours=1)
# The snapshot as stored: a JSON object. Readers check what they find rather than trust it.
Policy = Mapping[str, object]


def policy_snapshot(match: RouteMatch) -> dict[str, object]:
    playbook, route = match.playbook, match.route
    rotation: dict[str, object] | None = None
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
                "postmortem_due_seconds": s.postmortem_due.total_seconds() if s.postmortem_due else None,
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
        "postmortem_channel": playbook.postmortem_channel,
    }


def reopen_window(policy: Policy) -> timedelta:
    window = _seconds(policy.get("reopen_window_seconds"))
    return window if window is not None else DEFAULT_REOPEN_WINDOW


def _seconds(value: object) -> timedelta | None:
    return timedelta(seconds=float(value)) if isinstance(value, int | float | str) else None


def _strings(value: object) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else []


def _severity(policy: Policy, severity: str) -> Policy | None:
    severities = policy.get("severities")
    if not isinstance(severities, list):
        return None
    return next((s for s in severities if isinstance(s, Mapping) and s.get("name") == severity), None)


def update_cadence(policy: Policy, severity: str) -> timedelta | None:
    found = _severity(policy, severity)
    return _seconds(found.get("update_every_seconds")) if found else None


def ack_timeout(policy: Policy, severity: str) -> timedelta | None:
    found = _severity(policy, severity)
    return _seconds(found.get("ack_timeout_seconds")) if found else None


def stakeholder_channels(policy: Policy, severity: str) -> list[str]:
    found = _severity(policy, severity)
    return _strings(found.get("stakeholder_channels")) if found else []


def responders(policy: Policy) -> list[str]:
    return _strings(policy.get("responders"))


def auto_resolve_after(policy: Policy) -> timedelta | None:
    return _seconds(policy.get("auto_resolve_seconds"))


def archive_after(policy: Policy) -> timedelta | None:
    return _seconds(policy.get("archive_after_seconds"))


def rotation_users(policy: Policy) -> list[str]:
    rotation = policy.get("rotation")
    return _strings(rotation.get("users")) if isinstance(rotation, Mapping) else []


def next_in_snapshot(policy: Policy, user: str | None) -> str | None:
    """The next person down the rotation in force when the incident opened; None at its end."""
    users = rotation_users(policy)
    if user not in users:
        return None
    index = users.index(user)
    return users[index + 1] if index + 1 < len(users) else None


def backup_for(policy: Policy, commander: str | None) -> str | None:
    """Who to mention beside the commander: the next person in the rotation, wrapping round."""
    users = rotation_users(policy)
    if commander not in users or len(users) < 2:
        return None
    return users[(users.index(commander) + 1) % len(users)]


def postmortem_due(policy: Policy, severity: str) -> timedelta | None:
    """How long after resolving the postmortem is due; None: this severity needs none."""
    found = _severity(policy, severity)
    return _seconds(found.get("postmortem_due_seconds")) if found else None


def postmortem_channel(policy: Policy) -> str | None:
    channel = policy.get("postmortem_channel")
    return str(channel) if channel else None
