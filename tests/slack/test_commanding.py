"""Commanding from Slack: /incident, header buttons, modals, pinned messages and permissions,
through signed requests the emulator sends to the running bot."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from storage.database import Database
from tests.slack_emulator import SlackEmulator
from tests.support import rows
from tests.support.bot import WEBHOOK_TOKEN, running_bot
from tests.support.payloads import captured
from tests.support.slack import SLACK_PLAYBOOKS, eventually, slack_settings

JSON = {"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json"}


async def delivered(db: Database) -> None:
    async def done() -> bool:
        return all(o.state != "pending" for o in await rows.outbox(db))
    await eventually(done, what="outbox delivered")


async def commands_recorded(db: Database, count: int, incident_id: int = 1) -> None:
    """Buttons are acknowledged before their work is done: wait for the work, then the outbox."""
    async def recorded() -> bool:
        return (await rows.event_kinds(db, incident_id)).count("command") >= count
    await eventually(recorded, what=f"{count} commands recorded")
    await delivered(db)


@pytest.fixture
async def incident(slack_bot: str, slack: SlackEmulator, db: Database) -> AsyncIterator[tuple[str, str, str]]:
    """(bot events URL, incident channel id, commander) with an alert-driven incident open."""
    async with httpx.AsyncClient() as client:
        assert (await client.post(f"{slack_bot}/alertmanager", content=captured("1-firing"), headers=JSON)).status_code == 200
    await delivered(db)
    [row] = await rows.incidents(db)
    yield f"{slack_bot}/slack/events", row.channel_id, row.commander


async def command(slack: SlackEmulator, url: str, text: str, user: str, channel: str) -> str:
    response = await slack.slash_command(url, command="/incident", text=text, user_id=user, channel_id=channel)
    assert response.status_code == 200, response.text
    body = response.json() if response.content else {}
    return str(body.get("text", ""))


async def test_help_unknown_and_wrong_place_get_one_ephemeral_line(incident: tuple[str, str, str],
                                                                    slack: SlackEmulator) -> None:
    url, _, _ = incident
    general = slack.channel_by_name("general")
    assert general is not None
    assert "`/incident declare &lt;title&gt; [severity]`" in await command(slack, url, "help", "UALICE", general.id)
    assert await command(slack, url, "frobnicate", "UALICE", general.id) == \
        "Unknown subcommand `frobnicate`. Type `/incident help` to see what it can do."
    assert await command(slack, url, "severity sev9", "UALICE", general.id) == \
        "`sev9` is not a severity here. Type `/incident severity &lt;sev1|sev2|sev3&gt; [reason]`."
    assert (await command(slack, url, "resolve", "UALICE", general.id)).startswith("This is not an incident channel.")


async def test_subcommands_change_the_incident_record_the_actor_and_update_the_header(
        incident: tuple[str, str, str], slack: SlackEmulator, db: Database) -> None:
    url, channel, commander = incident
    assert (await command(slack, url, "update Rolled back the deploy", commander, channel)).startswith(
        "Update posted here and #incidents")  # SEV1's stakeholder channel
    assert await command(slack, url, "severity sev2 customers recovering", commander, channel) == "Severity is now SEV2."
    assert await command(slack, url, "role comms <@UCAROL|carol>", commander, channel) == "<@UCAROL> is now comms."
    assert await command(slack, url, "status monitoring", commander, channel) == "Status is now monitoring."
    assert await command(slack, url, "note cache hit ratio dropped at 14:02", "UDAVE", channel) == "Noted on the timeline."
    assert await command(slack, url, "commander <@UDAVE>", commander, channel) == "<@UDAVE> is now the commander."
    assert await command(slack, url, "resolve bad config", "UDAVE", channel) == "Resolved. The final update is posted."
    assert await command(slack, url, "reopen", "UDAVE", channel) == "Reopened."
    await delivered(db)

    [row] = await rows.incidents(db)
    assert (row.severity, row.status, row.commander, row.roles) == ("sev2", "investigating", "UDAVE", {"comms": "UCAROL"})
    assert row.mitigated_at is not None
    events = [(e.kind, e.actor) for e in await rows.events(db, row.id) if e.kind != "command"]
    assert ("severity.changed", commander) in events and ("note.added", "UDAVE") in events
    assert ("incident.resolved", "UDAVE") in events and ("incident.reopened", "UDAVE") in events
    commands = [e for e in await rows.events(db, row.id) if e.kind == "command"]
    assert len(commands) == 8 and all(e.data["allowed"] for e in commands)
    text = "\n".join(m.text for m in slack.messages(channel))
    assert f"<@{commander}> changed severity SEV1 → SEV2: customers recovering" in text
    assert "*Update on incident #1: HighErrorRate in checkout*" in text and "Rolled back the deploy" in text
    assert "*Final update on incident #1" in text
    header = slack.messages(channel)[0]
    assert header.blocks is not None and header.blocks[0]["text"]["text"] == "SEV2 · HighErrorRate in checkout"
    assert "<@UDAVE>" in json.dumps(header.blocks[1])
    assert {"UCAROL", "UDAVE"} <= slack.channel(channel).members
    incidents_channel = slack.channel_by_name("incidents")
    assert incidents_channel is not None
    stakeholder = [m.text for m in slack.messages(incidents_channel.id)]
    assert any("Rolled back the deploy" in t for t in stakeholder)
    assert not any("Final update" in t for t in stakeholder)  # resolved at SEV2, which has no stakeholder channel


async def test_declare_opens_a_channel_commanded_by_the_declarer(slack_bot: str, slack: SlackEmulator,
                                                                 db: Database) -> None:
    general = slack.channel_by_name("general")
    assert general is not None
    reply = await command(slack, f"{slack_bot}/slack/events", "declare Payments API returns 502s sev2", "UCAROL",
                          general.id)
    assert reply.startswith("Declared incident #1 (SEV2): Payments API returns 502s.")
    await delivered(db)

    [row] = await rows.incidents(db)
    assert (row.source, row.declared_by, row.commander, row.severity) == ("human", "UCAROL", "UCAROL", "sev2")
    assert row.channel_name.endswith("-1-payments-api-returns-502s")
    assert "UCAROL" in slack.channel(row.channel_id).members
    assert slack.pins(row.channel_id)


async def test_declare_without_arguments_opens_a_modal_whose_submission_declares(
        slack_bot: str, slack: SlackEmulator, db: Database) -> None:
    url = f"{slack_bot}/slack/events"
    general = slack.channel_by_name("general")
    assert general is not None
    assert await command(slack, url, "declare", "UBOB", general.id) == ""
    [view] = slack.views
    assert view["callback_id"] == "incident_declare"
    submission = {
        "type": "view_submission", "user": {"id": "UBOB"},
        "view": {**view, "id": "V1", "state": {"values": {
            "title": {"title": {"type": "plain_text_input", "value": "Search is slow"}},
            "severity": {"severity": {"type": "static_select", "selected_option": {"value": "sev3"}}}}}},
    }
    assert (await slack.interaction(url, submission)).status_code == 200
    async def declared() -> bool:
        return len(await rows.incidents(db)) == 1
    await eventually(declared, what="modal declaration")
    [row] = await rows.incidents(db)
    assert (row.title, row.severity, row.commander) == ("Search is slow", "sev3", "UBOB")


async def test_header_buttons_acknowledge_take_command_raise_severity_and_resolve(
        incident: tuple[str, str, str], slack: SlackEmulator, db: Database) -> None:
    url, channel, commander = incident
    header_ts = slack.messages(channel)[0].ts

    done = 0

    async def click(action: str, user: str) -> None:
        nonlocal done
        response = await slack.click(url, channel_id=channel, message_ts=header_ts, action_id=action, user_id=user)
        assert response.status_code == 200
        done += 1
        await commands_recorded(db, done)

    await click("incident_acknowledge", commander)
    await command(slack, url, "severity sev3", commander, channel)
    done += 1
    await commands_recorded(db, done)
    for action, user in [("incident_raise_severity", commander), ("incident_take_command", "UDAVE"),
                         ("incident_resolve", "UDAVE")]:
        await click(action, user)

    [row] = await rows.incidents(db)
    assert (row.severity, row.commander, row.status) == ("sev2", "UDAVE", "resolved")
    assert row.acknowledged_at is not None
    header = slack.messages(channel)[0]
    opened = await slack.click(url, channel_id=channel, message_ts=header_ts, action_id="incident_open_page",
                               user_id="UDAVE")
    assert opened.status_code == 200  # the link's click is acknowledged and changes nothing
    assert len([e for e in await rows.events(db, row.id) if e.kind == "command"]) == done
    assert header.blocks is not None
    buttons = [e for b in header.blocks if b["type"] == "actions" for e in b["elements"]]
    assert [(e["text"]["text"], e.get("url")) for e in buttons] == [  # resolved: only the link to its page
        ("Open in browser", f"http://localhost:8080/ui/incidents/{row.id}")]


async def test_post_update_button_opens_a_modal_that_posts_the_update(
        incident: tuple[str, str, str], slack: SlackEmulator, db: Database) -> None:
    url, channel, commander = incident
    header_ts = slack.messages(channel)[0].ts
    await slack.click(url, channel_id=channel, message_ts=header_ts, action_id="incident_post_update", user_id=commander)
    # The modal opens; posting happens on submission.
    await eventually(lambda: len(slack.views) == 1, what="update modal")
    view = slack.views[0]
    submission = {"type": "view_submission", "user": {"id": commander}, "view": {
        **view, "id": "V2", "state": {"values": {"update": {"update": {"type": "plain_text_input",
                                                                       "value": "Error rate <1% & falling"}}}}}}
    assert (await slack.interaction(url, submission)).status_code == 200
    await eventually(lambda: any("Error rate &lt;1% &amp; falling" in m.text for m in slack.messages(channel)),
                     what="update posted")


async def test_refusal_explains_who_may_resolve_and_is_recorded(
        database_url: str, slack: SlackEmulator, db: Database, tmp_path: Path) -> None:
    text = (SLACK_PLAYBOOKS / "incidents.yml").read_text() + "permissions: {resolve: commander}\n"
    playbooks = tmp_path / "playbooks"
    playbooks.mkdir()
    (playbooks / "incidents.yml").write_text(text)
    async with running_bot(slack_settings(database_url, slack, playbooks)) as bot:
        async with httpx.AsyncClient() as client:
            await client.post(f"{bot}/alertmanager", content=captured("1-firing"), headers=JSON)
        await delivered(db)
        [row] = await rows.incidents(db)
        reply = await command(slack, f"{bot}/slack/events", "resolve", "UDAVE", row.channel_id)

    assert reply == f"Only the commander (<@{row.commander}>) can resolve for this incident."
    assert (await rows.incidents(db))[0].status == "investigating"
    [refused] = [e for e in await rows.events(db, row.id) if e.kind == "command"]
    assert (refused.actor, refused.data["allowed"], refused.data["text"]) == ("UDAVE", False, "/incident resolve")


async def test_two_people_taking_command_at_once_leave_one_commander_and_both_recorded(
        incident: tuple[str, str, str], slack: SlackEmulator, db: Database) -> None:
    url, channel, commander = incident
    takers = sorted({"UALICE", "UCAROL", "UDAVE"} - {commander})[:2]  # neither is the rotation's on-call of this week
    header_ts = slack.messages(channel)[0].ts
    await asyncio.gather(*(slack.click(url, channel_id=channel, message_ts=header_ts,
                                       action_id="incident_take_command", user_id=user) for user in takers))
    await commands_recorded(db, 2)

    [row] = await rows.incidents(db)
    changes = [e for e in await rows.events(db, row.id) if e.kind == "commander.changed"]
    assert sorted(e.data["to"] for e in changes) == takers
    assert row.commander == changes[-1].data["to"]  # the last change wins, in commit order
    assert f"<@{row.commander}>" in json.dumps(slack.messages(channel)[0].blocks)


@pytest.mark.parametrize("signature", ["bad", "stale", "missing"])
async def test_unsigned_or_stale_requests_are_refused_and_change_nothing(
        incident: tuple[str, str, str], slack: SlackEmulator, db: Database, signature: str) -> None:
    url, channel, commander = incident
    before = len(await rows.events(db, 1))
    response = await slack.slash_command(url, command="/incident", text="resolve", user_id=commander,
                                         channel_id=channel, signature=signature)  # type: ignore[arg-type]
    assert response.status_code == 401
    assert len(await rows.events(db, 1)) == before


async def test_pin_reaction_puts_a_message_on_the_timeline_once_and_removing_the_last_records_it(
        incident: tuple[str, str, str], slack: SlackEmulator, db: Database) -> None:
    url, channel, _ = incident
    message = slack.post_as_user(channel, "UCAROL", "Deploy 4711 went out at 13:58")
    reaction = {"type": "reaction_added", "user": "UCAROL", "reaction": "pushpin", "item_user": "UCAROL",
                "item": {"type": "message", "channel": channel, "ts": message.ts}, "event_ts": message.ts}
    assert (await slack.event(url, reaction, event_id="Ev1")).status_code == 200
    assert (await slack.event(url, reaction, event_id="Ev1", retry_num=1)).status_code == 200  # Slack's retry
    assert (await slack.event(url, {**reaction, "user": "UDAVE"}, event_id="Ev2")).status_code == 200
    await slack.event(url, {**reaction, "reaction": "eyes"}, event_id="Ev3")

    async def pinned() -> bool:
        return "message.pinned" in await rows.event_kinds(db, 1)
    await eventually(pinned, what="pinned")
    await asyncio.sleep(0.3)  # let the retry and second reaction land
    removal = {**reaction, "type": "reaction_removed"}
    await slack.event(url, removal, event_id="Ev4")
    await slack.event(url, {**removal, "user": "UDAVE"}, event_id="Ev5")

    async def unpinned() -> bool:
        return "message.unpinned" in await rows.event_kinds(db, 1)
    await eventually(unpinned, what="unpinned")
    events = [e for e in await rows.events(db, 1) if e.kind in ("message.pinned", "message.unpinned")]
    assert [e.kind for e in events] == ["message.pinned", "message.unpinned"]
    assert events[0].data["text"] == "Deploy 4711 went out at 13:58" and events[0].data["author"] == "UCAROL"
    assert events[0].data["permalink"].startswith("http")


async def test_people_joining_the_channel_are_recorded_as_participants_once(
        incident: tuple[str, str, str], slack: SlackEmulator, db: Database) -> None:
    url, channel, _ = incident
    joined = {"type": "member_joined_channel", "user": "UCAROL", "channel": channel, "event_ts": "1.0"}
    await slack.event(url, joined, event_id="EvJ1")
    await slack.event(url, joined, event_id="EvJ1", retry_num=1)
    await slack.event(url, joined, event_id="EvJ2")

    async def recorded() -> bool:
        return "participant.joined" in await rows.event_kinds(db, 1)
    await eventually(recorded, what="participant recorded")
    await asyncio.sleep(0.3)
    assert (await rows.event_kinds(db, 1)).count("participant.joined") == 1


SECRET_EMAIL = "jane.doe@example.com"
SECRET_TOKEN = "xoxb-998877665544-SECRETsecretSECRET"


async def test_pinned_messages_and_notes_are_stored_redacted(
        incident: tuple[str, str, str], slack: SlackEmulator, db: Database, database_url: str) -> None:
    url, channel, commander = incident
    message = slack.post_as_user(channel, "UCAROL", f"ask {SECRET_EMAIL}, she used {SECRET_TOKEN}")
    reaction = {"type": "reaction_added", "user": "UCAROL", "reaction": "pushpin", "item_user": "UCAROL",
                "item": {"type": "message", "channel": channel, "ts": message.ts}, "event_ts": message.ts}
    await slack.event(url, reaction, event_id="EvR1")
    assert await command(slack, url, f"note token was {SECRET_TOKEN}", commander, channel) == "Noted on the timeline."

    async def pinned() -> bool:
        return "message.pinned" in await rows.event_kinds(db, 1)
    await eventually(pinned, what="pinned")

    events = {e.kind: e.data for e in await rows.events(db, 1)}
    assert events["message.pinned"]["text"] == "ask [redacted email], she used [redacted slack token]"
    assert events["note.added"]["text"] == "token was [redacted slack token]"
    await db.dispose()
    if database_url.startswith("sqlite"):
        path = database_url.split(":///", 1)[1]
        stored = b"".join(Path(p).read_bytes() for p in (path, path + "-wal") if Path(p).exists())
        assert SECRET_EMAIL.encode() not in stored and SECRET_TOKEN.encode() not in stored
    else:
        import asyncpg
        from sqlalchemy.engine import make_url
        conn = await asyncpg.connect(make_url(database_url).set(drivername="postgresql").render_as_string(False))
        try:
            dump = await conn.fetchval("SELECT string_agg(data::text, ' ') FROM incident_events")
        finally:
            await conn.close()
        assert SECRET_EMAIL not in dump and SECRET_TOKEN not in dump
