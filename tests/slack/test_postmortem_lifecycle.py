"""The postmortem after the incident, end to end through the real slack_bolt and the strict
emulator, with the bot's clock moved: resolving names the owner and the due time, the owner
is reminded by direct message before it and at it, an unpublished postmortem is escalated
once to the commander, reopening stops the clock, publishing posts the final document."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bot.clock import ManualClock
from storage import postmortems
from storage.database import Database
from tests.slack_emulator import SlackEmulator
from tests.support import rows
from tests.support.bot import WEBHOOK_TOKEN, running_bot
from tests.support.payloads import captured
from tests.support.slack import SLACK_PLAYBOOKS, eventually, slack_settings

HOOK = {"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json"}


def playbook_with_postmortems(tmp_path: Path) -> Path:
    text = (SLACK_PLAYBOOKS / "incidents.yml").read_text()
    old = 'ack_timeout: 5m, stakeholder_channels: ["#incidents"]}'
    assert old in text
    directory = tmp_path / "playbooks"
    directory.mkdir()
    (directory / "incidents.yml").write_text(
        text.replace(old, 'ack_timeout: 5m, stakeholder_channels: ["#incidents"], postmortem_due: 72h}')
        + 'postmortem_channel: "#eng-leads"\n')
    return directory


class Journey:
    def __init__(self, slack: SlackEmulator, db: Database, url: str, clock: ManualClock) -> None:
        self.slack, self.db, self.url, self.clock = slack, db, url, clock
        self.channel = self.commander = ""

    async def open_incident(self) -> None:
        async with httpx.AsyncClient() as client:
            response = await client.post(f"{self.url}/alertmanager", content=captured("1-firing"), headers=HOOK)
            assert response.status_code == 200
        await self.delivered()
        [incident] = await rows.incidents(self.db)
        assert incident.channel_id and incident.commander
        self.channel, self.commander = incident.channel_id, incident.commander

    async def command(self, text: str, user: str | None = None) -> str:
        response = await self.slack.slash_command(f"{self.url}/slack/events", text=text,
                                                  user_id=user or self.commander, channel_id=self.channel)
        assert response.status_code == 200, response.text
        return str((response.json() if response.content else {}).get("text", ""))

    async def delivered(self) -> None:
        async def done() -> bool:
            return all(o.state != "pending" for o in await rows.outbox(self.db))
        await eventually(done, what="outbox delivered")

    async def after(self, delta: timedelta, kind: str, count: int = 1) -> None:
        """Move the clock and wait for the timer's event, then for the outbox."""
        self.clock.advance(delta)

        async def fired() -> bool:
            return (await rows.event_kinds(self.db, 1)).count(kind) >= count
        await eventually(fired, what=f"{count} {kind}")
        await self.delivered()

    def channel_texts(self) -> list[str]:
        return [m.text for m in self.slack.messages(self.channel)]


@pytest.fixture
async def journey(database_url: str, slack: SlackEmulator, db: Database, tmp_path: Path) -> AsyncIterator[Journey]:
    slack.seed_channel("eng-leads", members=["UALICE"])
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    settings = slack_settings(database_url, slack, playbook_with_postmortems(tmp_path), scheduler_tick_seconds=0.2)
    async with running_bot(settings, clock=clock) as url:
        trip = Journey(slack, db, url, clock)
        await trip.open_incident()
        yield trip


