"""What to do with an Alertmanager delivery: the pure decision, no I/O.

Given what is stored about the group (its incident, the alerts already known), the
playbooks and the notification, :func:`decide` returns one :class:`Decision`: open
a new incident, join the group's open incident, reopen a recently resolved one,
only record the alerts, or nothing new at all (a duplicate). It also returns the
timeline events the delivery causes, so the storage layer writes exactly what was
decided, in one transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from bot.domain.kinds import EventKind
from bot.domain.notification import Alert, AlertGroupNotification
from bot.domain.rules import commander_for, declares, severity_for
from bot.playbook import PlaybookSet, RouteMatch

AlertIdentity = tuple[str, datetime]
STORM_KEY_MAX = 300  # the width of the column that stores it


class Outcome(StrEnum):
    OPEN = "open"
    JOIN = "join"
    REOPEN = "reopen"
    RECORD = "record"
    DUPLICATE = "duplicate"


@dataclass(frozen=True, slots=True)
class IncidentState:
    """The stored incident a group is linked to."""

    id: int
    status: str
    severity: str
    playbook: str
    route: str
    resolved_at: datetime | None
    reopen_window: timedelta
    firing: frozenset[AlertIdentity] = frozenset()
    commander: str | None = None
    # True when the incident has more firing alerts than one delivery could resolve; then
    # ``firing`` is left empty instead of loading them all (a storm incident holds thousands).
    more_firing: bool = False

    @property
    def is_open(self) -> bool:
        return self.status != "resolved"


@dataclass(frozen=True, slots=True)
class StoredAlert:
    fingerprint: str
    starts_at: datetime
    status: str

    @property
    def identity(self) -> AlertIdentity:
        return (self.fingerprint, self.starts_at)


@dataclass(frozen=True, slots=True)
class GroupState:
    """What is stored about one Alertmanager group before this delivery."""

    incident: IncidentState | None = None
    known: Mapping[str, Sequence[StoredAlert]] = field(default_factory=dict)  # by fingerprint


@dataclass(frozen=True, slots=True)
class StormState:
    """Recent opens on one storm-guard key, and its storm incident if one is open."""

    key: str
    recent_opens: int
    incident: IncidentState | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """A timeline event to append; the incident id is attached when it is written."""

    kind: EventKind
    occurred_at: datetime
    data: dict[str, Any]
    actor: str = "alertmanager"


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    reason: str
    route: RouteMatch | None = None
    new_alerts: Sequence[Alert] = ()
    resolved_alerts: Sequence[Alert] = ()
    severity: str | None = None  # the incident's severity after this delivery
    commander: str | None = None  # set when opening
    commander_source: str | None = None
    events: Sequence[Event] = ()
    target: IncidentState | None = None  # an incident joined that is not the group's own (a storm)
    storm_key: str | None = None  # set when opening: what the storm guard counts this open under
    storm: bool = False  # the incident opened is a storm incident

    @property
    def incident_alerts(self) -> bool:
        """Whether the changed alerts belong to an incident (existing or new)."""
        return self.outcome in (Outcome.OPEN, Outcome.JOIN, Outcome.REOPEN)


def alert_name(alert: Alert) -> str:
    return alert.labels.get("alertname", alert.fingerprint)


DETAIL_LABELS = ("instance", "pod", "host", "node", "job")


def alert_detail(labels: Mapping[str, str], fingerprint: str) -> str:
    """A short label value that tells apart alerts of the same name."""
    return next((labels[k] for k in DETAIL_LABELS if labels.get(k)), fingerprint[:8])


def _fired(alert: Alert) -> Event:
    return Event(EventKind.ALERT_FIRED, alert.starts_at, {
        "fingerprint": alert.fingerprint, "alertname": alert_name(alert),
        "detail": alert_detail(alert.labels, alert.fingerprint),
        "starts_at": alert.starts_at.isoformat(), "labels": dict(alert.labels),
    })


def _resolved(alert: Alert, now: datetime) -> Event:
    return Event(EventKind.ALERT_RESOLVED, alert.ends_at or now, {
        "fingerprint": alert.fingerprint, "alertname": alert_name(alert),
        "detail": alert_detail(alert.labels, alert.fingerprint),
        "starts_at": alert.starts_at.isoformat(),
        "ends_at": alert.ends_at.isoformat() if alert.ends_at else None,
    })


def _change_events(new: Sequence[Alert], resolved: Sequence[Alert], now: datetime) -> list[Event]:
    """The timeline's record of the alerts that changed: built only for an incident's timeline
    (a delivery that is only recorded writes none)."""
    return [*(_fired(a) for a in new), *(_resolved(a, now) for a in [*resolved, *(a for a in new if not a.firing)])]


def _stored_match(alert: Alert, stored: Sequence[StoredAlert]) -> StoredAlert | None:
    """The stored alert this payload alert is, if any.

    Alertmanager merges re-sent alerts keeping the earliest ``startsAt``, so a later
    notification of the same alert can carry an earlier start than the one stored
    (seen with the real Alertmanager 0.25), while a new activation always starts later.
    So: an exact identity match, else the stored alert of the same fingerprint that
    started soonest at or after this start.
    """
    exact = next((c for c in stored if c.starts_at == alert.starts_at), None)
    if exact is not None:
        return exact
    later = [c for c in stored if c.starts_at >= alert.starts_at]
    return min(later, key=lambda c: c.starts_at) if later else None


def classify(notification: AlertGroupNotification,
             known: Mapping[str, Sequence[StoredAlert]]) -> tuple[list[Alert], list[Alert]]:
    """Split the payload into alerts never seen before and known firing alerts now resolved.

    Resolved alerts are returned with the stored identity, so the update finds the row.
    A resolved alert is final: a late, out-of-order "firing" for it changes nothing.
    """
    new: dict[AlertIdentity, Alert] = {}
    resolved: dict[AlertIdentity, Alert] = {}
    for alert in notification.alerts:
        stored = _stored_match(alert, known.get(alert.fingerprint, ()))
        if stored is None:
            new.setdefault(alert.identity, alert)
        elif stored.status == "firing" and not alert.firing:
            resolved.setdefault(stored.identity, replace(alert, starts_at=stored.starts_at))
    return list(new.values()), list(resolved.values())


def storm_key(match: RouteMatch, labels: Mapping[str, str]) -> str | None:
    guard = match.route.storm_guard
    if guard is None:
        return None
    values = ",".join(f"{label}={labels.get(label, '')}" for label in guard.by)
    key = f"{match.playbook.name}/{match.route.name}|{values}"
    if len(key) <= STORM_KEY_MAX:
        return key
    # Label values can be any length: keep a readable start and a digest of the whole key.
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return f"{key[:STORM_KEY_MAX - len(digest) - 2]}…#{digest}"


def decide(
    notification: AlertGroupNotification,
    state: GroupState,
    playbooks: PlaybookSet,
    now: datetime,
    storm: StormState | None = None,
) -> Decision:
    """Decide what one delivery does. Pure: same inputs, same decision.

    Opening an incident on a storm-guarded route needs ``storm`` (the recent opens
    under its key); without it the decision is made as if the guard had room, and the
    caller, seeing ``storm_key`` set, locks the key and decides again with it.
    """
    new, resolved = classify(notification, state.known)
    if not new and not resolved:
        return Decision(Outcome.DUPLICATE, "no alert changed state since the last delivery")

    incident = state.incident
    match = _route_for(notification, incident, playbooks)
    new_firing = [a for a in new if a.firing]

    if incident is not None and incident.is_open:
        severity = _raised(match, incident.severity, new_firing)
        events = _change_events(new, resolved, now)
        if severity != incident.severity:
            events.append(_severity_event(incident.severity, severity, new_firing, match, now))
        events += _all_resolved_events(incident, new, resolved, now)
        return Decision(Outcome.JOIN, f"group already belongs to open incident #{incident.id}", match,
                        new, resolved, severity, events=events)

    if incident is not None and new_firing and incident.resolved_at is not None \
            and now - incident.resolved_at <= incident.reopen_window:
        severity = _raised(match, incident.severity, new_firing)
        events = [Event(EventKind.INCIDENT_REOPENED, now, {
            "resolved_at": incident.resolved_at.isoformat(), "reopen_window": str(incident.reopen_window),
        }), *_change_events(new, resolved, now)]
        if severity != incident.severity:
            events.append(_severity_event(incident.severity, severity, new_firing, match, now))
        return Decision(Outcome.REOPEN, f"fired again within the reopen window of resolved incident #{incident.id}",
                        match, new, resolved, severity, events=events)

    if match is not None and new_firing:
        severity = _max_severity(match, new_firing)
        if declares(match, new_firing):
            key = storm_key(match, _group_labels(notification))
            guard = match.route.storm_guard
            if key is not None and guard is not None and storm is not None \
                    and storm.recent_opens >= guard.max_incidents:
                return _storm(notification, match, storm, new, resolved, _change_events(new, resolved, now), now)
            commander, source = commander_for(match, now)
            title = notification.common_annotations.get("summary")
            events = [Event(EventKind.INCIDENT_OPENED, now, {
                "severity": severity, "route": f"{match.playbook.name}/{match.route.name}",
                "group_key": notification.group_key, "title": title,
            })]
            if commander is not None:
                events.append(Event(EventKind.COMMANDER_ASSIGNED, now, {"commander": commander, "source": source}))
            events += _change_events(new, resolved, now)
            return Decision(Outcome.OPEN, f"route {match.route.name} auto-declares these alerts", match,
                            new, resolved, severity, commander, source, events, storm_key=key)
        return Decision(Outcome.RECORD, f"route {match.route.name} does not auto-declare these alerts", match,
                        new, resolved, severity)

    # Only resolutions, or a group whose incident is closed: its known alerts that
    # resolve still belong on that incident's timeline; new alerts stay unattached.
    reason = "no route matches these labels" if match is None else "no new firing alerts"
    events = [_resolved(a, now) for a in resolved] if incident is not None else []
    return Decision(Outcome.RECORD, reason, match, new, resolved, events=events)


def _storm(notification: AlertGroupNotification, match: RouteMatch, storm: StormState, new: Sequence[Alert],
           resolved: Sequence[Alert], change_events: Sequence[Event], now: datetime) -> Decision:
    """Past the storm guard's limit: join the storm incident, or open it."""
    guard = match.route.storm_guard
    assert guard is not None
    new_firing = [a for a in new if a.firing]
    joined = Event(EventKind.STORM_GROUP_JOINED, now, {"group_key": notification.group_key, "alerts": len(new_firing)})
    if storm.incident is not None and storm.incident.is_open:
        target = storm.incident
        severity = _raised(match, target.severity, new_firing)
        events = [joined, *change_events]
        if severity != target.severity:
            events.append(_severity_event(target.severity, severity, new_firing, match, now))
        return Decision(Outcome.JOIN, f"storm guard: joins storm incident #{target.id}", match, new, resolved,
                        severity, events=events, target=target)
    commander, source = commander_for(match, now)
    severity = _max_severity(match, new_firing)
    events = [
        Event(EventKind.INCIDENT_OPENED, now, {
            "severity": severity, "route": f"{match.playbook.name}/{match.route.name}",
            "group_key": notification.group_key, "storm": True}),
        Event(EventKind.STORM_STARTED, now, {"key": storm.key, "recent_opens": storm.recent_opens,
                                     "max_incidents": guard.max_incidents, "window": str(guard.window)}),
    ]
    if commander is not None:
        events.append(Event(EventKind.COMMANDER_ASSIGNED, now, {"commander": commander, "source": source}))
    events += [joined, *change_events]
    reason = f"storm guard: {storm.recent_opens} incidents within {guard.window} on this route; opens a storm incident"
    return Decision(Outcome.OPEN, reason, match, new, resolved, severity, commander, source, events,
                    storm_key=storm.key, storm=True)


