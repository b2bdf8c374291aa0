"""Per-route rules applied to alerts: severity, auto-declare and the commander. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from bot.domain.notification import Alert
from bot.domain.rotation import commander_at
from bot.playbook import RouteMatch


def severity_for(match: RouteMatch, labels: Mapping[str, str]) -> str:
    return match.route.severity.severity_for(labels)


def declares(match: RouteMatch, firing: Sequence[Alert]) -> bool:
    """A group auto-declares when any of its firing alerts meets the route's rule."""
    return any(
        match.playbook.should_auto_declare(match.route, alert.labels, severity_for(match, alert.labels))
        for alert in firing
    )


def commander_for(match: RouteMatch, now: datetime) -> tuple[str | None, str | None]:
    """The commander at ``now`` and where that came from (``rotation:<name>`` or ``static``)."""
    source = match.route.commander
    if source is None:
        return None, None
    if source.user is not None:
        return source.user, "static"
    assert source.rotation is not None, "CommanderSource guarantees one of the two"
    rotation = match.playbook.rotations[source.rotation]
    return commander_at(rotation, now), f"rotation:{source.rotation}"
