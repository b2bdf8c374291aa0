"""The webhook path: one Alertmanager delivery becomes one committed transaction.

Load what is stored about the group (under a lock) and its incident (locked too, as
commands and timers lock it), ask :func:`bot.domain.decide.decide` what to do, write
the outcome, the timeline events, the outbox actions and the raw delivery, and commit.
An existing incident changes through :mod:`bot.incident.transitions`, as it does for
people and timers; one "changes" message announces everything a delivery changed.
Slack work happens later, from the outbox.
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
from bot.incident import transitions
from bot.incident.change import IncidentChange
from bot.incident.opening import trace_links_action
from bot.incident.transitions import Announcement
from bot.playbook import PlaybookSet
from bot.slack.plan import change_text
from storage import alerting as repo
from storage import incidents as store
from storage.database import Database
from storage.rows import IncidentRow

ALERTMANAGER = "alertmanager"  # the actor of what a delivery changes


@dataclass(frozen=True, slots=True)
class IngestResult:
    outcome: Outcome
    incident_id: int | None
    reason: str
    route: str | None = None  # "<playbook>/<route>" that matched


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
        body_sha256 = hashlib.sha256(body).hexdigest()
        group = repo.lock_group(
            session, group_key=notification.group_key, receiver=notification.receiver,
            group_labels=dict(notification.group_labels), status=notification.status, body_sha256=body_sha256,
            now=now,
        )
        if group.previous_body_sha256 == body_sha256:  # an unchanged re-send: nothing to decide
            self._record(session, body, body_sha256, notification, Outcome.DUPLICATE, group.incident_id, now)
            return IngestResult(Outcome.DUPLICATE, group.incident_id, "identical to the last delivery of this group")
        incidents: dict[int, IncidentRow] = {}  # as locked, by id
        state = self._load_state(session, group, notification, incidents)
        playbooks = self._playbooks()
        decision = decide(notification, state, playbooks, now)
        if decision.outcome is Outcome.OPEN and decision.storm_key is not None:
            storm = self._storm_state(session, decision, now, len(notification.alerts), incidents)
            decision = decide(notification, state, playbooks, now, storm)
        route = f"{decision.route.playbook.name}/{decision.route.route.name}" if decision.route else None
        incident_id = _apply(session, group, notification, decision, route, state, incidents, now)
        self._record(session, body, body_sha256, notification, decision.outcome, incident_id, now)
        return IngestResult(decision.outcome, incident_id, decision.reason, route)

    @staticmethod
    def _record(session: Session, body: bytes, body_sha256: str, notification: AlertGroupNotification,
                outcome: Outcome, incident_id: int | None, now: datetime) -> None:
        repo.record_delivery(
            session, received_at=now, group_key=notification.group_key, status=notification.status,
            alert_count=len(notification.alerts), outcome=outcome.value, incident_id=incident_id,
            body_sha256=body_sha256, body=body.decode("utf-8", errors="replace"),
        )

    def _load_state(self, session: Session, group: repo.GroupRow, notification: AlertGroupNotification,
                    incidents: dict[int, IncidentRow]) -> GroupState:
        stored = repo.alerts_by_fingerprint(session, (a.fingerprint for a in notification.alerts))
        known = {fp: [StoredAlert(fp, starts_at, status) for starts_at, status in rows] for fp, rows in stored.items()}
        if group.incident_id is None:
            return GroupState(known=known)
        # Locked before deciding, after the group (the order every delivery takes): a command
        # or timer on the incident commits first, or waits for this delivery, never between
        # this decision and its writes.
        row = store.lock_incident(session, group.incident_id)
        assert row is not None, "foreign keys guarantee the incident exists"
        incidents[row.id] = row
        return GroupState(incident=_incident_state(session, row, len(notification.alerts)), known=known)

    def _storm_state(self, session: Session, decision: Decision, now: datetime, delivery_size: int,
                     incidents: dict[int, IncidentRow]) -> StormState:
        """Lock the storm-guard key, so concurrent opens on it count each other."""
        assert decision.storm_key is not None and decision.route is not None
        guard = decision.route.route.storm_guard
        assert guard is not None
        storm_incident_id = repo.lock_storm_window(session, decision.storm_key)
        recent = repo.recent_opens(session, decision.storm_key, now - guard.window)
        row = None
        if storm_incident_id is not None:
            # Only an open storm incident is joined, so only an open one is locked: a delivery
            # that holds a resolved storm incident as its group's own may be waiting for this
            # storm-guard key, and waiting for that incident here would deadlock with it.
            row = incidents.get(storm_incident_id) or store.lock_open_incident(session, storm_incident_id)
        if row is not None:
            incidents[row.id] = row
        incident = _incident_state(session, row, delivery_size) if row is not None else None
        return StormState(decision.storm_key, recent, incident)


def _incident_state(session: Session, row: IncidentRow, delivery_size: int) -> IncidentState:
    """The incident as decide() needs it. Its firing alerts are loaded only when a delivery
    of ``delivery_size`` alerts could resolve them all; otherwise counting them is enough,
    which keeps each delivery joining a storm incident from costing more than the last."""
    firing: list[tuple[str, datetime]] = []
    more_firing = False
    if row.status != "resolved":
        firing = repo.firing_alerts(session, row.id, up_to=delivery_size + 1)
        if len(firing) > delivery_size:
            firing, more_firing = [], True
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
           route: str | None, state: GroupState, incidents: dict[int, IncidentRow], now: datetime) -> int | None:
    """Write what the decision says (``route``: the "<playbook>/<route>" it matched). Returns the
    incident the delivery touched, if any."""
    group_update: dict[str, object] = {}  # what lock_group did not already write
    if route is not None and route != group.route:
        group_update["route"] = route

    current = decision.target or state.incident
    incident_id = current.id if current is not None else None
    if decision.outcome is Outcome.DUPLICATE:
        if group_update:
            repo.update_group(session, group.id, **group_update)
        return incident_id

    if decision.outcome is Outcome.OPEN:
        incident_id = _open(session, notification, decision, now)
        group_update["incident_id"] = incident_id
    elif decision.target is not None and decision.target.id != group.incident_id:
        group_update["incident_id"] = decision.target.id
    if group_update:
        repo.update_group(session, group.id, **group_update)

    attach_to = incident_id if decision.incident_alerts else None
    repo.insert_alerts(session, [_alert_row(a, group.id, attach_to, now) for a in decision.new_alerts])
    repo.resolve_alerts(session, [(a.fingerprint, a.starts_at, a.ends_at) for a in decision.resolved_alerts], now)

    if decision.outcome is Outcome.OPEN:
        return incident_id
    if incident_id is None or not decision.events:
        _maybe_triage(session, group, decision, now)
        return incident_id

    change = _change(incidents[incident_id], decision, now)
    if decision.route is not None and decision.incident_alerts:
        trace_links = trace_links_action(incident_id, decision.route.route,
                                         [a for a in decision.new_alerts if a.firing])
        if trace_links is not None:
            change.action_on_queue(trace_links)
    change.flush(session)
    return incident_id


def _change(incident: IncidentRow, decision: Decision, now: datetime) -> IncidentChange:
    """What the delivery changes on an existing incident, through the transitions people
    and timers use, each event with its own time; one message announces it all."""
    change = IncidentChange(incident, ALERTMANAGER, now)
    for event in decision.events:
        if event.kind is EventKind.INCIDENT_REOPENED:
            transitions.reopen(change, cause=event.data, announcement=Announcement.IN_BATCH)
        elif event.kind is EventKind.SEVERITY_CHANGED:
            transitions.change_severity(change, str(event.data["to"]), str(event.data["reason"]), automatic=True,
                                        announcement=Announcement.IN_BATCH)
        elif event.kind is EventKind.ALERTS_ALL_RESOLVED:
            transitions.alerts_all_resolved(change, event.data, event.occurred_at)
        else:
            change.event(event.kind, event.data, occurred_at=event.occurred_at)
    if decision.incident_alerts and any(a.firing for a in decision.new_alerts):
        transitions.alerts_fired_again(change)
    text = change_text(decision.events, incident.commander)
    if text:
        change.announce(text, purpose="changes")
    change.refresh_header()  # it lists the firing alerts
    change.touch()
    return change


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


def _maybe_triage(session: Session, group: repo.GroupRow, decision: Decision, now: datetime) -> None:
    """A recorded-only group goes to the route's triage channel, if it has one; later
    changes to the group edit that notice rather than post again."""
    match = decision.route
    if decision.outcome is not Outcome.RECORD or match is None or not match.route.triage_channel:
        return
    repo.enqueue(session, ordering_key=f"group:{group.id}", kind=ActionKind.TRIAGE_NOTICE,
                       payload={"group_id": group.id, "channel": match.route.triage_channel}, now=now)
