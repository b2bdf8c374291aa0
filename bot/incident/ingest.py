"""The webhook path: one Alertmanager delivery becomes one committed transaction.

Load what is stored about the group (under a lock), ask :func:`bot.domain.decide.decide`
what to do, write the outcome, the timeline events, the outbox actions and the raw
delivery, and commit. Slack work happens later, from the outbox.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from bot.domain.decide import Decision, GroupState, IncidentState, Outcome, StoredAlert, StormState, decide
from bot.domain.kinds import ActionKind, EventKind
from bot.domain.naming import TITLE_MAX, render_title
from bot.domain.notification import Alert, AlertGroupNotification
from bot.domain.policy import reopen_window
from bot.incident import timer_schedule as timers
from bot.incident import transitions
from bot.incident.opening import decided_event, enqueue_trace_links
from bot.playbook import PlaybookSet
from bot.slack.plan import plan_changes
from storage import alerting as repo
from storage import incidents as store
from storage.database import Database


@dataclass(frozen=True, slots=True)
class IngestResult:
    outcome: Outcome
    incident_id: int | None
    reason: str


class Ingestor:
    """Applies deliveries to the database. Safe to call concurrently, across processes too."""

    def __init__(self, db: Database, playbooks: Callable[[], PlaybookSet], clock: Callable[[], datetime],
                 on_commit: Callable[[], None] | None = None) -> None:
        self._db = db
        self._playbooks = playbooks
        self._clock = clock
        self._on_commit = on_commit

    async def ingest(self, body: bytes, notification: AlertGroupNotification) -> IngestResult:
        result = await self._db.write(self._transaction, body, notification, self._clock())
        if self._on_commit is not None and result.outcome is not Outcome.DUPLICATE:
            self._on_commit()
        return result

    def _transaction(self, session: Session, body: bytes, notification: AlertGroupNotification,
                     now: datetime) -> IngestResult:
        group = repo.lock_group(
            session, group_key=notification.group_key, receiver=notification.receiver,
            group_labels=dict(notification.group_labels), status=notification.status, now=now,
        )
        body_sha256 = hashlib.sha256(body).hexdigest()
        if group.last_body_sha256 == body_sha256:  # an unchanged re-send: nothing to decide
            self._record(session, body, body_sha256, notification, Outcome.DUPLICATE, group.incident_id, now)
            return IngestResult(Outcome.DUPLICATE, group.incident_id, "identical to the last delivery of this group")
        state = self._load_state(session, group, notification)
        playbooks = self._playbooks()
        decision = decide(notification, state, playbooks, now)
        if decision.outcome is Outcome.OPEN and decision.storm_key is not None:
            storm = self._storm_state(session, decision, now, len(notification.alerts))
            decision = decide(notification, state, playbooks, now, storm)
        incident_id = _apply(session, group, notification, decision, state, now, body_sha256)
        self._record(session, body, body_sha256, notification, decision.outcome, incident_id, now)
        return IngestResult(decision.outcome, incident_id, decision.reason)

    @staticmethod
    def _record(session: Session, body: bytes, body_sha256: str, notification: AlertGroupNotification,
                outcome: Outcome, incident_id: int | None, now: datetime) -> None:
        repo.record_delivery(
            session, received_at=now, group_key=notification.group_key, status=notification.status,
            alert_count=len(notification.alerts), outcome=outcome.value, incident_id=incident_id,
            body_sha256=body_sha256, body=body.decode("utf-8", errors="replace"),
        )

    def _load_state(self, session: Session, group: repo.GroupRow, notification: AlertGroupNotification) -> GroupState:
        stored = repo.alerts_by_fingerprint(session, (a.fingerprint for a in notification.alerts))
        known = {fp: [StoredAlert(fp, starts_at, status) for starts_at, status in rows] for fp, rows in stored.items()}
        if group.incident_id is None:
            return GroupState(known=known)
        incident = _incident_state(session, group.incident_id, len(notification.alerts))
        return GroupState(incident=incident, known=known)

    def _storm_state(self, session: Session, decision: Decision, now: datetime, delivery_size: int) -> StormState:
        """Lock the storm-guard key, so concurrent opens on it count each other."""
        assert decision.storm_key is not None and decision.route is not None
        guard = decision.route.route.storm_guard
        assert guard is not None
        storm_incident_id = repo.lock_storm_window(session, decision.storm_key)
        recent = repo.recent_opens(session, decision.storm_key, now - guard.window)
        incident = _incident_state(session, storm_incident_id, delivery_size) if storm_incident_id is not None else None
        return StormState(decision.storm_key, recent, incident)


def _incident_state(session: Session, incident_id: int, delivery_size: int) -> IncidentState:
    """The incident as decide() needs it. Its firing alerts are loaded only when a delivery
    of ``delivery_size`` alerts could resolve them all; otherwise counting them is enough,
    which keeps each delivery joining a storm incident from costing more than the last."""
    row = repo.get_incident(session, incident_id)
    assert row is not None, "foreign keys guarantee the incident exists"
    firing: list[tuple[str, datetime]] = []
    more_firing = False
    if row.status != "resolved":
        if store.firing_count(session, row.id) > delivery_size:
            more_firing = True
        else:
            firing = repo.firing_alerts(session, row.id)
    return IncidentState(
        id=row.id, status=row.status, severity=row.severity, playbook=row.playbook, route=row.route,
        resolved_at=row.resolved_at, reopen_window=reopen_window(row.policy), firing=frozenset(firing),
        commander=row.commander, more_firing=more_firing,
    )


def _alert_row(alert: Alert, group_id: int, incident_id: int | None, now: datetime) -> dict[str, object]:
    return {
        "fingerprint": alert.fingerprint, "starts_at": alert.starts_at, "group_id": group_id,
        "incident_id": incident_id, "status": alert.status, "ends_at": alert.ends_at,
        "labels": dict(alert.labels), "annotations": dict(alert.annotations),
        "generator_url": alert.generator_url, "first_seen_at": now,
        "resolved_seen_at": None if alert.firing else now,
    }


def _apply(session: Session, group: repo.GroupRow, notification: AlertGroupNotification, decision: Decision,
           state: GroupState, now: datetime, body_sha256: str) -> int | None:
    """Write what the decision says. Returns the incident the delivery touched, if any."""
    group_update: dict[str, object] = {"last_body_sha256": body_sha256}
    if decision.route is not None:
        group_update["route"] = f"{decision.route.playbook.name}/{decision.route.route.name}"

    current = decision.target or state.incident
    incident_id = current.id if current is not None else None
    if decision.outcome is Outcome.DUPLICATE:
        repo.update_group(session, group.id, **group_update)
        return incident_id

    if decision.outcome is Outcome.OPEN:
        incident_id = _open(session, notification, decision, now)
        group_update["incident_id"] = incident_id
    elif decision.target is not None:
        group_update["incident_id"] = decision.target.id
    repo.update_group(session, group.id, **group_update)

    attach_to = incident_id if decision.incident_alerts else None
    repo.insert_alerts(session, [_alert_row(a, group.id, attach_to, now) for a in decision.new_alerts])
    repo.resolve_alerts(session, [(a.fingerprint, a.starts_at, a.ends_at) for a in decision.resolved_alerts], now)

    if decision.outcome is Outcome.OPEN:
        return incident_id
    if incident_id is None or not decision.events:
        _maybe_triage(session, group, decision, now)
        return incident_id

    repo.append_events(session, incident_id, [decided_event(e, now) for e in decision.events])
    _update_incident(session, incident_id, decision, current, now)
    _keep_timers(session, incident_id, decision, now)
    if decision.route is not None and decision.incident_alerts:
        enqueue_trace_links(session, incident_id, decision.route.route, [a for a in decision.new_alerts if a.firing],
                            now)
    planned = plan_changes(decision.events, current.commander if current is not None else None)
    repo.enqueue_many(session, ordering_key=f"incident:{incident_id}", incident_id=incident_id, now=now,
                            actions=[(a.kind, a.payload) for a in planned])
    return incident_id


def _open(session: Session, notification: AlertGroupNotification, decision: Decision, now: datetime) -> int:
    assert decision.route is not None
    labels = notification.common_labels or notification.group_labels
    title = render_title(decision.route.route.title, labels, notification.common_annotations)
    if decision.storm:
        title = storm_title(decision.route.route.name, decision.storm_key)
    return transitions.open_incident(session, decision, title=title, labels=labels, alerts=notification.alerts,
                               source="storm" if decision.storm else "alertmanager", declared_by=None, now=now)


def storm_title(route: str, key: str | None) -> str:
    scope = (key or "").partition("|")[2].replace(",", ", ")
    title = f"Alert storm on {route}" + (f" ({scope})" if scope.strip("=, ") else "")
    return title if len(title) <= TITLE_MAX else title[:TITLE_MAX - 1] + "…"


def _update_incident(session: Session, incident_id: int, decision: Decision, current: IncidentState | None,
                           now: datetime) -> None:
    if decision.outcome is Outcome.OPEN:
        return
    values: dict[str, object] = {"updated_at": now}
    if decision.severity is not None and current is not None and decision.severity != current.severity:
        values["severity"] = decision.severity
    if decision.outcome is Outcome.REOPEN:
        values.update(status="investigating", resolved_at=None, all_alerts_resolved_at=None)
    kinds = {e.kind for e in decision.events}
    if EventKind.ALERTS_ALL_RESOLVED in kinds:
        values["all_alerts_resolved_at"] = now
    elif any(a.firing for a in decision.new_alerts):
        values["all_alerts_resolved_at"] = None
    repo.update_incident(session, incident_id, **values)


def _keep_timers(session: Session, incident_id: int, decision: Decision, now: datetime) -> None:
    row = repo.get_incident(session, incident_id)  # as just updated
    assert row is not None
    timers.after_delivery(session, row, {e.kind for e in decision.events},
                          reopened=decision.outcome is Outcome.REOPEN, now=now)


def _maybe_triage(session: Session, group: repo.GroupRow, decision: Decision, now: datetime) -> None:
    """A recorded-only group goes to the route's triage channel, if it has one; later
    changes to the group edit that notice rather than post again."""
    match = decision.route
    if decision.outcome is not Outcome.RECORD or match is None or not match.route.triage_channel:
        return
    repo.enqueue(session, ordering_key=f"group:{group.id}", kind=ActionKind.TRIAGE_NOTICE,
                       payload={"group_id": group.id, "channel": match.route.triage_channel}, now=now)
