"""Which playbook workflows run for an incident event, and what each of their actions will
send: a pure decision from the event, the incident, its labels and the workflows.

A workflow runs on an event it lists when all its conditions hold. Besides, whatever a
workflow started is kept in step whatever its conditions say now: a PagerDuty alert it may
have triggered is acknowledged with the commander's acknowledgement, resolved with the
incident and triggered again when the incident reopens; a Grafana annotation becomes a
region when the incident resolves. Those follow-ups are sent only when there is something
to follow (the handler checks that the alert was triggered, the annotation created).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.domain.kinds import ActionKind, EventKind
from bot.playbook.templates import render_or_none
from bot.playbook.workflows import (
    GrafanaAnnotationAction,
    InviteAction,
    PageAction,
    PostAction,
    WebhookAction,
    Workflow,
)

__all__ = ["IncidentFacts", "PlannedAction", "dedup_key", "incident_tag", "pagerduty_severity", "plan_workflows",
           "template_context"]

PlannedAction = tuple[ActionKind, dict[str, object]]
PAGERDUTY_SEVERITIES = ("critical", "error", "warning", "info")
FOLLOWED: dict[str, str] = {EventKind.COMMANDER_ACKNOWLEDGED: "acknowledge", EventKind.INCIDENT_RESOLVED: "resolve",
            EventKind.INCIDENT_REOPENED: "trigger"}
DEFAULT_SUMMARY = "[{{ incident.severity | upper }}] {{ incident.title }} (incident #{{ incident.id }})"
DEFAULT_SOURCE = "incident-bot"
DEFAULT_ANNOTATION_TEXT = "[{{ incident.severity | upper }}] {{ incident.title }}"
SUMMARY_LIMIT = 1024  # PagerDuty truncates longer summaries


@dataclass(frozen=True, slots=True)
class IncidentFacts:
    """What a workflow may look at and template: the incident as the event leaves it."""

    id: int
    title: str
    severity: str
    status: str
    playbook: str
    route: str
    commander: str | None
    opened_at: datetime
    severity_names: tuple[str, ...]  # most severe first
    labels: Mapping[str, str]

    def as_dict(self) -> dict[str, object]:
        return {"id": self.id, "title": self.title, "severity": self.severity, "status": self.status,
                "playbook": self.playbook, "route": self.route, "commander": self.commander,
                "opened_at": self.opened_at.isoformat()}


def dedup_key(incident_id: int, opened_at: datetime) -> str:
    """One PagerDuty alert per incident, distinct from another database's incident of the same id."""
    return f"incident-bot-{incident_id}-{opened_at:%Y%m%dT%H%M%S}"


def pagerduty_severity(severity: str, severity_names: Sequence[str]) -> str:
    """The playbook's most severe level is critical, the next error, then warning, then info."""
    try:
        rank = list(severity_names).index(severity)
    except ValueError:
        return "error"
    return PAGERDUTY_SEVERITIES[min(rank, len(PAGERDUTY_SEVERITIES) - 1)]


def template_context(incident: IncidentFacts, event: str, data: Mapping[str, object], actor: str) -> dict[str, Any]:
    return {"incident": incident.as_dict(), "labels": dict(incident.labels),
            "event": {"kind": event, "data": dict(data), "actor": actor}}


def _render(source: str | None, default: str, context: Mapping[str, Any]) -> str:
    return (render_or_none(source or default, context) or render_or_none(default, context) or "").strip()


