"""Workflows run from the incident's policy snapshot, enqueued on its workflow queue in the
transaction that records the event; the overdue triggers (recorded by the follow-up and
postmortem tracking) call :func:`run_workflows` directly. On both databases."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from bot.incident.workflow_runs import run_workflows, workflow_snapshot
from bot.playbook import Playbook
from storage import alerting
from storage.database import Database
from tests.support import rows

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
PLAYBOOK = Playbook.model_validate({
    "name": "p",
    "severities": [{"name": "sev1", "description": "x", "update_every": "1h", "ack_timeout": "5m"}],
    "routes": [{"name": "all", "severity": {"default": "sev1"}}],
    "workflows": [{"name": "nag", True: ["followup.overdue", "postmortem.overdue"],
                   "do": [{"post": {"channel": "#leads", "text": "{{ event.kind }} for {{ incident.title }}"}}]}],
})


def _incident(session: Session) -> int:
    policy = {"severities": [{"name": "sev1"}], **workflow_snapshot(PLAYBOOK, {"team": "payments"})}
    return alerting.insert_incident(
        session, title="api down", status="resolved", severity="sev1", playbook="p", route="all",
        source="alertmanager", declared_by=None, commander="UCMD", channel_name="inc-1-api", channel_id="C1",
        header_ts=None, roles={}, storm_key=None, policy=policy, opened_at=T0, acknowledged_at=None,
        mitigated_at=None, resolved_at=T0, all_alerts_resolved_at=None, updated_at=T0)


async def test_the_overdue_triggers_enqueue_the_workflows_actions(db: Database) -> None:
    incident_id = await db.write(_incident)
    await db.write(lambda s: run_workflows(s, incident_id, "postmortem.overdue", {}, "bot", T0))
    await db.write(lambda s: run_workflows(s, incident_id, "followup.overdue", {"title": "x"}, "bot", T0))
    await db.write(lambda s: run_workflows(s, incident_id, "incident.opened", {}, "bot", T0))  # not one it runs on
    posts = [o for o in await rows.outbox(db) if o.kind == "workflow.post"]
    assert [(o.ordering_key, o.payload["text"]) for o in posts] == [
        (f"workflow:{incident_id}", "postmortem.overdue for api down"),
        (f"workflow:{incident_id}", "followup.overdue for api down")]


async def test_an_incident_without_workflows_enqueues_nothing(db: Database) -> None:
    def without(session: Session) -> int:
        incident_id = _incident(session)
        alerting.update_incident(session, incident_id, policy={})
        return incident_id
    incident_id = await db.write(without)
    await db.write(lambda s: run_workflows(s, incident_id, "followup.overdue", {}, "bot", T0))
    assert await rows.outbox(db) == []