async def test_owner_and_due_are_announced_reminded_escalated_once_and_published(journey: Journey,
                                                                                 db: Database) -> None:
    assert await journey.command("resolve rolled back") == "Resolved. The final update is posted."
    await journey.delivered()
    resolved_at = journey.clock()
    [announced] = [t for t in journey.channel_texts() if t.startswith(":memo: Postmortem owner:")]
    assert announced.startswith(f":memo: Postmortem owner: <@{journey.commander}>, due "
                                f"{resolved_at + timedelta(hours=72):%Y-%m-%d %H:%M} UTC (in 3 days).")

    assert await journey.command("postmortem owner <@UDAVE>") == "<@UDAVE> now owns the postmortem."
    await journey.after(timedelta(hours=48, seconds=1), "postmortem.reminded")
    [early] = journey.slack.direct_messages("UDAVE")
    assert "is due" in early.text and "(in 1 day)" in early.text and f"<#{journey.channel}>" in early.text

    await journey.after(timedelta(hours=24), "postmortem.reminded", count=2)
    assert "is due now" in journey.slack.direct_messages("UDAVE")[-1].text

    await journey.after(timedelta(hours=24), "postmortem.overdue")
    [escalation] = journey.slack.direct_messages(journey.commander)
    assert escalation.text.startswith(":rotating_light: The postmortem of incident #1")
    assert "is overdue" in escalation.text and "Owner: <@UDAVE>" in escalation.text
    assert any(t == escalation.text for t in journey.channel_texts())
    leads = journey.slack.channel_by_name("eng-leads")
    assert leads is not None and [m.text for m in leads.messages] == [escalation.text]

    assert await overdue_postmortems(journey) == 1
    journey.clock.advance(timedelta(days=3))  # escalated once, not again
    assert await journey.command("postmortem publish", "UDAVE") == \
        "The postmortem is published; the final document is being posted to this channel."
    await journey.delivered()
    assert (await rows.event_kinds(db, 1)).count("postmortem.overdue") == 1
    [canvas] = journey.slack.canvases.values()
    assert canvas["channel_id"] == journey.channel and canvas["title"].startswith("Postmortem: incident #1")
    assert "rolled back" in canvas["document_content"]["markdown"]
    assert journey.channel_texts()[-1] == (":white_check_mark: The postmortem of incident #1 is published, "
                                           "as the canvas in this channel's tabs.")
    published = await db.read(postmortems.get, 1)
    assert published is not None and published.status == "published" and published.published_by == "UDAVE"
    assert published.document is not None and published.document["kind"] == "canvas"
    assert await journey.command("postmortem publish", "UDAVE") == "The postmortem is already published."
    assert await overdue_postmortems(journey) == 0


async def overdue_postmortems(journey: Journey) -> float:
    from prometheus_client.parser import text_string_to_metric_families
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"{journey.url}/metrics")).text
    [family] = [f for f in text_string_to_metric_families(text) if f.name == "incident_bot_postmortems_overdue"]
    return float(family.samples[0].value)


async def test_reopening_stops_the_clock_and_resolving_again_resumes_it(journey: Journey, db: Database) -> None:
    await journey.command("resolve")
    await journey.delivered()
    journey.clock.advance(timedelta(hours=10))
    assert await journey.command("reopen") == "Reopened."
    await journey.delivered()
    journey.clock.advance(timedelta(days=10))  # far past the old due time: nothing fires while it is open
    await journey.command("note still looking")
    await journey.delivered()
    kinds = await rows.event_kinds(db, 1)
    assert "postmortem.suspended" in kinds and "postmortem.reminded" not in kinds
    assert journey.slack.direct_messages(journey.commander) == []

    await journey.command("resolve")
    await journey.delivered()
    resumed = await db.read(postmortems.get, 1)
    assert resumed is not None and resumed.due_at == journey.clock() + timedelta(hours=62)
    assert any(t.startswith(":memo: The postmortem clock runs again:") for t in journey.channel_texts())


