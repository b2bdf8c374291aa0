"""What ``simulate`` shows of workflows: which would run when the simulated incident opens,
and what each action would send. Secrets are shown by the name of their variable only."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.domain.kinds import ActionKind, EventKind
from bot.domain.workflows import IncidentFacts, plan_workflows
from bot.playbook import Playbook


def opened_workflows(playbook: Playbook, *, number: int, title: str, severity: str, route: str,
                     commander: str | None, labels: Mapping[str, str], now: datetime) -> list[dict[str, Any]]:
    facts = IncidentFacts(id=number, title=title, severity=severity, status="investigating", playbook=playbook.name,
                          route=route, commander=commander, opened_at=now, severity_names=playbook.severity_names,
                          labels=dict(labels))
    planned = plan_workflows(EventKind.INCIDENT_OPENED, {"severity": severity}, "alertmanager", now, facts,
                             playbook.workflows)
    return [{"workflow": payload.get("workflow"), "kind": str(kind), "sends": _sends(kind, payload)}
            for kind, payload in planned]


def _sends(kind: str, payload: Mapping[str, Any]) -> str:
    if kind == ActionKind.PAGERDUTY_EVENT:
        return (f"PagerDuty {payload['event_action']} dedup_key={payload['dedup_key']} severity={payload['severity']} "
                f"summary={payload['summary']!r} (routing key from ${payload['routing_key_env']})")
    if kind == ActionKind.GRAFANA_ANNOTATE:
        return f"Grafana annotation tags={payload['tags']} text={payload['text']!r} (a region when it resolves)"
    if kind == ActionKind.WEBHOOK_SEND:
        return f"POST {payload['url']} event=incident.opened (signed with ${payload['secret_env']})"
    if kind == ActionKind.WORKFLOW_POST:
        return f"post to {payload['channel']}: {payload['text']!r}"
    if kind == ActionKind.WORKFLOW_INVITE:
        who = [*payload["users"], *([f"members of {payload['usergroup']}"] if payload.get("usergroup") else [])]
        return f"invite {', '.join(who)}"
    return kind
