"""Keeping an incident's timers in step with its transitions.

Due times live in the ``timers`` table. Each transition sets or cancels them in the
transaction that makes the change (see :mod:`bot.incident.transitions`); durations
come from the policy snapshot taken at open. Firing is :mod:`bot.incident.due_timers`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.orm import Session

from bot.domain import policy as pol
from bot.domain.kinds import ACTIVE_TIMER_KINDS, EventKind, TimerKind
from storage import incidents as store
from storage import timers
from storage.rows import IncidentRow


def on_open(session: Session, incident_id: int, policy: pol.Policy, severity: str,
            commander: str | None, commander_source: str | None, now: datetime) -> None:
    """A new incident has no timers yet: add its first ones in one statement."""
    first: list[tuple[str, datetime, dict[str, object]]] = []
    cadence = pol.update_cadence(policy, severity)
    if cadence is not None:
        first.append((TimerKind.UPDATE_DUE, now + cadence, {}))
    timeout = pol.ack_timeout(policy, severity)
    if commander and commander_source and commander_source.startswith("rotation") and timeout is not None:
        first.append((TimerKind.ACK_TIMEOUT, now + timeout, {"commander": commander}))
    timers.add_new(session, incident_id, first, now)


def on_update_posted(session: Session, incident: IncidentRow, now: datetime) -> None:
    timers.cancel(session, incident.id, [TimerKind.UPDATE_OVERDUE])
    _schedule_update(session, incident.id, incident.policy, incident.severity, now, now)


def on_update_reminded(session: Session, incident: IncidentRow, due_at: datetime, now: datetime) -> None:
    """A reminder went out: the update is overdue a cadence after it was due."""
    cadence = pol.update_cadence(incident.policy, incident.severity)
    if cadence is not None:
        timers.schedule(session, incident.id, TimerKind.UPDATE_OVERDUE, due_at + cadence, now)


def on_severity_changed(session: Session, incident: IncidentRow, now: datetime) -> None:
    """The next update is due a (new) cadence after the last one, not after this change.
    An overdue escalation armed at the old cadence no longer applies: the reminder at the
    new cadence arms it again."""
    last = store.last_event_time(session, incident.id, EventKind.UPDATE_POSTED) or incident.opened_at
    timers.cancel(session, incident.id, [TimerKind.UPDATE_OVERDUE])
    _schedule_update(session, incident.id, incident.policy, incident.severity, last, now)


def on_acknowledged(session: Session, incident: IncidentRow, now: datetime) -> None:
    timers.cancel(session, incident.id, [TimerKind.ACK_TIMEOUT])


def on_escalated(session: Session, incident: IncidentRow, now: datetime) -> None:
    """The new commander has the same time to acknowledge as the last one had."""
    timeout = pol.ack_timeout(incident.policy, incident.severity)
    if timeout is not None and incident.commander is not None:
        timers.schedule(session, incident.id, TimerKind.ACK_TIMEOUT, now + timeout, now,
                        {"commander": incident.commander})


def on_human_action(session: Session, incident_id: int) -> None:
    """A person acted: the bot must not resolve the incident behind their back."""
    timers.cancel(session, incident_id, [TimerKind.AUTO_RESOLVE])


def on_resolved(session: Session, incident: IncidentRow, now: datetime) -> None:
    timers.cancel(session, incident.id, ACTIVE_TIMER_KINDS)
    after = pol.archive_after(incident.policy)
    if after is not None:
        timers.schedule(session, incident.id, TimerKind.ARCHIVE, now + after, now)


def on_reopened(session: Session, incident: IncidentRow, now: datetime) -> None:
    timers.cancel(session, incident.id, [TimerKind.ARCHIVE])
    _schedule_update(session, incident.id, incident.policy, incident.severity, now, now)


def on_alerts_fired(session: Session, incident: IncidentRow, now: datetime) -> None:
    if pol.auto_resolve_after(incident.policy) is not None:  # the policy is fixed at open: else no such timer
        timers.cancel(session, incident.id, [TimerKind.AUTO_RESOLVE])


def on_alerts_all_resolved(session: Session, incident: IncidentRow, now: datetime) -> None:
    """Resolve automatically after the quiet period, if the policy says so and alerts opened the incident."""
    quiet = pol.auto_resolve_after(incident.policy)
    if quiet is not None and incident.source in ("alertmanager", "storm"):
        timers.schedule(session, incident.id, TimerKind.AUTO_RESOLVE, now + quiet, now)


def _schedule_update(session: Session, incident_id: int, policy: Mapping[str, object], severity: str,
                     since: datetime, now: datetime) -> None:
    cadence = pol.update_cadence(policy, severity)
    if cadence is not None:
        timers.schedule(session, incident_id, TimerKind.UPDATE_DUE, max(since + cadence, now), now)
