"""Enqueueing playbook workflows' actions, in the transaction that records their event.

The workflows and the group's labels are copied onto the incident's policy snapshot when it
opens (like its escalation policy), so a page started under one version of a playbook is
acknowledged and resolved even after the playbook changed, and every replica decides alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.orm import Session

from bot.domain.workflows import IncidentFacts, plan_workflows
from bot.playbook import Playbook
from bot.playbook.workflows import TRIGGERS, Workflow
from storage import alerting as repo
from storage.rows import IncidentRow

__all__ = ["WORKFLOW_TRIGGERS", "enqueue_workflows", "incident_facts", "run_workflows", "workflow_snapshot",
           "workflows_of"]

WORKFLOW_TRIGGERS = frozenset(TRIGGERS)
_WORKFLOWS = TypeAdapter(tuple[Workflow, ...])


def workflow_snapshot(playbook: Playbook, labels: Mapping[str, str]) -> dict[str, object]:
    """What the policy snapshot keeps for workflows; nothing for a playbook without any."""
    if not playbook.workflows:
        return {}
    return {"workflows": [w.model_dump(mode="json", by_alias=True, exclude_defaults=True) for w in playbook.workflows],
            "labels": dict(labels)}


def workflows_of(incident: IncidentRow) -> tuple[Workflow, ...]:
    stored = incident.policy.get("workflows")
    if not stored:
        return ()
    try:
        return _WORKFLOWS.validate_python(stored)
    except ValidationError:  # written by a newer version of the bot: run none rather than half
        return ()


def incident_facts(incident: IncidentRow) -> IncidentFacts:
    severities = incident.policy.get("severities")
    names = tuple(str(s.get("name")) for s in severities if isinstance(s, dict)) if isinstance(severities, list) else ()
    labels = incident.policy.get("labels")
    return IncidentFacts(
        id=incident.id, title=incident.title, severity=incident.severity, status=incident.status,
        playbook=incident.playbook, route=incident.route, commander=incident.commander, opened_at=incident.opened_at,
        severity_names=names, labels={str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {})


def enqueue_workflows(session: Session, incident: IncidentRow, events: Iterable[tuple[str, Mapping[str, object], str,
                      datetime]], now: datetime) -> None:
    """Enqueue what the incident's workflows do for these (kind, data, actor, occurred_at) events."""
    triggers = [event for event in events if event[0] in WORKFLOW_TRIGGERS]  # not alert.fired: storms are hot
    workflows = workflows_of(incident) if triggers else ()
    if not workflows:
        return
    facts = incident_facts(incident)
    for kind, data, actor, occurred_at in triggers:
        planned = plan_workflows(kind, data, actor, occurred_at, facts, workflows)
        if planned:
            repo.enqueue_many(session, ordering_key=f"workflow:{incident.id}", incident_id=incident.id,
                              actions=planned, now=now)


def run_workflows(session: Session, incident_id: int, kind: str, data: Mapping[str, object], actor: str,
                  now: datetime) -> None:
    """Run the incident's workflows for one event recorded elsewhere (``followup.overdue``,
    ``postmortem.overdue``): call it in the transaction that records the event."""
    incident = repo.get_incident(session, incident_id)
    if incident is not None:
        enqueue_workflows(session, incident, [(kind, data, actor, now)], now)
