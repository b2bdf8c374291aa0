"""Firing due timers: stakeholder update reminders and their escalation, acknowledgement
escalation down the rotation, auto-resolve after a quiet period, channel archiving.

A due timer is claimed and fired in one transaction, so it fires once, after a restart
too, and with several replicas too. Which timers are pending is kept by the transitions
(:mod:`bot.incident.timer_schedule`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import structlog
from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.domain import policy as pol
from bot.domain.kinds import EventKind, TimerKind
from bot.incident import postmortem_timers, transitions
from bot.incident import timer_schedule as schedule
from bot.incident.change import IncidentChange
from bot.incident.followups import remind
from bot.observability.metrics import Metrics
from bot.observability.tracing import tracer
from bot.slack.blocks import ACTION_POST_UPDATE
from bot.slack.texts import draft_update
from storage import incidents as store
from storage import timers
from storage.database import Database

log = structlog.get_logger(__name__)
# Most timers stop mattering at resolution; these are for after it.
FIRE_AFTER_RESOLVE = frozenset({TimerKind.ARCHIVE, TimerKind.FOLLOWUP_DUE, TimerKind.POSTMORTEM_REMINDER,
                                TimerKind.POSTMORTEM_OVERDUE})

Handler = Callable[[Session, IncidentChange, timers.DueTimer], None]


class TimerFirer:
    def __init__(self, db: Database, clock: Clock, metrics: Metrics, on_commit: Callable[[], None],
                 command: str = "/incident", batch: int = 10) -> None:
        self._db = db
        self._clock = clock
        self._metrics = metrics
        self._on_commit = on_commit
        self._command = command
        self._batch = batch

    async def fire_due(self) -> datetime | None:
        """Fire what is due now; returns the earliest due time still pending (read in the
        transaction of the last batch, so it counts the timers the batch scheduled)."""
        while True:
            now = self._clock()
            due, next_due = await self._db.write(self._fire_batch, now)
            for timer in due:
                self._metrics.scheduler_lag.labels(timer.kind).observe(max((now - timer.due_at).total_seconds(), 0))
            if due:
                self._on_commit()
            if len(due) < self._batch:
                return next_due

    def _fire_batch(self, session: Session, now: datetime) -> tuple[list[timers.DueTimer], datetime | None]:
        due = timers.claim_due(session, now, self._batch)
        for timer in due:  # a trace per timer: what it enqueues in Slack joins it
            with tracer().start_as_current_span(f"fire timer {timer.kind}", attributes={
                    "incident_bot.timer.kind": timer.kind, "incident_bot.incident.id": timer.incident_id}):
                self._fire(session, timer, now)
        return due, timers.next_due(session) if len(due) < self._batch else None

    def _fire(self, session: Session, timer: timers.DueTimer, now: datetime) -> None:
        incident = store.lock_incident(session, timer.incident_id)
        if incident is None or (incident.status == "resolved" and timer.kind not in FIRE_AFTER_RESOLVE):
            return
        change = IncidentChange(incident, "bot", now)
        handlers: dict[TimerKind, Handler] = {
            TimerKind.UPDATE_DUE: self._update_due, TimerKind.UPDATE_OVERDUE: self._update_overdue,
            TimerKind.ACK_TIMEOUT: self._ack_timeout, TimerKind.AUTO_RESOLVE: self._auto_resolve,
            TimerKind.ARCHIVE: self._archive, TimerKind.FOLLOWUP_DUE: self._followup_due,
            TimerKind.POSTMORTEM_REMINDER: self._postmortem_reminder,
            TimerKind.POSTMORTEM_OVERDUE: self._postmortem_overdue}
        handlers[TimerKind(timer.kind)](session, change, timer)
        change.flush(session)

    def _update_due(self, session: Session, change: IncidentChange, timer: timers.DueTimer) -> None:
        incident = change.incident
        last = store.last_update_text(session, incident.id)
        firing = store.firing_count(session, incident.id)
        draft = draft_update(incident, firing, last, change.now)
        who = f"<@{incident.commander}>" if incident.commander else "Commander"
        text = (f":alarm_clock: {who}, a stakeholder update is due. Post one with `{self._command} update &lt;text&gt;` "
                f"or edit this draft:\n>{draft}")
        change.event(EventKind.UPDATE_REMINDED, {"due_at": timer.due_at.isoformat()})
        change.announce(text, blocks=[
            {"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}},
            {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Edit and post"},
                                              "action_id": ACTION_POST_UPDATE, "value": str(incident.id)}]}])
        schedule.on_update_reminded(session, incident, timer.due_at, change.now)

    def _update_overdue(self, session: Session, change: IncidentChange, timer: timers.DueTimer) -> None:
        incident = change.incident
        backup = pol.backup_for(incident.policy, incident.commander)
        people = " ".join(f"<@{u}>" for u in (incident.commander, backup) if u) or "Responders"
        change.event(EventKind.UPDATE_OVERDUE, {"commander": incident.commander, "backup": backup})
        change.announce(f":rotating_light: {people}: the stakeholder update is overdue. "
                        f"Post one now with `{self._command} update &lt;text&gt;`.")

    def _ack_timeout(self, session: Session, change: IncidentChange, timer: timers.DueTimer) -> None:
        incident = change.incident
        if incident.acknowledged_at is not None or incident.commander != timer.payload.get("commander"):
            return
        transitions.escalate_commander(change)

    def _auto_resolve(self, session: Session, change: IncidentChange, timer: timers.DueTimer) -> None:
        incident = change.incident
        if incident.all_alerts_resolved_at is None or incident.source == "human":
            return
        transitions.resolve(change, transitions.AUTO_RESOLVE_SUMMARY, automatic=True, command=self._command)

    def _postmortem_reminder(self, session: Session, change: IncidentChange, timer: timers.DueTimer) -> None:
        postmortem_timers.remind(session, change, timer, self._command)

    def _postmortem_overdue(self, session: Session, change: IncidentChange, timer: timers.DueTimer) -> None:
        postmortem_timers.escalate(session, change, timer, self._command)

    def _archive(self, session: Session, change: IncidentChange, timer: timers.DueTimer) -> None:
        transitions.archive_channel(session, change)

    def _followup_due(self, session: Session, change: IncidentChange, timer: timers.DueTimer) -> None:
        remind(session, change, int(timer.payload["number"]), self._command)