def plan_workflows(event: str, data: Mapping[str, object], actor: str, at: datetime, incident: IncidentFacts,
                   workflows: Sequence[Workflow]) -> list[PlannedAction]:
    """The outbox actions, in order, that ``event`` causes under ``workflows``."""
    planned: list[PlannedAction] = []
    context = template_context(incident, event, data, actor)
    sent_pages: set[tuple[str, str]] = set()
    region = False
    for workflow in workflows:
        runs = event in workflow.on and workflow.when.holds(incident.severity, incident.route, incident.labels)
        for step in workflow.do:
            spec = step.spec
            if isinstance(spec, PageAction):
                page = _page(workflow, spec, event, runs, incident, context)
                if page is not None and (spec.routing_key_env, str(page[1]["event_action"])) not in sent_pages:
                    sent_pages.add((spec.routing_key_env, str(page[1]["event_action"])))
                    planned.append(page)
            elif isinstance(spec, GrafanaAnnotationAction):
                if event == EventKind.INCIDENT_RESOLVED and not region:
                    region = True
                    planned.append((ActionKind.GRAFANA_REGION, {"workflow": workflow.name,
                                                                "time_end": _millis(at)}))
                if runs:
                    planned.append((ActionKind.GRAFANA_ANNOTATE, _annotation(workflow, spec, incident, at, context)))
            elif not runs:
                continue
            elif isinstance(spec, WebhookAction):
                planned.append((ActionKind.WEBHOOK_SEND, {
                    "workflow": workflow.name, "url": spec.url, "secret_env": spec.secret_env,
                    "event": {"kind": event, "data": dict(data), "actor": actor, "occurred_at": at.isoformat()},
                    "incident": incident.as_dict()}))
            elif isinstance(spec, PostAction):
                planned.append((ActionKind.WORKFLOW_POST, {"workflow": workflow.name, "channel": spec.channel,
                                                           "text": _render(spec.text, "", _inert(context))}))
            elif isinstance(spec, InviteAction):
                planned.append((ActionKind.WORKFLOW_INVITE, {"workflow": workflow.name, "users": list(spec.users),
                                                             "usergroup": spec.usergroup}))
    return planned


def _inert(value: Any) -> Any:
    """The context with every string mrkdwn-escaped: alert and user text stays text in Slack,
    while the template's own markup (``<url|title>``, ``*bold*``) still works."""
    if isinstance(value, str):
        return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if isinstance(value, dict):
        return {k: _inert(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_inert(v) for v in value]
    return value


def _page(workflow: Workflow, spec: PageAction, event: str, runs: bool, incident: IncidentFacts,
          context: Mapping[str, Any]) -> PlannedAction | None:
    followed = FOLLOWED.get(event)  # a StrEnum member hashes as its string
    if followed is None and not runs:
        return None
    if followed is not None and followed != "trigger":
        action = followed  # acknowledge or resolve what was triggered, whatever the conditions say now
    else:
        action = "trigger"
    payload: dict[str, object] = {
        "workflow": workflow.name, "event_action": action, "routing_key_env": spec.routing_key_env,
        "dedup_key": dedup_key(incident.id, incident.opened_at),
        # Only an alert that was triggered is followed: a reopened incident is paged again
        # when a workflow runs on incident.reopened, or when it was paged before.
        "follow_up": followed is not None and not (runs and action == "trigger"),
    }
    if action == "trigger":
        payload.update(summary=_render(spec.summary, DEFAULT_SUMMARY, context)[:SUMMARY_LIMIT],
                       source=_render(spec.source, DEFAULT_SOURCE, context) or DEFAULT_SOURCE,
                       severity=pagerduty_severity(incident.severity, incident.severity_names))
    return ActionKind.PAGERDUTY_EVENT, payload


def _annotation(workflow: Workflow, spec: GrafanaAnnotationAction, incident: IncidentFacts, at: datetime,
                context: Mapping[str, Any]) -> dict[str, object]:
    payload: dict[str, object] = {
        "workflow": workflow.name, "time": _millis(at), "tags": [*spec.tags, incident_tag(incident.id, incident.opened_at)],
        "text": _render(spec.text, DEFAULT_ANNOTATION_TEXT, context)}
    if spec.dashboard_uid is not None:
        payload["dashboard_uid"] = spec.dashboard_uid
    if spec.panel_id is not None:
        payload["panel_id"] = spec.panel_id
    return payload


def incident_tag(incident_id: int, opened_at: datetime) -> str:
    """The tag every annotation of one incident carries, so a retry can find what it created."""
    return dedup_key(incident_id, opened_at)


def _millis(at: datetime) -> int:
    return int(at.timestamp() * 1000)