def _group_labels(notification: AlertGroupNotification) -> Mapping[str, str]:
    labels = notification.common_labels or notification.group_labels
    if not labels and notification.alerts:
        return notification.alerts[0].labels
    return labels


def _route_for(notification: AlertGroupNotification, incident: IncidentState | None,
               playbooks: PlaybookSet) -> RouteMatch | None:
    """An incident keeps the route it opened on; otherwise the first matching route."""
    if incident is not None:
        key = (incident.playbook, incident.route)
        found = next((m for m in playbooks.routes if m.key == key), None)
        if found is not None:
            return found
    return playbooks.match(_group_labels(notification))


def _max_severity(match: RouteMatch, alerts: Sequence[Alert]) -> str:
    severities = {severity_for(match, a.labels) for a in alerts}  # ranked once each, not once an alert
    return min(severities, key=match.playbook.severity_rank)


def _raised(match: RouteMatch | None, current: str, new_firing: Sequence[Alert]) -> str:
    """Severity rises when a more severe alert joins; it never drops by itself."""
    if match is None or not new_firing:
        return current
    candidate = _max_severity(match, new_firing)
    try:
        return match.playbook.more_severe(current, candidate)
    except KeyError:  # the playbook no longer knows the current severity
        return current


def _severity_event(old: str, new: str, alerts: Sequence[Alert], match: RouteMatch | None, now: datetime) -> Event:
    trigger = next((a for a in alerts if match and severity_for(match, a.labels) == new), alerts[0])
    return Event(EventKind.SEVERITY_CHANGED, now, {
        "from": old, "to": new, "reason": f"alert {alert_name(trigger)} joined",
        "automatic": True,
    })


