"""Follow-ups become issues in GitHub or Jira through the outbox, once: the issue links back
to the incident, the follow-up records it, the timeline and the channel say so; an answer
lost after the tracker created the issue is found again by its marker; an outage is told
once and waited out; a refusal says what to fix. Against strict fakes, on both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from sqlalchemy.orm import Session

from bot.adapters.github import GitHubClient
from bot.adapters.jira import JiraClient
from bot.clock import ManualClock
from bot.delivery.dispatch import ActionDispatcher
from bot.delivery.tracker_export import TrackerExport
from bot.delivery.worker import OutboxWorker
from bot.domain.kinds import EventKind
from bot.observability.metrics import Metrics
from storage import alerting, followups
from storage.database import Database
from storage.rows import NewEvent
from tests.fakes.github import FakeGitHub, fake_github
from tests.fakes.jira import FakeJira, fake_jira
from tests.support import rows
from tests.support.slack import eventually
from tests.support.trackers import GITHUB, JIRA, T0, incident_with_followups

TOKEN = "ghp-test"
PUBLIC_URL = "https://bot.example.com"


@asynccontextmanager
async def exporting(db: Database, clock: ManualClock, *, github: FakeGitHub | None = None,
                    jira: FakeJira | None = None, token: str = TOKEN) -> AsyncIterator[None]:
    github_client = GitHubClient(github.url, token, timeout=2) if github else None
    jira_client = JiraClient(jira.url, "bot@example.com", "jira-token", timeout=2) if jira else None
    exports = TrackerExport(db, clock, PUBLIC_URL, github_client, jira_client)
    worker = OutboxWorker(db, ActionDispatcher(exports.handlers).run, clock, Metrics(), poll_interval=0.02)
    worker.start()
    try:
        yield
    finally:
        await worker.stop()
        for client in (github_client, jira_client):
            if client is not None:
                await client.aclose()


async def settled(db: Database, clock: ManualClock) -> None:
    async def no_export_pending() -> bool:
        clock.advance(timedelta(minutes=10))  # past every backoff
        return all(o.state != "pending" for o in await rows.outbox(db) if o.ordering_key.startswith("tracker:"))
    await eventually(no_export_pending, what="the exports to settle")


async def channel_posts(db: Database) -> list[str]:
    return [str(o.payload["text"]) for o in await rows.outbox(db) if o.kind == "message.post"]


async def test_a_followup_becomes_one_github_issue_linking_back_to_the_incident(db: Database) -> None:
    incident_id = await db.write(incident_with_followups, ["Add a disk alert", "Fix the runbook"], GITHUB)
    clock = ManualClock(T0)
    async with fake_github({TOKEN: {"acme/ops"}}, repos=("acme/ops",)) as github:
        async with exporting(db, clock, github=github):
            await settled(db, clock)
        issues = github.issues("acme/ops")
    assert [i["title"] for i in issues] == ["Add a disk alert", "Fix the runbook"]
    first = issues[0]
    assert f"[incident #{incident_id}]({PUBLIC_URL}/ui/incidents/{incident_id})" in first["body"]
    assert "[#inc-1-api](https://slack.com/app_redirect?channel=C1)" in first["body"]
    [followup, _] = await db.read(followups.of_incident, incident_id)
    assert f"<!-- incident-bot:followup:{followup.id} -->" in first["body"]
    assert [label["name"] for label in first["labels"]] == ["incident", "follow-up"]
    assert (followup.tracker, followup.tracker_key, followup.tracker_url) == (
        "github", "acme/ops#1", f"{github.html}/acme/ops/issues/1")
    exported = [e for e in await rows.events(db, incident_id) if e.kind == "followup.exported"]
    assert exported[0].data == {"number": 1, "tracker": "github", "tracker_key": "acme/ops#1",
                                            "url": f"{github.html}/acme/ops/issues/1"}
    assert len(exported) == 2
    assert (await channel_posts(db))[0] == (
        f":link: Follow-up 1 is now GitHub issue <{github.html}/acme/ops/issues/1|acme/ops#1>.")


async def test_an_answer_lost_after_the_issue_was_created_finds_it_instead_of_a_second(db: Database) -> None:
    incident_id = await db.write(incident_with_followups, ["Add a disk alert"], GITHUB)
    clock = ManualClock(T0)
    async with fake_github({TOKEN: {"acme/ops"}}, repos=("acme/ops",)) as github:
        github.fail(502, after_effect=True, only="POST /repos/")
        async with exporting(db, clock, github=github):
            await settled(db, clock)
        assert len(github.issues("acme/ops")) == 1
    [export] = [o for o in await rows.outbox(db) if o.kind == "github.issue"]
    assert export.state == "done" and export.attempts == 2 and export.result["found"] is True
    [followup] = await db.read(followups.of_incident, incident_id)
    assert followup.tracker_key == "acme/ops#1"
    assert (await rows.event_kinds(db, incident_id)).count("followup.exported") == 1


async def test_a_tracker_outage_is_retried_and_told_once(db: Database) -> None:
    incident_id = await db.write(incident_with_followups, ["one", "two", "three"], GITHUB)
    clock = ManualClock(T0)
    async with fake_github({TOKEN: {"acme/ops"}}, repos=("acme/ops",)) as github:
        github.fail(503, count=4)
        async with exporting(db, clock, github=github):
            await settled(db, clock)
        assert [i["title"] for i in github.issues("acme/ops")] == ["one", "two", "three"]
    outage = [t for t in await channel_posts(db) if t.startswith(":hourglass:")]
    assert outage == [":hourglass: <@UCMD> GitHub is not answering (`503 Service Unavailable`): incident-bot keeps "
                      "retrying and loses nothing; this is said once until it answers again."]
    kinds = await rows.event_kinds(db, incident_id)
    assert kinds.count("service.unavailable") == 1 and "service.recovered" in kinds


async def test_bad_credentials_are_reported_with_what_to_fix_and_not_retried(db: Database) -> None:
    incident_id = await db.write(incident_with_followups, ["one"], GITHUB)
    clock = ManualClock(T0)
    async with fake_github({TOKEN: {"acme/ops"}}, repos=("acme/ops",)) as github:
        async with exporting(db, clock, github=github, token="revoked"):
            await settled(db, clock)
        assert github.issues("acme/ops") == []
        posts = sum(1 for method, _ in github.requests if method == "POST")
    assert posts == 1
    [notice] = [t for t in await channel_posts(db) if t.startswith(":warning:")]
    assert notice.startswith(":warning: <@UCMD> incident-bot could not create the GitHub issue for follow-up 1: "
                             "GitHub said `401 Bad credentials` — check GITHUB_TOKEN")
    [export] = [o for o in await rows.outbox(db) if o.kind == "github.issue"]
    assert export.state == "failed"
    [followup] = await db.read(followups.of_incident, incident_id)
    assert followup.tracker_key is None and followup.status == "open"  # the follow-up itself is kept


async def test_a_missing_repository_is_named(db: Database) -> None:
    await db.write(incident_with_followups, ["one"], GITHUB.model_copy(update={"github_repo": "acme/gone"}))
    clock = ManualClock(T0)
    async with fake_github({TOKEN: {"acme/ops"}}, repos=("acme/ops",)) as github:
        async with exporting(db, clock, github=github):
            await settled(db, clock)
    [notice] = [t for t in await channel_posts(db) if t.startswith(":warning:")]
    assert "`404 Not Found`" in notice and "followups.github_repo" in notice and "acme/gone" in notice


async def test_without_a_github_token_the_commander_is_told_to_set_one(db: Database) -> None:
    await db.write(incident_with_followups, ["one"], GITHUB)
    clock = ManualClock(T0)
    async with exporting(db, clock):
        await settled(db, clock)
    [notice] = [t for t in await channel_posts(db) if t.startswith(":warning:")]
    assert "GITHUB_TOKEN is not set" in notice and "set GITHUB_TOKEN" in notice


async def test_a_followup_becomes_one_jira_task_with_an_adf_description(db: Database) -> None:
    incident_id = await db.write(incident_with_followups, ["Add a disk alert"], JIRA)
    clock = ManualClock(T0)
    async with fake_jira({"bot@example.com": "jira-token"}, projects=("OPS",)) as jira:
        jira.fail(502, after_effect=True, only="POST /rest/api/3/issue")  # and the answer is lost once
        async with exporting(db, clock, jira=jira):
            await settled(db, clock)
        [issue] = jira.issues("OPS")
    [followup] = await db.read(followups.of_incident, incident_id)
    fields = issue["fields"]
    assert fields["summary"] == "Add a disk alert" and fields["issuetype"] == {"name": "Task"}
    assert fields["labels"] == ["incident", f"incident-bot-followup-{followup.id}"]
    description = fields["description"]
    assert description["type"] == "doc" and description["version"] == 1  # and the fake checked every node
    links = [m["attrs"]["href"] for p in description["content"] for n in p["content"] for m in n.get("marks", [])]
    assert links == [f"{PUBLIC_URL}/ui/incidents/{incident_id}", "https://slack.com/app_redirect?channel=C1"]
    assert (followup.tracker, followup.tracker_key, followup.tracker_url) == ("jira", "OPS-1", f"{jira.url}/browse/OPS-1")
    assert [t for t in await channel_posts(db) if t.startswith(":link:")] == [
        f":link: Follow-up 1 is now Jira issue <{jira.url}/browse/OPS-1|OPS-1>."]


async def test_an_archived_channel_is_not_told_but_the_issue_is_recorded(db: Database) -> None:
    def archived_incident(session: Session) -> int:
        incident_id = incident_with_followups(session, ["one"], GITHUB)
        alerting.append_events(session, incident_id, [NewEvent(EventKind.CHANNEL_ARCHIVED, "bot", {},
                                                                occurred_at=T0, recorded_at=T0)])
        return incident_id
    incident_id = await db.write(archived_incident)
    clock = ManualClock(T0)
    async with fake_github({TOKEN: {"acme/ops"}}, repos=("acme/ops",)) as github:
        async with exporting(db, clock, github=github):
            await settled(db, clock)
    [followup] = await db.read(followups.of_incident, incident_id)
    assert followup.tracker_key == "acme/ops#1"
    assert await channel_posts(db) == []
