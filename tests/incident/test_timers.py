"""Timed behaviour end to end (SPEC J3, issue 5): update reminders at the severity's cadence,
overdue escalation, acknowledgement escalation down the rotation, auto-resolve, archiving, the
policy snapshot, restarts and several replicas.

Everything goes through the real bot's HTTP server and the strict Slack emulator. In-process
bots get a ManualClock and a 50 ms scheduler tick, so moving the clock and waiting for the
due timers and the outbox to drain is all it takes; no test sleeps for minutes. The bot as
a subprocess (restart, two replicas) cannot share a ManualClock: those tests use a playbook
whose cadences and timeouts are a few seconds, on the real clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.incident import timer_schedule
from storage import incidents as store
from storage import timers as timer_store
from storage.database import Database
from storage.models import Incident, OutboxAction, Timer
from tests.slack_emulator import SlackEmulator
from tests.slack_emulator.state import Message
from tests.support import databases, rows
from tests.support.bot import WEBHOOK_TOKEN, running_bot
from tests.support.integration import unavailable
from tests.support.payloads import body, captured, group
from tests.support.process import BotProcess
from tests.support.slack import (
    RATE_SCALE,
    SIGNING_SECRET,
    SLACK_TOKEN,
    USERS,
    eventually,
    slack_settings,
)

JSON = {"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json"}
# The captured alerts started at 22:57:48 on 2026-11-22, in week 45 of the test rotation
# (weekly from Monday 2026-01-05 09:00 UTC): UALICE is on call, then UBOB, then UCAROL.
START = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
TICK = 0.05

REMINDER = "a stakeholder update is due"
OVERDUE = "the stakeholder update is overdue"
ESCALATED = "you are now the commander"
EXHAUSTED = "nobody is left in the rotation"
AUTO_RESOLVED = "Resolved automatically"
ARCHIVED = "the channel is now archived"

# tests/fixtures/playbooks/slack/incidents.yml with the cadences, timeouts and rotation as
# parameters, auto-resolve and archiving on, and no storm guard (some tests open 20 incidents).
PLAYBOOK = """\
name: incidents
severities:
  - {{name: sev1, description: critical, update_every: {sev1_update}, ack_timeout: {sev1_ack}, stakeholder_channels: ["#incidents"]}}
  - {{name: sev2, description: major, update_every: 1h, ack_timeout: 15m}}
  - {{name: sev3, description: minor, update_every: 4h, ack_timeout: 1h}}
rotations:
  primary:
    users: [{users}]
    start: "{rotation_start}"
    period: 1w
    timezone: UTC
routes:
  - name: critical
    matchers: ['severity=~"critical|page"']
    severity: {{map: {{critical: sev1, page: sev1}}, default: sev2}}
    commander: {{rotation: primary}}
    responders: [UDAVE]
    links:
      - {{title: "Grafana {{{{ labels.service }}}}", url: "https://grafana.example.com/d/svc?var-service={{{{ labels.service }}}}", kind: dashboard}}
    auto_resolve: 10m
    archive_after: 1d
  - name: triage
    auto_declare: false
    severity: {{default: sev3}}
    triage_channel: "#alerts-triage"
    auto_resolve: 10m
