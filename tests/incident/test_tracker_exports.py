"""``enqueue_export``: a follow-up added under a playbook with a tracker queues one action on
the incident's tracker queue, carrying where the issue goes as the playbook said then (and
no secret); without a tracker nothing is queued. On both databases."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.incident.change import IncidentChange
from bot.incident.followups import create_followup
from bot.playbook.trackers import FollowUpTracker
from storage import incidents
from storage.database import Database
from tests.support import rows
from tests.support.trackers import GITHUB, JIRA, T0, incident_with_followups


async def test_a_github_export_is_queued_on_the_tracker_queue_with_its_repository(db: Database) -> None:
    incident_id = await db.write(incident_with_followups, ["Add a disk alert"], GITHUB)
    [action] = await rows.outbox(db)
    assert (action.kind, action.ordering_key, action.incident_id) == ("github.issue", f"tracker:{incident_id}",
                                                                      incident_id)
    assert action.payload == {
        "followup_id": action.payload["followup_id"], "number": 1, "text": "Add a disk alert", "owner": "UOWNER",
        "due_at": "2024-05-08T00:00:00+00:00", "incident_title": "api is down", "channel_name": "inc-1-api",
        "channel_id": "C1", "labels": ["incident", "follow-up"], "repo": "acme/ops"}


async def test_a_jira_export_carries_the_project(db: Database) -> None:
    await db.write(incident_with_followups, ["one", "two"], JIRA)
    actions = await rows.outbox(db)
    assert [(a.kind, a.payload["number"], a.payload["project"]) for a in actions] == [
        ("jira.issue", 1, "OPS"), ("jira.issue", 2, "OPS")]


async def test_without_a_tracker_nothing_is_queued(db: Database) -> None:
    await db.write(incident_with_followups, ["one"], FollowUpTracker())
    assert await rows.outbox(db) == []


def _added_through_create_followup(session: Session, config: FollowUpTracker | None) -> int:
    incident_id = incident_with_followups(session, [], config or FollowUpTracker())
    incident = incidents.lock_incident(session, incident_id)
    assert incident is not None
    change = IncidentChange(incident, "UCMD", T0)
    create_followup(session, change, text="Add a disk alert", owner=None, due_at=None, source="command",
                    tracker=config)
    change.flush(session)
    return incident_id


async def test_create_followup_queues_the_export_the_playbook_names(db: Database) -> None:
    incident_id = await db.write(_added_through_create_followup, GITHUB)
    exports = [o for o in await rows.outbox(db) if o.ordering_key == f"tracker:{incident_id}"]
    assert [(o.kind, o.payload["repo"], o.payload["text"]) for o in exports] == [
        ("github.issue", "acme/ops", "Add a disk alert")]
    incident_id = await db.write(_added_through_create_followup, None)
    assert [o for o in await rows.outbox(db) if o.ordering_key == f"tracker:{incident_id}"] == []
