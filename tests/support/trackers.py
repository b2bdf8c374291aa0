"""An incident with follow-ups whose exports are queued, for the tracker tests."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from bot.incident.tracker_exports import enqueue_export
from bot.playbook.trackers import FollowUpTracker
from storage import alerting, followups

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
GITHUB = FollowUpTracker(tracker="github", github_repo="acme/ops", labels=("incident", "follow-up"))
JIRA = FollowUpTracker(tracker="jira", jira_project="OPS", labels=("incident",))


def incident_with_followups(session: Session, texts: list[str], config: FollowUpTracker,
                            now: datetime = T0) -> int:
    """A resolved incident commanded by UCMD in channel C1 (#inc-1-api), a follow-up per
    text, each exported to ``config``'s tracker."""
    incident_id = alerting.insert_incident(
        session, title="api is down", status="resolved", severity="sev2", playbook="default", route="all",
        source="alertmanager", declared_by=None, commander="UCMD", channel_name="inc-1-api", channel_id="C1",
        header_ts=None, roles={}, storm_key=None, policy={}, opened_at=now, acknowledged_at=None,
        mitigated_at=None, resolved_at=now, all_alerts_resolved_at=None, updated_at=now)
    incident = alerting.get_incident(session, incident_id)
    assert incident is not None
    for text in texts:
        followup = followups.add(session, incident_id, text=text, owner="UOWNER", due_at=datetime(2024, 5, 8, tzinfo=UTC),
                                 created_by="UCMD", source="command", message_link=None, now=now)
        enqueue_export(session, incident, followup, config, now)
    return incident_id
