"""Timed behaviour: stakeholder update reminders and their escalation, acknowledgement
escalation down the rotation, auto-resolve after a quiet period, channel archiving.

Due times live in the ``timers`` table. Transitions (open, update, severity change,
acknowledgement, resolve) set or cancel them in the same transaction; a due timer is
claimed and fired in one transaction, so it fires once, after a restart too, and
with several replicas too. Durations come from the policy snapshot taken at open.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import structlog

from bot.clock import Clock
from bot.domain import policy as pol
from bot.incident.change import IncidentChange
from bot.observability.metrics import Metrics
from bot.slack.blocks import ACTION_POST_UPDATE
from bot.slack.texts import draft_update, update_text
from storage import incidents as store
from storage import outbox, timers
from storage.database import Database

log = structlog.get_logger(__name__)

UPDATE_DUE = "update_due"
UPDATE_OVERDUE = "update_overdue"
ACK_TIMEOUT = "ack_timeout"
AUTO_RESOLVE = "auto_resolve"
ARCHIVE = "archive"
ACTIVE_KINDS = (UPDATE_DUE, UPDATE_OVERDUE, ACK_TIMEOUT, AUTO_RESOLVE)


# -- transitions: called inside the transaction that makes the change ----------------

def on_open(session: Any, incident_id: int, policy: dict[str, Any], severity: str,
            commander: str | None, commander_source: str | None, now: datetime) -> None:
    """A new incident has no timers yet: add its first ones in one statement."""
    first: list[tuple[str, datetime, dict[str, Any]]] = []
    cadence = pol.update_cadence(policy, severity)
    if cadence is not None:
        first.append((UPDATE_DUE, now + cadence, {}))
    timeout = pol.ack_timeout(policy, severity)
    if commander and commander_source and commander_source.startswith("rotation") and timeout is not None:
        first.append((ACK_TIMEOUT, now + timeout, {"commander": commander}))
    timers.add_new(session, incident_id, first, now)


def on_update_posted(session: Any, incident: Any, now: datetime) -> None:
    timers.cancel(session, incident.id, [UPDATE_OVERDUE])
    _schedule_update(session, incident.id, incident.policy, incident.severity, now, now)


def on_severity_changed(session: Any, incident: Any, now: datetime) -> None:
    """The next update is due a (new) cadence after the last one, not after this change.
    An overdue escalation armed at the old cadence no longer applies: the reminder at the
    new cadence arms it again."""
    last = store.last_event_time(session, incident.id, "update.posted") or incident.opened_at
    timers.cancel(session, incident.id, [UPDATE_OVERDUE])
    _schedule_update(session, incident.id, incident.policy, incident.severity, last, now)


def on_acknowledged(session: Any, incident_id: int) -> None:
    timers.cancel(session, incident_id, [ACK_TIMEOUT])


def on_human_action(session: Any, incident_id: int) -> None:
    """A person acted: the bot must not resolve the incident behind their back."""
    timers.cancel(session, incident_id, [AUTO_RESOLVE])


def on_resolved(session: Any, incident: Any, now: datetime) -> None:
    timers.cancel(session, incident.id, ACTIVE_KINDS)
    after = pol.archive_after(incident.policy)
    if after is not None:
        timers.schedule(session, incident.id, ARCHIVE, now + after, now)


def on_reopened(session: Any, incident: Any, now: datetime) -> None:
    timers.cancel(session, incident.id, [ARCHIVE])
    _schedule_update(session, incident.id, incident.policy, incident.severity, now, now)


def on_alerts_changed(session: Any, incident: Any, all_resolved: bool, fired_again: bool, now: datetime) -> None:
    quiet = pol.auto_resolve_after(incident.policy)
    if quiet is None:  # the policy is fixed at open: without auto_resolve there is no such timer to keep
        return
    if fired_again:
        timers.cancel(session, incident.id, [AUTO_RESOLVE])
    if all_resolved and incident.source in ("alertmanager", "storm"):
        timers.schedule(session, incident.id, AUTO_RESOLVE, now + quiet, now)


def _schedule_update(session: Any, incident_id: int, policy: dict[str, Any], severity: str,
                           since: datetime, now: datetime) -> None:
    cadence = pol.update_cadence(policy, severity)
    if cadence is not None:
        timers.schedule(session, incident_id, UPDATE_DUE, max(since + cadence, now), now)


def _schedule_ack(session: Any, incident_id: int, policy: dict[str, Any], severity: str, commander: str,
                        now: datetime) -> None:
    timeout = pol.ack_timeout(policy, severity)
    if timeout is not None:
        timers.schedule(session, incident_id, ACK_TIMEOUT, now + timeout, now, {"commander": commander})


# -- firing ---------------------------------------------------------------------------

class TimerFirer:
    def __init__(self, db: Database, clock: Clock, metrics: Metrics, on_commit: Any, command: str = "/incident",
                 batch: int = 50) -> None:
        self._db = db
        self._clock = clock
        self._metrics = metrics
        self._on_commit = on_commit
        self._command = command
        self._batch = batch

    async def fire_due(self) -> int:
        """Fire what is due now; returns how many timers fired."""
        total = 0
        while True:
            now = self._clock()
            due = await self._db.write(self._fire_batch, now)
            for timer in due:
                self._metrics.scheduler_lag.labels(timer.kind).observe(max((now - timer.due_at).total_seconds(), 0))
            total += len(due)
            if due:
                self._on_commit()
            if len(due) < self._batch:
                return total

    def _fire_batch(self, session: Any, now: datetime) -> list[timers.DueTimer]:
        due = timers.claim_due(session, now, self._batch)
        for timer in due:
            self._fire(session, timer, now)
        return due

    def _fire(self, session: Any, timer: timers.DueTimer, now: datetime) -> None:
        incident = store.lock_incident(session, timer.incident_id)
        if incident is None or (incident.status == "resolved" and timer.kind != ARCHIVE):
            return
        change = IncidentChange(session, incident, "bot", now)
        handler = {UPDATE_DUE: self._update_due, UPDATE_OVERDUE: self._update_overdue, ACK_TIMEOUT: self._ack_timeout,
                   AUTO_RESOLVE: self._auto_resolve, ARCHIVE: self._archive}[timer.kind]
        handler(change, timer)
        change.flush(session)

    def _update_due(self, change: IncidentChange, timer: timers.DueTimer) -> None:
        incident = change.incident
        last = store.last_update_text(change.session, incident.id)
        firing = store.firing_count(change.session, incident.id)
        draft = draft_update(incident, firing, last, change.now)
        who = f"<@{incident.commander}>" if incident.commander else "Commander"
        text = (f":alarm_clock: {who}, a stakeholder update is due. Post one with `{self._command} update <text>` "
                f"or edit this draft:\n>{draft}")
        change.event("update.reminded", {"due_at": timer.due_at.isoformat()})
        change.announce(text, blocks=[
            {"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}},
            {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Edit and post"},
                                              "action_id": ACTION_POST_UPDATE, "value": str(incident.id)}]}])
        cadence = pol.update_cadence(incident.policy, incident.severity)
        if cadence is not None:
            timers.schedule(change.session, incident.id, UPDATE_OVERDUE, timer.due_at + cadence, change.now)

    def _update_overdue(self, change: IncidentChange, timer: timers.DueTimer) -> None:
        incident = change.incident
        backup = pol.backup_for(incident.policy, incident.commander)
        people = " ".join(f"<@{u}>" for u in (incident.commander, backup) if u) or "Responders"
        change.event("update.overdue", {"commander": incident.commander, "backup": backup})
        change.announce(f":rotating_light: {people}: the stakeholder update is overdue. "
                        f"Post one now with `{self._command} update <text>`.")

    def _ack_timeout(self, change: IncidentChange, timer: timers.DueTimer) -> None:
        incident = change.incident
        if incident.acknowledged_at is not None or incident.commander != timer.payload.get("commander"):
            return
        nxt = pol.next_in_snapshot(incident.policy, incident.commander)
        timeout = pol.ack_timeout(incident.policy, incident.severity) or timedelta(0)
        if nxt is None:
            change.event("escalation.exhausted", {"commander": incident.commander})
            change.announce(f":warning: <@{incident.commander}> has not acknowledged and nobody is left in the "
                            "rotation to escalate to. Anyone can press *Take command*.")
            return
        previous = incident.commander
        change.set(commander=nxt, acknowledged_at=None)
        change.event("commander.escalated", {"from": previous, "to": nxt, "reason": "not acknowledged",
                                             "timeout_seconds": timeout.total_seconds()})
        change.invite(nxt)
        change.announce(f":rotating_light: <@{nxt}>, you are now the commander: <@{previous}> did not acknowledge "
                        f"within {_minutes(timeout)}. Press *Acknowledge* on the header.", topic=True)
        _schedule_ack(change.session, incident.id, incident.policy, incident.severity, nxt, change.now)

    def _auto_resolve(self, change: IncidentChange, timer: timers.DueTimer) -> None:
        incident = change.incident
        if incident.all_alerts_resolved_at is None or incident.source == "human":
            return
        change.set(status="resolved", resolved_at=change.now, mitigated_at=incident.mitigated_at or change.now)
        change.event("incident.resolved", {"summary": "all alerts stayed resolved", "automatic": True})
        final = update_text(incident, "Resolved automatically: every alert stayed resolved for the quiet period.",
                            "incident-bot", final=True)
        change.announce(final, topic=True)
        for channel in pol.stakeholder_channels(incident.policy, incident.severity):
            change.post_elsewhere(channel, final)
        on_resolved(change.session, incident, change.now)

    def _archive(self, change: IncidentChange, timer: timers.DueTimer) -> None:
        if not outbox.results(change.session, f"incident:{change.incident.id}", "file.postmortem"):
            change.action("file.postmortem")  # the draft goes in before the channel is archived
        change.event("channel.archived", {})
        change.announce(":file_cabinet: This incident was resolved a while ago; the channel is now archived. "
                        "Its timeline stays with incident-bot.")
        change.action("channel.archive")


def _minutes(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes} min" if minutes else f"{int(delta.total_seconds())} s"


def after_human_change(session: Any, incident: Any, kinds: set[str], now: datetime) -> None:
    """Keep the timers in step with what a person just did (called after the change is written)."""
    on_human_action(session, incident.id)
    if kinds & {"commander.acknowledged", "commander.changed"}:
        on_acknowledged(session, incident.id)
    if "incident.resolved" in kinds:
        on_resolved(session, incident, now)
        return
    if "incident.reopened" in kinds:
        on_reopened(session, incident, now)
    if "update.posted" in kinds:
        on_update_posted(session, incident, now)
    elif "severity.changed" in kinds:
        on_severity_changed(session, incident, now)