async def test_bad_postmortem_changes_get_a_short_answer_and_record_nothing(journey: Journey, db: Database) -> None:
    await journey.command("resolve")
    await journey.delivered()
    before = await rows.event_kinds(db, 1)
    today = f"{journey.clock():%Y-%m-%d}"
    assert await journey.command("postmortem due 2020-01-01") == (
        f"2020-01-01 is in the past (today is {today} UTC). Type `/incident postmortem due &lt;YYYY-MM-DD|duration&gt;`.")
    assert await journey.command("postmortem due soon") == (
        "`soon` is neither a date (YYYY-MM-DD) nor a duration (20s, 4h, 7d). "
        "Type `/incident postmortem [owner &lt;@user&gt;|due &lt;YYYY-MM-DD|duration&gt;|review|publish]`.")
    assert (await journey.command("postmortem owner dave")).startswith("Mention exactly one person with @")
    assert await journey.command("postmortem owner <@UNOBODY|ghost>") == (
        "`UNOBODY` is not a person in this workspace. Mention the owner with @, e.g. `/incident postmortem owner @alex`.")
    bystander = next(u for u in ("UALICE", "UBOB", "UCAROL") if u != journey.commander)  # not a responder either
    assert await journey.command(f"postmortem owner <@{bystander}>", bystander) == (
        f"Only the commander (<@{journey.commander}>) or a responder or the postmortem's owner can change its "
        "postmortem.")
    after = [k for k in await rows.event_kinds(db, 1) if k != "command"]
    assert after == [k for k in before if k != "command"]
    assert (await journey.command("postmortem due 2d")).startswith("The postmortem is now due ")


async def test_a_workspace_without_canvases_gets_the_markdown_file(journey: Journey, db: Database) -> None:
    journey.slack.revoke_scope("canvases:write")
    await journey.command("resolve")
    assert (await journey.command("postmortem publish")).startswith("The postmortem is published")
    await journey.delivered()
    assert journey.slack.canvases == {}
    published = await db.read(postmortems.get, 1)
    assert published is not None and published.document is not None and published.document["kind"] == "file"
    content = journey.slack.file_content(str(published.document["id"]))
    assert content is not None and content.startswith(b"# Postmortem #1: ")
    assert journey.channel_texts()[-1] == (":white_check_mark: The postmortem of incident #1 is published, "
                                           "as the file above.")


async def test_the_incident_api_shows_the_postmortem(journey: Journey) -> None:
    from tests.support.bot import API_TOKEN
    await journey.command("resolve")
    await journey.delivered()
    async with httpx.AsyncClient() as client:
        body = (await client.get(f"{journey.url}/incidents/1",
                                 headers={"Authorization": f"Bearer {API_TOKEN}"})).json()
    assert body["postmortem"] == {
        "owner": journey.commander, "status": "draft", "on_hold": False, "published_at": None, "published_by": None,
        "due_at": (journey.clock() + timedelta(hours=72)).isoformat()}


async def test_an_overdue_postmortem_runs_the_playbooks_workflows(database_url: str, slack: SlackEmulator, db: Database,
                                                                  tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.fakes.webhook_receiver import WebhookReceiver
    monkeypatch.setenv("POSTMORTEM_HOOK_SECRET", "s3cret")
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    async with WebhookReceiver("s3cret", now=clock) as receiver:
        directory = playbook_with_postmortems(tmp_path)
        playbook = directory / "incidents.yml"
        playbook.write_text(playbook.read_text() + (
            "workflows:\n"
            "  - name: chase-postmortems\n"
            "    on: [postmortem.overdue]\n"
            f"    do: [{{webhook: {{url: \"{receiver.url}\", secret_env: POSTMORTEM_HOOK_SECRET}}}}]\n"))
        settings = slack_settings(database_url, slack, directory, scheduler_tick_seconds=0.2)
        async with running_bot(settings, clock=clock) as url:
            trip = Journey(slack, db, url, clock)
            await trip.open_incident()
            await trip.command("resolve")
            await trip.delivered()
            await trip.after(timedelta(hours=96, seconds=1), "postmortem.overdue")

            async def hooked() -> bool:
                return len(receiver.accepted) == 1
            await eventually(hooked, what="the workflow's webhook")
    [body] = receiver.accepted
    assert body["event"]["kind"] == "postmortem.overdue"
    assert body["incident"]["id"] == 1
