"""A follow-up becomes an issue in the playbook's tracker through the outbox: one action on
the incident's tracker queue (``tracker:{incident_id}``), so a tracker outage never holds
up the incident's Slack messages. The action carries everything its handler needs but the
secrets: where the issue goes is fixed when the follow-up is added, not when it is sent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.domain.kinds import ActionKind
from bot.playbook.trackers import FollowUpTracker
from storage import alerting as repo
from storage.rows import FollowUpRow, IncidentRow

KINDS = {"github": ActionKind.GITHUB_ISSUE, "jira": ActionKind.JIRA_ISSUE}


def export_payload(incident: IncidentRow, followup: FollowUpRow, config: FollowUpTracker) -> dict[str, Any]:
    where: dict[str, Any] = ({"repo": config.github_repo} if config.tracker == "github"
                             else {"project": config.jira_project})
    return {
        "followup_id": followup.id, "number": followup.number, "text": followup.text, "owner": followup.owner,
        "due_at": followup.due_at.isoformat() if followup.due_at else None,
        "incident_title": incident.title, "channel_name": incident.channel_name, "channel_id": incident.channel_id,
        "labels": list(config.labels), **where,
    }


def enqueue_export(session: Session, incident: IncidentRow, followup: FollowUpRow, config: FollowUpTracker,
                   now: datetime) -> bool:
    """Queue the follow-up's issue in the tracker ``config`` names, in the caller's
    transaction; False (nothing queued) when the playbook names no tracker."""
    kind = KINDS.get(config.tracker)
    if kind is None:
        return False
    repo.enqueue(session, ordering_key=f"tracker:{incident.id}", incident_id=incident.id, kind=kind,
                 payload=export_payload(incident, followup, config), now=now)
    return True