def _all_resolved_events(incident: IncidentState, new: Sequence[Alert], resolved: Sequence[Alert],
                         now: datetime) -> list[Event]:
    if incident.more_firing:
        return []
    had_firing = bool(incident.firing) or any(a.firing for a in new)
    firing = (set(incident.firing) - {a.identity for a in resolved}) | {a.identity for a in new if a.firing}
    if firing or not had_firing:
        return []
    last = max((a.ends_at or now for a in [*resolved, *new]), default=now)
    return [Event(EventKind.ALERTS_ALL_RESOLVED, last, {"prompt_commander": True})]


HUMAN_DECLARATION_LABELS = {"source": "human"}


def decide_declaration(title: str, severity: str | None, user: str, playbooks: PlaybookSet,
                       now: datetime) -> Decision:
    """A person declares an incident: routed like alerts (labels ``source="human"``,
    so a playbook can give human declarations their own route), commanded by them."""
    match = playbooks.match({**HUMAN_DECLARATION_LABELS, "alertname": title})
    if match is None:
        raise ValueError("no playbook route accepts declared incidents: add a catch-all route")
    chosen = severity or match.route.severity.default
    match.playbook.severity(chosen)  # KeyError for a severity this playbook does not know
    events = [
        Event(EventKind.INCIDENT_OPENED, now, {"severity": chosen, "route": f"{match.playbook.name}/{match.route.name}",
                                       "title": title, "declared_by": user}, actor=user),
        Event(EventKind.COMMANDER_ASSIGNED, now, {"commander": user, "source": "declared"}, actor=user),
    ]
    return Decision(Outcome.OPEN, "declared by hand", match, severity=chosen, commander=user,
                    commander_source="declared", events=events)
