"""An issue closed in its tracker marks the follow-up done here, once even when two
replicas sync at the same time, with the timeline and the channel told; a tracker that
fails closes nothing and is asked again next round. Against strict fakes, on both databases."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy.orm import Session

from bot.adapters.github import GitHubClient
from bot.adapters.jira import JiraClient
from bot.clock import ManualClock
from bot.domain.kinds import TimerKind
from bot.incident.tracker_sync import TrackerSync
from bot.observability.metrics import Metrics
from bot.playbook.trackers import FollowUpTracker
from storage import followups, timers
from storage.database import Database
from tests.fakes.github import fake_github
from tests.fakes.jira import fake_jira
from tests.support import rows
from tests.support.trackers import T0, incident_with_followups

TOKEN = "ghp-test"
NONE = FollowUpTracker()


def _with_issues(session: Session, keys: list[str], tracker: str, base_url: str) -> int:
    incident_id = incident_with_followups(session, [f"follow-up for {key}" for key in keys], NONE)
    for followup, key in zip(followups.of_incident(session, incident_id), keys, strict=True):
        url = f"{base_url}/{key}"
        followups.set_tracker_issue(session, followup.id, tracker=tracker, key=key, url=url, now=T0)
        timers.schedule_keyed(session, incident_id, TimerKind.FOLLOWUP_DUE, "number", followup.number,
                              T0 + timedelta(days=7), T0)
    return incident_id


async def _posts(db: Database) -> list[str]:
    return [str(o.payload["text"]) for o in await rows.outbox(db) if o.kind == "message.post"]


async def test_a_closed_github_issue_marks_its_followup_done(db: Database) -> None:
    incident_id = await db.write(_with_issues, ["acme/ops#1", "acme/ops#2"], "github", "https://gh")
    clock, metrics = ManualClock(T0 + timedelta(days=1)), Metrics()
    async with fake_github({TOKEN: {"acme/ops"}}, repos=("acme/ops",)) as github:
        github.add_issue("acme/ops", "one")
        github.add_issue("acme/ops", "two")
        github.close("acme/ops", 2)
        async with GitHubClient(github.url, TOKEN) as client:
            sync = TrackerSync(db, clock, metrics, client, None)
            assert await sync.run() == 1
            assert await sync.run() == 0  # already done: not closed again
    first, second = await db.read(followups.of_incident, incident_id)
    assert first.status == "open" and first.tracker_checked_at is not None
    assert (second.status, second.closed_by, second.closed_at) == ("done", "tracker", clock())
    [done] = [e for e in await rows.events(db, incident_id) if e.kind == "followup.done"]
    assert done.data == {"number": 2, "reason": None, "by": "tracker", "tracker_key": "acme/ops#2",
                         "url": "https://gh/acme/ops#2"}
    assert done.actor == "tracker"
    assert await _posts(db) == [":white_check_mark: Follow-up 2 is done: <https://gh/acme/ops#2|acme/ops#2> was closed."]
    pending = await db.read(lambda s: timers.pending(s, incident_id))
    assert list(pending) == [TimerKind.FOLLOWUP_DUE]  # the closed one's reminder is cancelled, the open one's kept
    assert metrics.tracker_checks.labels("github", "closed")._value.get() == 1


async def test_two_replicas_syncing_at_once_close_it_once(db: Database) -> None:
    incident_id = await db.write(_with_issues, ["OPS-1"], "jira", "https://jira/browse")
    clock = ManualClock(T0 + timedelta(days=1))
    async with fake_jira({"bot@example.com": "t"}, projects=("OPS",)) as jira:
        async with JiraClient(jira.url, "bot@example.com", "t") as client:
            await client.create_issue("OPS", "one", {"type": "doc", "version": 1, "content": []}, [])
            jira.close("OPS-1")
            replicas = [TrackerSync(Database(db.url), clock, Metrics(), None, client) for _ in range(2)]
            closed = await asyncio.gather(*(r.run() for r in replicas))
            for replica in replicas:
                await replica._db.dispose()
    assert sorted(closed) == [0, 1]
    assert (await rows.event_kinds(db, incident_id)).count("followup.done") == 1
    assert len(await _posts(db)) == 1


async def test_a_failing_tracker_closes_nothing_and_is_asked_again(db: Database) -> None:
    incident_id = await db.write(_with_issues, ["acme/ops#1"], "github", "https://gh")
    clock, metrics = ManualClock(T0 + timedelta(days=1)), Metrics()
    async with fake_github({TOKEN: {"acme/ops"}}, repos=("acme/ops",)) as github:
        github.add_issue("acme/ops", "one")
        github.close("acme/ops", 1)
        github.fail(503)
        async with GitHubClient(github.url, TOKEN) as client:
            sync = TrackerSync(db, clock, metrics, client, None)
            assert await sync.run() == 0
            [followup] = await db.read(followups.of_incident, incident_id)
            assert followup.status == "open" and followup.tracker_checked_at == T0  # not marked checked
            assert metrics.tracker_checks.labels("github", "error")._value.get() == 1
            assert await sync.run() == 1  # the next round
    assert (await rows.event_kinds(db, incident_id)).count("followup.done") == 1


async def test_a_followup_whose_tracker_is_not_configured_is_left_open(db: Database) -> None:
    incident_id = await db.write(_with_issues, ["OPS-1"], "jira", "https://jira/browse")
    assert await TrackerSync(db, ManualClock(T0), Metrics(), None, None).run() == 0
    [followup] = await db.read(followups.of_incident, incident_id)
    assert followup.status == "open"
