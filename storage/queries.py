"""Read-side queries for the API, metrics and the CLI."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from storage.models import Alert, FollowUp, Incident, IncidentEvent, OutboxAction, Postmortem
from storage.rows import AlertRow, ClosedFollowUp, EventRow, IncidentDetail, IncidentRow


def open_incidents_by_severity(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(Incident.severity, func.count()).where(Incident.status != "resolved").group_by(Incident.severity)
    )
    return {severity: int(count) for severity, count in rows}


def incidents_page(session: Session, *, status: str | None, limit: int, before_id: int | None) -> list[IncidentRow]:
    """Incidents, newest first; ``before_id`` pages backwards."""
    query = select(Incident).order_by(Incident.id.desc()).limit(limit)
    if status == "open":
        query = query.where(Incident.status != "resolved")
    elif status is not None:
        query = query.where(Incident.status == status)
    if before_id is not None:
        query = query.where(Incident.id < before_id)
    return [IncidentRow.from_orm(incident) for incident in session.execute(query).scalars()]


def incident_detail(session: Session, incident_id: int) -> IncidentDetail | None:
    incident = session.get(Incident, incident_id)
    if incident is None:
        return None
    alerts = session.execute(select(Alert).where(Alert.incident_id == incident_id)
                             .order_by(Alert.starts_at, Alert.id)).scalars()
    events = session.execute(select(IncidentEvent).where(IncidentEvent.incident_id == incident_id)
                             .order_by(IncidentEvent.occurred_at, IncidentEvent.id)).scalars()
    return IncidentDetail(IncidentRow.from_orm(incident), tuple(AlertRow.from_orm(a) for a in alerts),
                          tuple(EventRow.from_orm(e) for e in events))


def incident_id_for_channel_id_or_name(session: Session, channel: str) -> int | None:
    """The newest incident whose Slack channel has this id or this name (with or without #)."""
    name = channel.lstrip("#")
    row = session.execute(select(Incident.id).where(
        (Incident.channel_id == channel) | (Incident.channel_name == name)).order_by(Incident.id.desc()).limit(1))
    return row.scalar_one_or_none()


def incident_timings(session: Session, since: datetime | None = None, *,
                     until: datetime | None = None) -> list[tuple[str, str, datetime, datetime | None, datetime | None]]:
    """(severity, playbook/route, opened, acknowledged, resolved) of incidents opened since
    ``since`` (and before ``until``)."""
    query = select(Incident.severity, Incident.playbook, Incident.route, Incident.opened_at,
                   Incident.acknowledged_at, Incident.resolved_at)
    if since is not None:
        query = query.where(Incident.opened_at >= since)
    if until is not None:
        query = query.where(Incident.opened_at < until)
    return [(sev, f"{pb}/{route}", opened, acked, resolved)
            for sev, pb, route, opened, acked, resolved in session.execute(query)]


def alert_counts_by_name(session: Session, since: datetime, limit: int = 10, *,
                         until: datetime | None = None) -> list[tuple[str, int]]:
    """The alert names that fired most often since ``since`` (and before ``until``)."""
    name = func.coalesce(Alert.labels["alertname"].as_string(), "?")
    query = select(name, func.count()).where(Alert.starts_at >= since).group_by(name)
    if until is not None:
        query = query.where(Alert.starts_at < until)
    # Counted by the database, ordered here: the same ties on every database's collation.
    counts = [(str(alertname), int(count)) for alertname, count in session.execute(query)]
    return sorted(counts, key=lambda item: (-item[1], item[0]))[:limit]


def outbox_states(session: Session) -> dict[str, int]:
    """How many outbox actions are in each state (pending, done, failed)."""
    rows = session.execute(select(OutboxAction.state, func.count()).group_by(OutboxAction.state))
    return {state: int(count) for state, count in rows}


def aftercare_since(session: Session, since: datetime, *, until: datetime | None = None) -> tuple[
        list[tuple[str, datetime | None, datetime | None]], list[tuple[str, datetime | None]]]:
    """(status, due_at, published_at) of the postmortems started since ``since``, and
    (status, due_at) of the follow-ups added since then (both before ``until``)."""
    postmortems = select(Postmortem.status, Postmortem.due_at, Postmortem.published_at).where(
        Postmortem.created_at >= since)
    added = select(FollowUp.status, FollowUp.due_at).where(FollowUp.created_at >= since)
    if until is not None:
        postmortems, added = postmortems.where(Postmortem.created_at < until), added.where(FollowUp.created_at < until)
    postmortem_rows, followup_rows = session.execute(postmortems).all(), session.execute(added).all()
    return ([(str(s), d, p) for s, d, p in postmortem_rows], [(str(s), d) for s, d in followup_rows])


def followups_closed(session: Session, since: datetime, *, until: datetime | None = None) -> list[ClosedFollowUp]:
    """Follow-ups closed (done or dropped) since ``since`` and before ``until``, in the order they were closed."""
    query = select(FollowUp.incident_id, FollowUp.number, FollowUp.status, FollowUp.created_at, FollowUp.due_at,
                   FollowUp.closed_at).where(FollowUp.status != "open", FollowUp.closed_at >= since)
    if until is not None:
        query = query.where(FollowUp.closed_at < until)
    rows = session.execute(query.order_by(FollowUp.closed_at, FollowUp.id))
    return [ClosedFollowUp(incident_id=int(i), number=int(n), status=str(status), created_at=created, due_at=due,
                           closed_at=closed)
            for i, n, status, created, due, closed in rows if closed is not None]


def incidents_opened_by_alert(session: Session, since: datetime, names: Sequence[str], *,
                              until: datetime | None = None) -> dict[str, int]:
    """For each of these alert names, the incidents opened since ``since`` (and before
    ``until``) by an alert of that name: one that was already there when the incident opened."""
    if not names:
        return {}
    name = func.coalesce(Alert.labels["alertname"].as_string(), "?")
    query = (select(name, func.count(distinct(Incident.id)))
             .join(Incident, Alert.incident_id == Incident.id)
             .where(Incident.opened_at >= since, Alert.first_seen_at <= Incident.opened_at, name.in_(list(names)))
             .group_by(name))
    if until is not None:
        query = query.where(Incident.opened_at < until)
    return {str(alertname): int(count) for alertname, count in session.execute(query)}
