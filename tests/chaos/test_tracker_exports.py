"""Follow-ups' issues across crashes and replicas, with the bot as a real process: a SIGKILL
after GitHub or Jira created the issue but before the bot recorded it leaves one issue (the
restarted bot finds it by its marker); two replicas exporting and syncing the same
follow-ups create each issue once and mark each closed one done once."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from storage import followups
from storage.database import Database
from tests.chaos.replicas import playbook, running
from tests.chaos.storm import bot_process
from tests.fakes.github import FakeGitHub, fake_github
from tests.fakes.jira import fake_jira
from tests.slack_emulator import SlackEmulator
from tests.support import rows
from tests.support.slack import eventually
from tests.support.trackers import GITHUB, JIRA, incident_with_followups

pytestmark = pytest.mark.integration

TOKEN = "ghp-chaos"
JIRA_USER = "bot@example.com"


def _tracker_env(github: FakeGitHub, **extra: str) -> dict[str, str]:
    return {"GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": github.url, "PUBLIC_URL": "https://bot.example.com",
            "OUTBOX_LEASE_SECONDS": "2", **extra}


async def _exported(db: Database, count: int) -> bool:
    return sum(1 for f in await db.read(followups.listed) if f.tracker_key) == count


@pytest.mark.parametrize("tracker", ["github", "jira"])
async def test_a_sigkill_between_the_trackers_answer_and_the_commit_leaves_one_issue(
        database_url: str, db: Database, slack: SlackEmulator, tmp_path: Path, tracker: str) -> None:
    config = GITHUB if tracker == "github" else JIRA
    incident_id = await db.write(incident_with_followups, ["Add a disk alert"], config, datetime.now(UTC))
    async with fake_github({TOKEN: {"acme/ops"}}, repos=("acme/ops",)) as github, \
            fake_jira({JIRA_USER: TOKEN}, projects=("OPS",)) as jira:
        faults = github.faults if tracker == "github" else jira.faults
        faults.hold_after_effect = asyncio.Event()  # the tracker creates the issue, then its answer waits

        def issues() -> list[dict[str, Any]]:
            return github.issues("acme/ops") if tracker == "github" else jira.issues("OPS")
        env = {**_tracker_env(github), "JIRA_URL": jira.url, "JIRA_USER": JIRA_USER, "JIRA_API_TOKEN": TOKEN}
        bot = bot_process(database_url, slack, playbook(tmp_path / "playbooks"), tmp_path, **env)
        async with running(bot):
            await asyncio.wait_for(faults.effect_done.wait(), timeout=30)
            bot.kill()  # the issue exists in the tracker; the bot never heard back
            assert len(issues()) == 1 and not await _exported(db, 1)
            faults.hold_after_effect.set()
            faults.hold_after_effect = None
            await bot.start()
            await eventually(lambda: _exported(db, 1), timeout=30, what="the follow-up's issue recorded")
        created = issues()
    assert len(created) == 1, created
    [followup] = await db.read(followups.of_incident, incident_id)
    assert followup.tracker_key == ("acme/ops#1" if tracker == "github" else "OPS-1")
    [export] = [o for o in await rows.outbox(db) if o.kind == f"{tracker}.issue"]
    assert export.state == "done" and export.result["found"] is True and export.attempts == 2
    assert (await rows.event_kinds(db, incident_id)).count("followup.exported") == 1


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_two_replicas_create_each_issue_once_and_close_each_followup_once(
        database_url: str, db: Database, slack: SlackEmulator, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    incidents = [await db.write(incident_with_followups, [f"follow-up {i}.{n}" for n in range(4)], GITHUB, now)
                 for i in range(5)]
    async with fake_github({TOKEN: {"acme/ops"}}, repos=("acme/ops",)) as github:
        github.fail(503, count=3, only="POST /repos/")  # an outage too, told once per incident it touches
        playbooks = playbook(tmp_path / "playbooks")
        replicas = []
        for n in (1, 2):
            (tmp_path / f"replica-{n}").mkdir()
            replicas.append(bot_process(database_url, slack, playbooks, tmp_path / f"replica-{n}",
                                        **_tracker_env(github, TRACKER_SYNC_SECONDS="0.5")))
        async with running(*replicas):
            await eventually(lambda: _exported(db, 20), timeout=60, what="20 follow-ups exported")
            for number in range(1, 21, 2):
                github.close("acme/ops", number)

            async def ten_done() -> bool:
                return len(await db.read(followups.listed, status="done")) == 10
            await eventually(ten_done, timeout=30, what="10 closed issues marked done")
            await asyncio.sleep(1.5)  # a few more sync rounds on both replicas
        titles = Counter(i["title"] for i in github.issues("acme/ops"))
    assert len(titles) == 20 and set(titles.values()) == {1}, titles
    done_events = [e for i in incidents for e in await rows.events(db, i) if e.kind == "followup.done"]
    assert len(done_events) == 10 and len({(e.incident_id, e.data["number"]) for e in done_events}) == 10
    exported = [e for i in incidents for e in await rows.events(db, i) if e.kind == "followup.exported"]
    assert len(exported) == 20
