"""Follow-ups from Slack (SPEC J5, issue 14): added with /incident followup and the message
shortcut, listed, closed, reminded when due; bad input records nothing. Everything goes
through the real bot, the real slack_bolt and the strict emulator, on a ManualClock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from storage.database import Database
from storage.models import FollowUp, Timer
from tests.incident.test_timers import START, Timed, kinds, timed_bot, write_playbook
from tests.slack_emulator import SlackEmulator
from tests.support import rows
from tests.support.bot import API_TOKEN
from tests.support.slack import eventually

SECOND = timedelta(seconds=1)
API = {"Authorization": f"Bearer {API_TOKEN}"}


@pytest.fixture
async def timed(database_url: str, slack: SlackEmulator, db: Database, tmp_path: Path) -> AsyncIterator[Timed]:
    async with timed_bot(database_url, slack, db, write_playbook(tmp_path / "playbooks"), ManualClock(START)) as t:
        yield t


async def followups(db: Database) -> list[FollowUp]:
    async with db.reading() as session:
        return list((await session.execute(select(FollowUp).order_by(FollowUp.incident_id, FollowUp.number))).scalars())


async def followup_timers(db: Database) -> list[Timer]:
    async with db.reading() as session:
        return list((await session.execute(select(Timer).where(Timer.kind == "followup_due")
                                           .order_by(Timer.id))).scalars())


def said(slack: SlackEmulator, channel: str, marker: str) -> list[str]:
    return [m.text for m in slack.messages(channel) if marker in m.text]


async def metric(t: Timed, name: str) -> float:
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"{t.url}/metrics")).text
    return next(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " "))


async def test_followups_added_listed_reminded_and_closed_after_the_incident_resolved(timed: Timed) -> None:
    t = timed
    opened = await t.open()
    channel, commander = opened.channel_id, opened.commander
    assert commander == "UALICE"
    assert await t.command("resolve bad config push", commander, channel) == "Resolved. The final update is posted."

    # From the command: with an owner and a due time, and with a due date and no owner.
    assert await t.command("followup Alert on connection pool saturation <@UBOB|bob> due 20s", "UCAROL",
                           channel) == "Added follow-up 1 (<@UBOB>, due 2026-11-22 23:00:20 UTC)."
    assert await t.command("followup Write the <rollback> runbook & link it due 2026-11-25", "UCAROL", channel) == \
        "Added follow-up 2 (no owner, due 2026-11-25)."
    [announced] = said(t.slack, channel, "added follow-up 1")
    assert announced == (":memo: <@UCAROL> added follow-up 1: Alert on connection pool saturation · <@UBOB> · "
                         "due 2026-11-22 23:00:20 UTC")
    assert said(t.slack, channel, "added follow-up 2") == [
        ":memo: <@UCAROL> added follow-up 2: Write the &lt;rollback&gt; runbook &amp; link it · no owner · "
        "due 2026-11-25"]

    # From the message shortcut: the form is prefilled with the message and links to it.
    message = t.slack.post_as_user(channel, "UBOB", "The retry budget was too small for the failover")
    response = await t.slack.message_shortcut(t.events_url, callback_id="followup_from_message", channel_id=channel,
                                              message_ts=message.ts, user_id="UCAROL")
    assert response.status_code == 200
    await eventually(lambda: len(t.slack.views) == 1, timeout=10, what="follow-up form opened")
    [view] = t.slack.views
    assert view["callback_id"] == "followup_from_message"
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    assert blocks["text"]["element"]["initial_value"] == "The retry budget was too small for the failover"
    assert (blocks["owner"]["element"]["type"], blocks["due"]["element"]["type"]) == ("users_select", "datepicker")
    assert t.slack.calls_to("chat.getPermalink")[-1].args["message_ts"] == message.ts
    permalink = f"https://incident-test.slack.com/archives/{channel}/p{message.ts.replace('.', '')}"
    assert permalink in view["blocks"][1]["elements"][0]["text"]
    submitted = await t.slack.submit_view(t.events_url, view, {
        "text": {"text": {"type": "plain_text_input", "value": "Raise the retry budget for failover"}},
        "owner": {"owner": {"type": "users_select", "selected_user": "UDAVE"}},
        "due": {"due": {"type": "datepicker", "selected_date": "2026-11-30"}}}, user_id="UCAROL")
    assert submitted.status_code == 200 and not submitted.content
    await eventually(lambda: bool(said(t.slack, channel, "added follow-up 3")), timeout=10, what="shortcut follow-up")
    await t.settle()

    stored = await followups(t.db)
    assert [(f.number, f.owner, f.source, f.created_by, f.status) for f in stored] == [
        (1, "UBOB", "command", "UCAROL", "open"), (2, None, "command", "UCAROL", "open"),
        (3, "UDAVE", "shortcut", "UCAROL", "open")]
    assert stored[2].message_link == permalink
    assert stored[2].due_at == datetime(2026, 12, 1, tzinfo=UTC)  # the end of 2026-11-30, UTC
    assert len([tm for tm in await followup_timers(t.db) if tm.state == "pending"]) == 3

    listing = await t.command("followups", "UBOB", channel)
    assert listing.splitlines() == [
        "*Follow-ups of incident #1 (3)*",
        "1. Alert on connection pool saturation · <@UBOB> · due 2026-11-22 23:00:20 UTC · open",
        "2. Write the &lt;rollback&gt; runbook &amp; link it · no owner · due 2026-11-25 · open",
        "3. Raise the retry budget for failover · <@UDAVE> · due 2026-11-30 · open"]

    # Follow-up 1 falls due: its owner is told directly and in the channel; it is overdue.
    assert await metric(t, "incident_bot_followups_overdue") == 0
    await t.advance(20 * SECOND - SECOND, idle=True)
    assert not t.slack.direct_messages("UBOB")
    await t.advance(SECOND)
    [dm] = t.slack.direct_messages("UBOB")
    assert dm.text.startswith(":alarm_clock: <@UBOB>: follow-up 1 of incident #1 (HighErrorRate in checkout) is due: "
                              "Alert on connection pool saturation.")
    assert "`/incident followup done 1`" in dm.text
    assert said(t.slack, channel, "follow-up 1 of incident #1") == [dm.text]
    counted = await kinds(t.db, 1)
    assert (counted["followup.reminded"], counted["followup.overdue"]) == (1, 1)
    overdue = [e for e in await rows.events(t.db, 1) if e.kind == "followup.overdue"]
    assert overdue[0].actor == "bot" and overdue[0].data["number"] == 1 and overdue[0].data["owner"] == "UBOB"
    assert await metric(t, "incident_bot_followups_overdue") == 1
    assert "1. Alert on connection pool saturation · <@UBOB> · due 2026-11-22 23:00:20 UTC · *overdue*" in \
        await t.command("followups", "UBOB", channel)

    # Closing: not by just anyone; by the owner; dropping by a responder, with a reason.
    assert await t.command("followup done 1", "UCAROL", channel) == \
        "Only its owner (<@UBOB>), the commander (<@UALICE>) or a responder can close follow-up 1."
    assert await t.command("followup done 1", "UBOB", channel) == "Follow-up 1 is done."
    assert await t.command("followup done 1", "UBOB", channel) == "Follow-up 1 is already done."
    assert await t.command("followup drop 3 duplicate of 2", "UDAVE", channel) == "Follow-up 3 is dropped."
    assert said(t.slack, channel, "marked follow-up 1 done") == [
        ":white_check_mark: <@UBOB> marked follow-up 1 done: Alert on connection pool saturation"]
    assert said(t.slack, channel, "dropped follow-up 3") == [
        ":wastebasket: <@UDAVE> dropped follow-up 3 (duplicate of 2): Raise the retry budget for failover"]
    assert await metric(t, "incident_bot_followups_overdue") == 0
    by_number = {f.number: f for f in await followups(t.db)}
    assert (by_number[1].status, by_number[1].closed_by) == ("done", "UBOB")
    assert (by_number[3].status, by_number[3].closed_by, by_number[3].close_reason) == \
        ("dropped", "UDAVE", "duplicate of 2")
    pending = [tm.payload["number"] for tm in await followup_timers(t.db) if tm.state == "pending"]
    assert pending == [2]  # done and drop stopped their reminders
    events = [(e.kind, e.actor) for e in await rows.events(t.db, 1) if e.kind.startswith("followup.")]
    assert ("followup.added", "UCAROL") in events and ("followup.done", "UBOB") in events
    assert ("followup.dropped", "UDAVE") in events
    refused = [e for e in await rows.events(t.db, 1) if e.kind == "command" and not e.data["allowed"]]
    assert [e.actor for e in refused] == ["UCAROL"]

    # The JSON API shows the same.
    async with httpx.AsyncClient(headers=API) as client:
        of_incident = (await client.get(f"{t.url}/incidents/1/followups")).json()
        dropped = (await client.get(f"{t.url}/followups", params={"status": "dropped"})).json()
    assert [(f["number"], f["status"], f["owner"]) for f in of_incident["followups"]] == [
        (1, "done", "UBOB"), (2, "open", None), (3, "dropped", "UDAVE")]
    assert of_incident["followups"][2]["message_link"] == permalink
    assert [(f["incident_id"], f["number"], f["close_reason"]) for f in dropped["followups"]] == [
        (1, 3, "duplicate of 2")]


@pytest.mark.parametrize(("text", "answer"), [
    ("followup", "Write what needs doing. Type `/incident followup &lt;text&gt; [&lt;@owner&gt;] "
                 "[due &lt;YYYY-MM-DD|duration, e.g. 7d&gt;]`."),
    ("followup Fix it due soon", "`soon` is neither a date (YYYY-MM-DD) nor a duration (20s, 4h, 7d). Type "
                                 "`/incident followup &lt;text&gt; [&lt;@owner&gt;] [due &lt;YYYY-MM-DD|duration, e.g. 7d&gt;]`."),
    ("followup Fix it due 2026-11-21", "2026-11-21 is in the past (today is 2026-11-22 UTC). Type "
                                       "`/incident followup &lt;text&gt; [&lt;@owner&gt;] [due &lt;YYYY-MM-DD|duration, e.g. 7d&gt;]`."),
    ("followup Fix it <@UNOBODY|ghost>", "`UNOBODY` is not a person in this workspace. Mention the owner with @, "
                                         "e.g. `/incident followup &lt;text&gt; @alex`."),
    ("followup done 7", "Incident #1 has no follow-up 7 (none yet). Type `/incident followups` to see them."),
    ("followup drop", "Say which follow-up, by its number. Type `/incident followup drop &lt;n&gt; [reason]`."),
])
async def test_bad_followup_input_gets_one_line_saying_what_to_type_and_records_nothing(
        timed: Timed, text: str, answer: str) -> None:
    t = timed
    opened = await t.open()
    before = await rows.event_kinds(t.db, opened.id)
    assert await t.command(text, "UBOB", opened.channel_id) == answer
    assert await followups(t.db) == []
    assert await rows.event_kinds(t.db, opened.id) == before  # not even the command
    assert await followup_timers(t.db) == []


async def test_the_shortcut_outside_an_incident_channel_says_where_it_works(timed: Timed) -> None:
    t = timed
    general = t.slack.channel_by_name("general")
    assert general is not None
    message = t.slack.post_as_user(general.id, "UBOB", "we should add an alert for this")
    response = await t.slack.message_shortcut(t.events_url, callback_id="followup_from_message",
                                              channel_id=general.id, message_ts=message.ts, user_id="UBOB")
    assert response.status_code == 200
    await eventually(lambda: bool(t.slack.responses()), timeout=10, what="the shortcut's answer")
    [answer] = t.slack.responses()
    assert answer["response_type"] == "ephemeral"
    assert answer["text"].startswith("Follow-ups belong to an incident: use *Add follow-up* on a message in an "
                                     "incident channel")
    assert t.slack.views == [] and await followups(t.db) == []


async def test_a_form_due_date_in_the_past_is_refused_in_the_form(timed: Timed) -> None:
    t = timed
    opened = await t.open()
    message = t.slack.post_as_user(opened.channel_id, "UBOB", "fix the dashboards")
    await t.slack.message_shortcut(t.events_url, callback_id="followup_from_message", channel_id=opened.channel_id,
                                   message_ts=message.ts, user_id="UBOB")
    await eventually(lambda: len(t.slack.views) == 1, timeout=10, what="follow-up form opened")
    response = await t.slack.submit_view(t.events_url, t.slack.views[0], {
        "text": {"text": {"type": "plain_text_input", "value": "fix the dashboards"}},
        "owner": {"owner": {"type": "users_select", "selected_user": None}},
        "due": {"due": {"type": "datepicker", "selected_date": "2026-11-01"}}}, user_id="UBOB")
    assert response.json() == {"response_action": "errors", "errors": {
        "due": "2026-11-01 is in the past (today is 2026-11-22 UTC). Pick today or a later day."}}
    assert await followups(t.db) == []


async def test_a_reminder_after_the_channel_is_archived_goes_to_the_owner_only(timed: Timed) -> None:
    t = timed
    opened = await t.open()
    channel = opened.channel_id
    await t.command("resolve fixed", "UALICE", channel)
    assert (await t.command("followup Add a canary stage, ask ops@example.com <@UCAROL|carol> due 3d", "UALICE",
                            channel)).startswith("Added follow-up 1")
    [stored] = await followups(t.db)
    assert stored.text == "Add a canary stage, ask [redacted email]"  # redacted like notes, before it is stored
    await t.advance(timedelta(days=1))  # the playbook archives a day after resolution
    assert t.slack.channel(channel).is_archived
    posted_before = len(t.slack.messages(channel))
    await t.advance(timedelta(days=2))
    [dm] = t.slack.direct_messages("UCAROL")
    assert "follow-up 1 of incident #1" in dm.text
    assert len(t.slack.messages(channel)) == posted_before
    assert (await kinds(t.db, opened.id))["followup.overdue"] == 1
    assert not [e for e in await rows.events(t.db, opened.id) if e.kind == "slack.action_failed"]


async def test_an_owner_slack_cannot_confirm_right_now_adds_nothing_and_says_try_again(timed: Timed) -> None:
    t = timed
    opened = await t.open()
    t.slack.faults.fail_next("users.info", status=500)
    assert await t.command("followup Fix it <@UBOB|bob>", "UCAROL", opened.channel_id) == \
        "Slack could not confirm who <@UBOB> is just now; nothing was changed. Try again in a moment."
    assert await followups(t.db) == []
    assert (await t.command("followup Fix it <@UBOB|bob>", "UCAROL", opened.channel_id)).startswith(
        "Added follow-up 1")