"""


def write_playbook(directory: Path, *, sev1_update: str = "30m", sev1_ack: str = "5m",
                   users: str = "UALICE, UBOB, UCAROL", rotation_start: str = "2026-01-05T09:00") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "incidents.yml").write_text(PLAYBOOK.format(
        sev1_update=sev1_update, sev1_ack=sev1_ack, users=users, rotation_start=rotation_start))
    return directory


# -- reading what the bot did ------------------------------------------------------------

def posted(slack: SlackEmulator, channel: str, marker: str) -> list[Message]:
    return [m for m in slack.messages(channel) if marker in m.text]


def count(slack: SlackEmulator, channel: str, marker: str) -> int:
    return len(posted(slack, channel, marker))


def header(slack: SlackEmulator, incident: Incident) -> str:
    assert incident.channel_id and incident.header_ts
    message = slack.channel(incident.channel_id).message(incident.header_ts)
    assert message is not None and message.blocks is not None
    return json.dumps(message.blocks)


async def incident(db: Database, incident_id: int) -> Incident:
    return next(i for i in await rows.incidents(db) if i.id == incident_id)


async def pending_timers(db: Database, incident_id: int) -> dict[str, datetime]:
    async with db.reading() as session:
        result = await session.execute(select(Timer.kind, Timer.due_at).where(
            Timer.incident_id == incident_id, Timer.state == "pending"))
        return dict(result.all())


async def timers_of(db: Database) -> list[Timer]:
    async with db.reading() as session:
        return list((await session.execute(select(Timer).order_by(Timer.id))).scalars())


async def kinds(db: Database, incident_id: int) -> Counter[str]:
    return Counter(await rows.event_kinds(db, incident_id))


def first_alert_again(payload: bytes, *, starts_at: str, ends_at: str | None = None) -> bytes:
    """The captured group with its first alert firing anew (a new activation starting at
    ``starts_at``), or, given ``ends_at``, that activation resolved too."""
    doc = json.loads(payload)
    first = doc["alerts"][0]
    first.update(startsAt=starts_at, status="resolved" if ends_at else "firing",
                 endsAt=ends_at or "0001-01-01T00:00:00Z")
    doc["status"] = "resolved" if ends_at else "firing"
    return json.dumps(doc).encode()


# -- an in-process bot on a ManualClock ----------------------------------------------------

@dataclass
class Timed:
    url: str
    slack: SlackEmulator
    db: Database
    clock: ManualClock

    @property
    def events_url(self) -> str:
        return f"{self.url}/slack/events"

    async def webhook(self, payload: bytes) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=30) as client:
            response = await client.post(f"{self.url}/alertmanager", content=payload, headers=JSON)
        assert response.status_code == 200, response.text
        await self.settle()
        return dict(response.json())

    async def open(self, payload: bytes | None = None) -> Incident:
        outcome = await self.webhook(payload or captured("1-firing"))
        assert outcome["outcome"] == "open", outcome
        opened = await incident(self.db, int(outcome["incident"]))
        assert opened.channel_id and opened.header_ts
        return opened

    async def command(self, text: str, user: str, channel: str) -> str:
        response = await self.slack.slash_command(self.events_url, command="/incident", text=text, user_id=user,
                                                  channel_id=channel)
        assert response.status_code == 200, response.text
        await self.settle()
        return str((response.json() if response.content else {}).get("text", ""))

    async def click(self, incident_id: int, channel: str, message_ts: str, action_id: str, user: str) -> None:
        """Buttons are acknowledged before their work is done: wait for it to be recorded."""
        before = (await kinds(self.db, incident_id))["command"]
        response = await self.slack.click(self.events_url, channel_id=channel, message_ts=message_ts,
                                          action_id=action_id, user_id=user)
        assert response.status_code == 200

        async def recorded() -> bool:
            return (await kinds(self.db, incident_id))["command"] > before
        await eventually(recorded, timeout=10, what=f"{action_id} recorded")
        await self.settle()

    async def advance(self, delta: timedelta, *, idle: bool = False) -> None:
        """Move the clock, then wait until what fell due has fired and reached Slack.
        ``idle``: also give the scheduler a few ticks, for checks that nothing happened."""
        self.clock.advance(delta)
        if idle:
            await asyncio.sleep(4 * TICK)
        await self.settle()

    async def settle(self) -> None:
        now = self.clock.now

        async def quiet() -> bool:
            async with self.db.reading() as session:
                due = await session.scalar(select(func.count()).select_from(Timer).where(
                    Timer.state == "pending", Timer.due_at <= now))
                work = await session.scalar(select(func.count()).select_from(OutboxAction).where(
                    OutboxAction.state == "pending"))
            return due == 0 and work == 0
        await eventually(quiet, timeout=20, what="due timers fired and their Slack work delivered")


@asynccontextmanager
async def timed_bot(database_url: str, slack: SlackEmulator, db: Database, playbooks: Path,
                    clock: ManualClock) -> AsyncIterator[Timed]:
    settings = slack_settings(database_url, slack, playbooks, scheduler_tick_seconds=TICK)
    async with running_bot(settings, clock=clock) as url:
        yield Timed(url, slack, db, clock)


@pytest.fixture
async def timed(database_url: str, slack: SlackEmulator, db: Database, tmp_path: Path) -> AsyncIterator[Timed]:
    async with timed_bot(database_url, slack, db, write_playbook(tmp_path / "playbooks"), ManualClock(START)) as t:
        yield t


# -- 1. stakeholder update reminders ----------------------------------------------------------

async def test_reminder_at_the_cadence_an_update_restarts_the_clock_and_overdue_escalates_once(timed: Timed) -> None:
    t = timed
    opened = await t.open()
    channel = opened.channel_id
    assert opened.commander == "UALICE" and opened.severity == "sev1"
    await t.command("note looking at the error rate", "UALICE", channel)  # acknowledges: no ack escalation

    await t.advance(30 * MINUTE - SECOND, idle=True)
    assert count(t.slack, channel, REMINDER) == 0
    await t.advance(SECOND)
    [reminder] = posted(t.slack, channel, REMINDER)
    assert reminder.text.startswith(":alarm_clock: <@UALICE>, a stakeholder update is due. "
                                    "Post one with `/incident update &lt;text&gt;` or edit this draft:")
    assert "SEV1 · Investigating · open for 30m · 2 alerts firing · no update posted yet" in reminder.text
    assert reminder.blocks is not None
    [button] = reminder.blocks[-1]["elements"]
    assert (button["text"]["text"], button["action_id"]) == ("Edit and post", "incident_post_update")
    assert (await kinds(t.db, opened.id))["update.reminded"] == 1

    # An update ten minutes later restarts the clock: the next reminder is a full cadence after
    # it, and the overdue escalation the reminder armed (for T+60m) no longer applies.
    await t.advance(10 * MINUTE)
    assert (await t.command("update Rolled back deploy 4711, error rate falling", "UALICE", channel)).startswith(
        "Update posted here and #incidents")
    await t.advance(30 * MINUTE - SECOND, idle=True)  # T+70m-1s
    assert (count(t.slack, channel, REMINDER), count(t.slack, channel, OVERDUE)) == (1, 0)
    await t.advance(SECOND)  # T+70m
    assert count(t.slack, channel, REMINDER) == 2
    assert "last update 30m ago: Rolled back deploy 4711, error rate falling" in \
        posted(t.slack, channel, REMINDER)[-1].text

    # No update for a second cadence: one escalation to commander and backup, then no more.
    await t.advance(30 * MINUTE - SECOND, idle=True)
    assert count(t.slack, channel, OVERDUE) == 0
    await t.advance(SECOND)  # T+100m
    [overdue] = posted(t.slack, channel, OVERDUE)
    assert overdue.text.startswith(":rotating_light: <@UALICE> <@UBOB>: the stakeholder update is overdue.")
    for _ in range(4):
        await t.advance(30 * MINUTE, idle=True)
    assert (count(t.slack, channel, OVERDUE), count(t.slack, channel, REMINDER)) == (1, 2)
    recorded = await kinds(t.db, opened.id)
    assert (recorded["update.reminded"], recorded["update.overdue"], recorded["update.posted"]) == (2, 1, 1)
    [escalation] = [e for e in await rows.events(t.db, opened.id) if e.kind == "update.overdue"]
    assert (escalation.actor, escalation.data) == ("bot", {"commander": "UALICE", "backup": "UBOB"})


async def test_edit_and_post_on_a_reminder_opens_the_draft_and_posting_it_restarts_the_clock(timed: Timed) -> None:
    t = timed
    opened = await t.open()
    channel = opened.channel_id
    await t.advance(MINUTE)
    await t.click(opened.id, channel, opened.header_ts, "incident_acknowledge", "UALICE")
    await t.advance(29 * MINUTE)
    [reminder] = posted(t.slack, channel, REMINDER)
    draft = reminder.text.split("edit this draft:\n>", 1)[1]

    await t.slack.click(t.events_url, channel_id=channel, message_ts=reminder.ts, action_id="incident_post_update",
                        user_id="UALICE")
    await eventually(lambda: len(t.slack.views) == 1, timeout=10, what="update modal")
    view = t.slack.views[0]
    element = view["blocks"][0]["element"]
    submission = {"type": "view_submission", "user": {"id": "UALICE"}, "view": {
        **view, "id": "V1", "state": {"values": {"update": {"update": {
            "type": "plain_text_input", "value": draft + " Mitigated by the rollback."}}}}}}
    assert (await t.slack.interaction(t.events_url, submission)).status_code == 200
    await eventually(lambda: count(t.slack, channel, "*Update on incident #1") == 1, timeout=10, what="update posted")
    await t.settle()
    incidents = t.slack.channel_by_name("incidents")
    assert incidents is not None and any("Mitigated by the rollback." in m.text for m in t.slack.messages(incidents.id))
    assert await pending_timers(t.db, opened.id) == {"update_due": START + 60 * MINUTE}
    await t.advance(30 * MINUTE)  # T+60m: the next reminder, no overdue escalation
    assert (count(t.slack, channel, REMINDER), count(t.slack, channel, OVERDUE)) == (2, 0)

    # The issue: "a button that opens the draft in a modal for editing and posting".
    assert element.get("initial_value") == draft, (
        f"the Edit and post modal opens empty instead of with the reminder's draft: {element}")


async def test_lowering_the_severity_before_the_reminder_reschedules_it_to_the_new_cadence(timed: Timed) -> None:
    t = timed
    opened = await t.open()
    channel = opened.channel_id
    await t.command("note on it", "UALICE", channel)
    await t.advance(10 * MINUTE)
    assert await t.command("severity sev3 contained to one region", "UALICE", channel) == "Severity is now SEV3."
    assert await pending_timers(t.db, opened.id) == {"update_due": START + 4 * timedelta(hours=1)}

    await t.advance(20 * MINUTE, idle=True)  # T+30m, SEV1's cadence
    assert count(t.slack, channel, REMINDER) == 0
    await t.advance(3 * timedelta(hours=1) + 30 * MINUTE - SECOND, idle=True)
    assert count(t.slack, channel, REMINDER) == 0
    await t.advance(SECOND)  # T+4h, SEV3's cadence from the opening
    [reminder] = posted(t.slack, channel, REMINDER)
    assert "SEV3 · Investigating · open for 4h00m" in reminder.text


async def test_an_alert_that_raises_the_severity_brings_the_reminder_forward_to_the_new_cadence(
        database_url: str, slack: SlackEmulator, db: Database, tmp_path: Path) -> None:
    playbooks = write_playbook(tmp_path / "playbooks")
    text = (playbooks / "incidents.yml").read_text()
    (playbooks / "incidents.yml").write_text(
        text.replace("""matchers: ['severity=~"critical|page"']""", """matchers: ['service="checkout"']""")
            .replace("map: {critical: sev1, page: sev1}", "map: {critical: sev1, page: sev1, warning: sev2}"))
    async with timed_bot(database_url, slack, db, playbooks, ManualClock(START)) as t:
        payload = group(alerts=1, severity="warning", start=START)
        opened = await t.open(body(payload))
        assert opened.severity == "sev2"
        assert await pending_timers(t.db, opened.id) == {"update_due": START + timedelta(hours=1),
                                                        "ack_timeout": START + 15 * MINUTE}

        await t.advance(10 * MINUTE)
        worse = group(alerts=2, severity="warning", start=START)
        worse["alerts"][1]["labels"]["severity"] = "critical"
        del worse["commonLabels"]["severity"]
        assert (await t.webhook(body(worse)))["outcome"] == "join"

        assert (await incident(t.db, opened.id)).severity == "sev1"
        assert (await pending_timers(t.db, opened.id))["update_due"] == START + 30 * MINUTE, \
            "the next update is due at SEV1's cadence from the opening, not SEV2's"


async def test_lowering_the_severity_after_a_reminder_does_not_escalate_at_the_old_cadence(timed: Timed) -> None:
    t = timed
    opened = await t.open()
    channel = opened.channel_id
    await t.command("note on it", "UALICE", channel)
    await t.advance(30 * MINUTE)
    assert count(t.slack, channel, REMINDER) == 1
    await t.advance(5 * MINUTE)
    assert await t.command("severity sev3 only one region affected", "UALICE", channel) == "Severity is now SEV3."

    # At SEV3 an update is due every 4 hours: SEV1's overdue time (T+60m) means nothing now.
    await t.advance(25 * MINUTE, idle=True)
    assert count(t.slack, channel, OVERDUE) == 0, "escalated as overdue at SEV1's cadence after lowering to SEV3"
    await t.advance(3 * timedelta(hours=1) - SECOND, idle=True)
    assert (count(t.slack, channel, REMINDER), count(t.slack, channel, OVERDUE)) == (1, 0)
    await t.advance(SECOND)  # T+4h: SEV3's cadence since the opening (no update was posted)
    assert count(t.slack, channel, REMINDER) == 2
    assert "SEV3 ·" in posted(t.slack, channel, REMINDER)[-1].text


async def test_resolving_stops_every_timer_posts_a_final_update_and_archives_a_day_later(timed: Timed) -> None:
    t = timed
    opened = await t.open()
    channel = opened.channel_id
    assert set(await pending_timers(t.db, opened.id)) == {"update_due", "ack_timeout"}
    await t.advance(4 * MINUTE)
    assert await t.command("resolve bad config reverted", "UDAVE", channel) == "Resolved. The final update is posted."
    assert await pending_timers(t.db, opened.id) == {"archive": START + 4 * MINUTE + timedelta(days=1)}
    final = posted(t.slack, channel, "*Final update on incident #1")
    assert len(final) == 1 and "Resolved. bad config reverted" in final[0].text
    incidents = t.slack.channel_by_name("incidents")
    assert incidents is not None and count(t.slack, incidents.id, "*Final update on incident #1") == 1

    for step in (MINUTE, 30 * MINUTE, 30 * MINUTE, timedelta(hours=3)):  # past every ack, reminder and overdue time
        await t.advance(step, idle=True)
    for marker in (REMINDER, OVERDUE, ESCALATED, EXHAUSTED, ARCHIVED):
        assert count(t.slack, channel, marker) == 0, marker
    assert (await incident(t.db, opened.id)).commander == "UALICE"

    await t.advance(timedelta(days=1) - 4 * timedelta(hours=1) - MINUTE - SECOND, idle=True)
    assert not t.slack.channel(channel).is_archived
    await t.advance(SECOND)
    assert count(t.slack, channel, ARCHIVED) == 1
    assert t.slack.channel(channel).is_archived
    assert (await kinds(t.db, opened.id))["channel.archived"] == 1
    # The postmortem draft was posted before the channel was archived.
    messages = t.slack.messages(channel)
    draft = next(i for i, m in enumerate(messages) if m.files)
    assert draft < next(i for i, m in enumerate(messages) if ARCHIVED in m.text)


# -- 2. acknowledgement escalation -------------------------------------------------------------

async def test_ack_timeout_walks_the_rotation_and_stops_at_its_end_with_a_notice(timed: Timed) -> None:
    t = timed
    opened = await t.open()
    channel = opened.channel_id
    assert opened.commander == "UALICE"
    assert "<@UALICE> (not yet acknowledged)" in header(t.slack, opened)

    await t.advance(5 * MINUTE - SECOND, idle=True)
    assert count(t.slack, channel, ESCALATED) == 0
    for previous, nxt, walked in (("UALICE", "UBOB", 1), ("UBOB", "UCAROL", 2)):
        await t.advance(SECOND if walked == 1 else 5 * MINUTE)
        current = await incident(t.db, opened.id)
        assert current.commander == nxt
        assert posted(t.slack, channel, ESCALATED)[-1].text == (
            f":rotating_light: <@{nxt}>, you are now the commander: <@{previous}> did not acknowledge "
            "within 5 min. Press *Acknowledge* on the header.")
        assert count(t.slack, channel, ESCALATED) == walked
        assert nxt in t.slack.channel(channel).members
        assert f"<@{nxt}> (not yet acknowledged)" in header(t.slack, current)
        assert f"<@{nxt}>" in t.slack.channel(channel).topic["value"]

    await t.advance(5 * MINUTE - SECOND, idle=True)
    assert count(t.slack, channel, EXHAUSTED) == 0
    await t.advance(SECOND)  # T+15m
    [notice] = posted(t.slack, channel, EXHAUSTED)
    assert notice.text.startswith(":warning: <@UCAROL> has not acknowledged and nobody is left in the rotation")
    await t.advance(timedelta(hours=1), idle=True)
    assert (count(t.slack, channel, ESCALATED), count(t.slack, channel, EXHAUSTED)) == (2, 1)
    assert (await incident(t.db, opened.id)).commander == "UCAROL"
    assert posted(t.slack, channel, REMINDER)[0].text.startswith(":alarm_clock: <@UCAROL>,")  # T+30m
    escalations = [e for e in await rows.events(t.db, opened.id) if e.kind.startswith("escalation.")
                   or e.kind == "commander.escalated"]
    assert [(e.kind, e.data.get("from"), e.data.get("to") or e.data.get("commander")) for e in escalations] == [
        ("commander.escalated", "UALICE", "UBOB"), ("commander.escalated", "UBOB", "UCAROL"),
        ("escalation.exhausted", None, "UCAROL")]


async def test_acknowledging_by_button_or_any_command_of_the_commander_stops_the_walk(timed: Timed) -> None:
    t = timed
    by_button = await t.open()
    by_command = await t.open(body(group("DiskFull", service="payments", alerts=1, start=START - 2 * MINUTE)))
    assert by_button.commander == by_command.commander == "UALICE"

    await t.advance(MINUTE)
    await t.click(by_button.id, by_button.channel_id, by_button.header_ts, "incident_acknowledge", "UALICE")
    assert "(not yet acknowledged)" not in header(t.slack, await incident(t.db, by_button.id))
    await t.command("note disk usage at 97%", "UDAVE", by_command.channel_id)  # not the commander: no effect
    await t.advance(4 * MINUTE)  # T+5m
    assert (await incident(t.db, by_button.id)).commander == "UALICE"
    assert count(t.slack, by_button.channel_id, ESCALATED) == 0
    assert (await incident(t.db, by_command.id)).commander == "UBOB"

    await t.advance(MINUTE)
    await t.command("timeline", "UBOB", by_command.channel_id)  # any command by the commander acknowledges
    await t.advance(timedelta(hours=1), idle=True)
    assert [(i.commander, i.acknowledged_at is not None) for i in await rows.incidents(t.db)] == [
        ("UALICE", True), ("UBOB", True)]
    assert count(t.slack, by_button.channel_id, ESCALATED) == 0
    assert count(t.slack, by_command.channel_id, ESCALATED) == 1
    assert count(t.slack, by_command.channel_id, EXHAUSTED) == 0
    assert "(not yet acknowledged)" not in header(t.slack, await incident(t.db, by_command.id))


# -- 3. auto-resolve -------------------------------------------------------------------------

async def test_all_alerts_resolved_and_quiet_for_the_period_resolves_the_incident(timed: Timed) -> None:
    t = timed
    opened = await t.open(captured("1-firing"))
    channel = opened.channel_id
    await t.command("note watching", "UALICE", channel)
    await t.advance(2 * MINUTE)
    assert (await t.webhook(captured("3-all-resolved")))["outcome"] == "join"
    assert ":white_check_mark: All alerts have resolved." in header(t.slack, await incident(t.db, opened.id))
    assert (await pending_timers(t.db, opened.id))["auto_resolve"] == START + 12 * MINUTE

    await t.advance(10 * MINUTE - SECOND, idle=True)
    assert (await incident(t.db, opened.id)).status == "investigating"
    await t.advance(SECOND)  # T+12m
    resolved = await incident(t.db, opened.id)
    assert (resolved.status, resolved.resolved_at) == ("resolved", START + 12 * MINUTE)
    [final] = posted(t.slack, channel, "*Final update on incident #1")
    assert AUTO_RESOLVED in final.text and final.text.endswith("_— incident-bot_")
    incidents = t.slack.channel_by_name("incidents")
    assert incidents is not None and count(t.slack, incidents.id, AUTO_RESOLVED) == 1
    assert "incident_take_command" not in header(t.slack, resolved)  # resolved: only the link to its page is left
    assert '"action_id": "incident_open_page"' in header(t.slack, resolved)
    [event] = [e for e in await rows.events(t.db, opened.id) if e.kind == "incident.resolved"]
    assert (event.actor, event.data["automatic"]) == ("bot", True)
    assert set(await pending_timers(t.db, opened.id)) == {"archive"}
    await t.advance(timedelta(hours=1), idle=True)
    assert (count(t.slack, channel, REMINDER), count(t.slack, channel, AUTO_RESOLVED)) == (0, 1)


async def test_an_alert_firing_again_or_a_person_acting_in_the_quiet_period_cancels_auto_resolve(timed: Timed) -> None:
    t = timed
    refired = await t.open(captured("1-firing"))
    disk = group("DiskFull", service="payments", alerts=1, start=START - 2 * MINUTE)
    touched = await t.open(body(disk))
    await t.advance(2 * MINUTE)
    await t.webhook(captured("3-all-resolved"))
    await t.webhook(body(group("DiskFull", service="payments", alerts=1, start=START - 2 * MINUTE, status="resolved")))
    assert "auto_resolve" in await pending_timers(t.db, refired.id)
    assert "auto_resolve" in await pending_timers(t.db, touched.id)

    await t.advance(3 * MINUTE)  # T+5m, within both quiet periods
    assert (await t.webhook(first_alert_again(captured("3-all-resolved"), starts_at="2026-11-22T23:04:30Z")))[
        "outcome"] == "join"
    await t.command("note keeping an eye on the disk", "UDAVE", touched.channel_id)
    assert "auto_resolve" not in await pending_timers(t.db, refired.id)
    assert "auto_resolve" not in await pending_timers(t.db, touched.id)
    await t.advance(15 * MINUTE, idle=True)  # T+20m, well past both quiet periods
    assert [i.status for i in await rows.incidents(t.db)] == ["investigating", "investigating"]
    assert count(t.slack, refired.channel_id, AUTO_RESOLVED) == count(t.slack, touched.channel_id, AUTO_RESOLVED) == 0

    # When everything has resolved again, the quiet period starts over.
    await t.webhook(first_alert_again(captured("3-all-resolved"), starts_at="2026-11-22T23:04:30Z",
                                   ends_at="2026-11-22T23:19:30Z"))
    await t.advance(10 * MINUTE)  # T+30m
    assert [i.status for i in await rows.incidents(t.db)] == ["resolved", "investigating"]
    assert count(t.slack, refired.channel_id, AUTO_RESOLVED) == 1


async def test_a_declared_incident_is_never_resolved_automatically(timed: Timed) -> None:
    t = timed
    # A warning group is only recorded and posted to triage; a person declares it from there.
    cache = group("CacheEvictions", service="search", severity="warning", alerts=2, start=START - 2 * MINUTE)
    assert (await t.webhook(body(cache)))["outcome"] == "record"
    triage = t.slack.channel_by_name("alerts-triage")
    assert triage is not None
    [notice] = t.slack.messages(triage.id)
    await t.slack.click(t.events_url, channel_id=triage.id, message_ts=notice.ts, action_id="triage_declare",
                        user_id="UCAROL")

    async def declared() -> bool:
        return len(await rows.incidents(t.db)) == 1
    await eventually(declared, timeout=10, what="declared from triage")
    await t.settle()
    general = t.slack.channel_by_name("general")
    assert general is not None
    assert (await t.command("declare Payments API returns 502s sev2", "UBOB", general.id)).startswith(
        "Declared incident #2")
    from_triage, by_hand = await rows.incidents(t.db)
    assert (from_triage.source, from_triage.commander, by_hand.source) == ("human", "UCAROL", "human")

    await t.advance(2 * MINUTE)
    resolved = group("CacheEvictions", service="search", severity="warning", alerts=2, start=START - 2 * MINUTE,
                     status="resolved")
    assert (await t.webhook(body(resolved)))["outcome"] == "join"
    assert (await kinds(t.db, from_triage.id))["alerts.all_resolved"] == 1
    assert "auto_resolve" not in await pending_timers(t.db, from_triage.id)
    await t.advance(timedelta(days=1), idle=True)
    assert [i.status for i in await rows.incidents(t.db)] == ["investigating", "investigating"]
    for declared_incident in (from_triage, by_hand):
        assert count(t.slack, declared_incident.channel_id, "Final update") == 0


# -- 4. the policy snapshot ----------------------------------------------------------------

async def test_editing_the_playbook_mid_incident_does_not_change_an_escalation_under_way(
        database_url: str, slack: SlackEmulator, db: Database, tmp_path: Path) -> None:
    clock = ManualClock(START)
    original = write_playbook(tmp_path / "original")
    edited = write_playbook(tmp_path / "edited", sev1_ack="1h", sev1_update="2h", users="UALICE, UDAVE, UCAROL")
    async with timed_bot(database_url, slack, db, original, clock) as t:
        opened = await t.open()
    channel = opened.channel_id

    # A redeploy with the edited playbook, on the same database, a minute later.
    clock.advance(MINUTE)
    async with timed_bot(database_url, slack, db, edited, clock) as t:
        await t.advance(4 * MINUTE)  # T+5m: the 5-minute timeout in force at open, not the new hour
        assert (await incident(t.db, opened.id)).commander == "UBOB"  # the rotation at open, not UDAVE
        assert posted(t.slack, channel, ESCALATED)[-1].text.endswith(
            "<@UALICE> did not acknowledge within 5 min. Press *Acknowledge* on the header.")
        await t.advance(5 * MINUTE)  # T+10m: the next step keeps the snapshot's timeout too
        assert (await incident(t.db, opened.id)).commander == "UCAROL"

        # A new incident gets the edited playbook.
        later = await t.open(body(group("DiskFull", service="payments", alerts=1, start=START)))
        assert await pending_timers(t.db, later.id) == {
            "ack_timeout": START + 10 * MINUTE + timedelta(hours=1),
            "update_due": START + 10 * MINUTE + 2 * timedelta(hours=1)}
        await t.advance(20 * MINUTE)  # T+30m: the snapshot's cadence
        assert count(t.slack, channel, REMINDER) == 1
        assert (count(t.slack, later.channel_id, ESCALATED), count(t.slack, later.channel_id, REMINDER)) == (0, 0)


async def test_a_timer_falling_due_as_the_commander_acknowledges_neither_deadlocks_nor_fails(
        database_url: str, slack: SlackEmulator, db: Database, tmp_path: Path) -> None:
    """The scheduler claims the due acknowledgement timeout while a command on the same
    incident holds the incident and then cancels that timer. Claiming only the timer and
    locking the incident afterwards waits in a cycle with the command on PostgreSQL: one
    of the two is aborted with "deadlock detected" after a second (the commander's
    command then fails with "cannot reach its database"). These are the two transactions
    the bot runs (TimerFirer's claim and lock, CommandService's lock and timer update),
    interleaved the unlucky way, which a live race produces only now and then."""
    async with timed_bot(database_url, slack, db, write_playbook(tmp_path / "playbooks"), ManualClock(START)) as t:
        opened = await t.open()
    now = START + 5 * MINUTE
    claimed, command_holds_incident = asyncio.Event(), asyncio.Event()

    async def scheduler() -> list[timer_store.DueTimer]:
        async with db.transaction() as session:
            due = await session.run_sync(timer_store.claim_due, now)
            claimed.set()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(command_holds_incident.wait(), 0.5)
            await session.run_sync(store.lock_incident, opened.id)
            return due

    async def acknowledge() -> None:
        await claimed.wait()
        async with db.transaction() as session:
            incident = await session.run_sync(store.lock_incident, opened.id)
            command_holds_incident.set()
            assert incident is not None
            await session.run_sync(timer_schedule.on_human_action, opened.id)
            await session.run_sync(timer_schedule.on_acknowledged, incident, now)

    due, _ = await asyncio.wait_for(asyncio.gather(scheduler(), acknowledge()), 10)
    assert [d.kind for d in due] == ["ack_timeout"]


# -- 5. restart: due while the bot is down ----------------------------------------------------

def process_env(database_url: str, slack: SlackEmulator, playbooks: Path, scale: float = RATE_SCALE) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url, "PLAYBOOKS_DIR": str(playbooks), "ALERTMANAGER_WEBHOOK_TOKEN": WEBHOOK_TOKEN,
        "SLACK_BOT_TOKEN": SLACK_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack.api_url,
        "SLACK_RATE_LIMIT_SCALE": str(scale), "OUTBOX_LEASE_SECONDS": "1", "SCHEDULER_TICK_SECONDS": "0.05",
        "LOG_FORMAT": "console", "LOG_LEVEL": "WARNING",
    }


async def post_webhook(url: str, payload: bytes) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(f"{url}/alertmanager", content=payload, headers=JSON)
    assert response.status_code == 200, response.text


async def test_timers_due_while_the_bot_is_down_fire_exactly_once_after_a_restart(
        database_url: str, slack: SlackEmulator, db: Database, tmp_path: Path) -> None:
    # Real clock: cadences of seconds; a rotation that has not started yet, so UALICE is first.
    playbooks = write_playbook(tmp_path / "playbooks", sev1_update="2s", sev1_ack="1500ms",
                               rotation_start="2099-01-05T09:00")
    bot = BotProcess(process_env(database_url, slack, playbooks), tmp_path)
    try:
        await bot.start()
        await post_webhook(bot.url, captured("1-firing"))
        bot.kill()  # the incident, its Slack work and its timers are committed; nothing has fired yet
        [opened] = await rows.incidents(db)
        due = await pending_timers(db, opened.id)
        assert set(due) == {"update_due", "ack_timeout"} and opened.commander == "UALICE"  # both still pending
        while datetime.now(UTC) < max(due.values()) + timedelta(milliseconds=200):
            await asyncio.sleep(0.05)  # both fall due while the bot is down

        await bot.start()

        async def fired() -> bool:
            channel = (await incident(db, opened.id)).channel_id
            return channel is not None and count(slack, channel, REMINDER) >= 1 and \
                count(slack, channel, "<@UALICE> did not acknowledge") >= 1
        await eventually(fired, timeout=30, what="reminder and escalation after the restart")
        await asyncio.sleep(0.5)  # ten more scheduler ticks
    finally:
        bot.kill()

    channel = (await incident(db, opened.id)).channel_id
    assert channel is not None
    assert count(slack, channel, REMINDER) == 1
    assert count(slack, channel, "<@UALICE> did not acknowledge") == 1
    assert (await kinds(db, opened.id))["update.reminded"] == 1
    escalations = [e.data for e in await rows.events(db, opened.id) if e.kind == "commander.escalated"]
    assert [e["from"] for e in escalations].count("UALICE") == 1
    fired_rows = [(x.kind, x.payload.get("commander")) for x in await timers_of(db) if x.state == "fired"]
    assert fired_rows.count(("update_due", None)) == 1 and fired_rows.count(("ack_timeout", "UALICE")) == 1


# -- 6. two replicas on PostgreSQL -------------------------------------------------------------

async def test_two_bot_processes_on_one_postgresql_post_each_reminder_once(
        postgres_url: str | None, tmp_path: Path) -> None:
    if postgres_url is None:
        unavailable(f"PostgreSQL is not reachable at {databases.POSTGRES_ADMIN_URL}")
    assert postgres_url is not None
    await databases.truncate_all(postgres_url)
    scale = 60.0  # more Slack headroom: two processes pace independently against one workspace
    async with SlackEmulator(token=SLACK_TOKEN, signing_secret=SIGNING_SECRET, users=USERS,
                             rate_limit_scale=scale) as slack:
        slack.seed_channel("incidents", members=["UALICE"])
        slack.seed_channel("alerts-triage", members=["UALICE"])
        playbooks = write_playbook(tmp_path / "playbooks", sev1_update="2s", sev1_ack="1h")
        bots = [BotProcess(process_env(postgres_url, slack, playbooks, scale), tmp_path / f"bot-{i}") for i in (0, 1)]
        for bot in bots:
            bot.workdir.mkdir()
        db = Database(postgres_url)
        try:
            await asyncio.gather(*(bot.start() for bot in bots))
            await asyncio.gather(*(post_webhook(bots[i % 2].url, body(group(f"Service{i:02d}Down", service=f"svc{i:02d}",
                                                                                alerts=1, start=START)))
                                   for i in range(20)))
            assert len(await rows.incidents(db)) == 20

            async def all_fired_and_delivered() -> bool:
                timers = await timers_of(db)
                overdue = [x for x in timers if x.kind == "update_overdue" and x.state == "fired"]
                work = [o for o in await rows.outbox(db) if o.state == "pending"]
                return len(overdue) == 20 and not work
            await eventually(all_fired_and_delivered, timeout=45, what="20 reminders and 20 overdue notices delivered")
            await asyncio.sleep(0.5)  # ten more ticks of each scheduler
            incidents = await rows.incidents(db)
            per_channel = {i.channel_name: (count(slack, i.channel_id, REMINDER), count(slack, i.channel_id, OVERDUE))
                           for i in incidents}
            reminded = Counter({i.id: (await kinds(db, i.id))["update.reminded"] for i in incidents})
        finally:
            for bot in bots:
                bot.kill()
            await db.dispose()
    assert per_channel == dict.fromkeys(per_channel, (1, 1)) and len(per_channel) == 20, per_channel
    assert sorted(reminded.values()) == [1] * 20
