"""Opening an incident: the one path alert-driven and human declarations share."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from bot.domain.decide import Decision, Event
from bot.domain.kinds import ActionKind
from bot.domain.links import render_links
from bot.domain.naming import channel_name
from bot.domain.notification import Alert
from bot.domain.policy import policy_snapshot
from bot.incident import timer_schedule as timers
from bot.incident.change import KeyedAction
from bot.incident.workflow_runs import enqueue_workflows, workflow_snapshot
from bot.playbook import Route, prometheus_duration
from bot.slack.plan import change_text, plan_open, storm_notice
from storage import alerting as repo
from storage.rows import NewEvent

# Links are rendered from the first alerts only: a 10,000-alert group has the same few.
LINK_SAMPLE = 50
TRACE_SAMPLE = 10  # alerts whose exemplars are looked up; one group shares one expression anyway


def decided_event(event: Event, now: datetime) -> NewEvent:
    """A decision's event as the timeline stores it, recorded ``now``."""
    return NewEvent(event.kind, event.actor, event.data, occurred_at=event.occurred_at, recorded_at=now)


def open_incident(session: Session, decision: Decision, *, title: str, labels: Mapping[str, str],
                  alerts: Sequence[Alert], source: str, declared_by: str | None, now: datetime) -> int:
    """Store a new incident with its opening events and the Slack actions that announce it."""
    match = decision.route
    assert match is not None and decision.severity is not None
    route = match.route
    policy = {**policy_snapshot(match), **workflow_snapshot(match.playbook, labels)}
    incident_id = repo.insert_incident(
        session, title=title, status="investigating", severity=decision.severity,
        playbook=match.playbook.name, route=route.name, source=source, declared_by=declared_by,
        commander=decision.commander, channel_name="", channel_id=None, storm_key=decision.storm_key,
        # A person who declares an incident commands it knowingly: acknowledged at once.
        policy=policy, opened_at=now, acknowledged_at=now if source == "human" else None, mitigated_at=None,
        resolved_at=None, all_alerts_resolved_at=None, updated_at=now,
    )
    name = channel_name(route.channel, date=now.date(), number=incident_id, title=title, labels=labels)
    repo.update_incident(session, incident_id, channel_name=name)
    if decision.storm:
        assert decision.storm_key is not None
        repo.set_storm_incident(session, decision.storm_key, incident_id)
    repo.append_events(session, incident_id, [decided_event(e, now) for e in decision.events])

    notice = None
    if decision.storm and route.storm_guard is not None:
        window = prometheus_duration(route.storm_guard.window)
        notice = storm_notice(route.name, route.storm_guard.max_incidents, window)
        notice += "\n" + (change_text(decision.events, decision.commander) or "")
    planned = plan_open(decision.commander, route.responders, render_links(route, alerts[:LINK_SAMPLE]), notice)
    actions: list[KeyedAction] = [(f"incident:{incident_id}", a.kind, a.payload) for a in planned]
    trace_links = trace_links_action(incident_id, route, alerts)
    if trace_links is not None:
        actions.append(trace_links)
    repo.enqueue_keyed(session, incident_id=incident_id, now=now, actions=actions)
    opened = repo.get_incident(session, incident_id) if match.playbook.workflows else None
    if opened is not None:
        enqueue_workflows(session, opened, [(e.kind, e.data, e.actor, e.occurred_at) for e in decision.events], now)
    timers.on_open(session, incident_id, policy, decision.severity, decision.commander,
                         decision.commander_source, now)
    return incident_id


def trace_links_action(incident_id: int, route: Route, alerts: Sequence[Alert]) -> KeyedAction | None:
    """The request for these alerts' trace links, on the incident's separate traces queue;
    None when the route links no traces or no alert fires."""
    if route.trace_url is None or not alerts:
        return None
    sample = [{"generator_url": a.generator_url, "labels": dict(a.labels), "annotations": dict(a.annotations),
               "starts_at": a.starts_at.isoformat()} for a in list(alerts)[:TRACE_SAMPLE] if a.status == "firing"]
    if not sample:
        return None
    return f"traces:{incident_id}", ActionKind.MESSAGE_TRACE_LINKS, {"alerts": sample}
