"""A follow-up added in Slack becomes a GitHub issue and comes back done when the issue is
closed (SPEC J5, issue 14): through the real bot, slack_bolt, the strict Slack emulator and
the strict GitHub fake, on both databases."""

from __future__ import annotations

from pathlib import Path

from bot.clock import ManualClock
from storage import followups
from storage.database import Database
from tests.fakes.github import fake_github
from tests.incident.test_timers import START, TICK, Timed, write_playbook
from tests.slack_emulator import SlackEmulator
from tests.support.bot import running_bot
from tests.support.slack import eventually, slack_settings

TOKEN = "ghp-journey"
PUBLIC_URL = "https://incident-bot.example.com"


def said(slack: SlackEmulator, channel: str, marker: str) -> list[str]:
    return [m.text for m in slack.messages(channel) if marker in m.text]


async def test_a_followup_becomes_a_github_issue_and_closing_it_marks_the_followup_done(
        database_url: str, slack: SlackEmulator, db: Database, tmp_path: Path) -> None:
    playbooks = write_playbook(tmp_path / "playbooks")
    with (playbooks / "incidents.yml").open("a") as file:
        file.write("followups: {tracker: github, github_repo: acme/ops, labels: [incident]}\n")
    async with fake_github({TOKEN: {"acme/ops"}}, repos=("acme/ops",)) as github:
        settings = slack_settings(database_url, slack, playbooks, scheduler_tick_seconds=TICK, github_token=TOKEN,
                                  github_api_url=github.url, public_url=PUBLIC_URL, tracker_sync_seconds=0.2)
        async with running_bot(settings, clock=ManualClock(START)) as url:
            t = Timed(url, slack, db, ManualClock(START))
            opened = await t.open()
            channel = str(opened.channel_id)
            assert await t.command("followup Alert on connection pool saturation <@UBOB|bob>", "UALICE",
                                   channel) == "Added follow-up 1 (<@UBOB>)."

            async def linked() -> bool:
                return bool(said(slack, channel, "is now GitHub issue"))
            await eventually(linked, timeout=20, what="the issue's link in the channel")
            [issue] = github.issues("acme/ops")
            assert said(slack, channel, "is now GitHub issue") == [
                f":link: Follow-up 1 is now GitHub issue <{issue['html_url']}|acme/ops#1>."]
            assert issue["title"] == "Alert on connection pool saturation"
            assert f"({PUBLIC_URL}/ui/incidents/{opened.id})" in issue["body"]
            assert [label["name"] for label in issue["labels"]] == ["incident"]

            github.close("acme/ops", 1)

            async def done() -> bool:
                return bool(said(slack, channel, "Follow-up 1 is done"))
            await eventually(done, timeout=20, what="the follow-up marked done")
        [followup] = await db.read(followups.of_incident, opened.id)
    assert (followup.status, followup.closed_by, followup.tracker_url) == ("done", "tracker", issue["html_url"])
    assert said(slack, channel, "Follow-up 1 is done") == [
        f":white_check_mark: Follow-up 1 is done: <{issue['html_url']}|acme/ops#1> was closed."]
