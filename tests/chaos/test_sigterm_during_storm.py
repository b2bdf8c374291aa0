"""Ready for a team to adopt: SIGTERM in the middle of a storm's Slack work shuts down in
order, leaves no action half-done, and the next start delivers every action exactly once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from storage.database import Database
from storage.models import Incident, OutboxAction
from tests.chaos.storm import assert_each_slack_effect_once, bot_process, terminate
from tests.slack_emulator import SlackEmulator
from tests.support import rows
from tests.support.bot import WEBHOOK_TOKEN
from tests.support.delivery import RESPONDERS, assert_delivered_once, many_responders_playbook
from tests.support.payloads import body, group
from tests.support.slack import eventually

pytestmark = pytest.mark.integration

JSON = {"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json"}
GROUPS = 8  # five incidents of their own, then the storm guard folds three more groups into a storm incident
GRACE_SECONDS = 2.0
STUCK_SECONDS = 8.0  # one Slack call outlasts the grace (and stays under the bot's 10 s call timeout)
LEASE_SECONDS = 60  # longer than the restart is given: a lease left behind would show as undelivered work
EXIT_WITHIN = 20.0


async def test_sigterm_mid_storm_exits_cleanly_and_the_next_start_delivers_every_action_once(
        database_url: str, slack: SlackEmulator, db: Database, tmp_path: Path) -> None:
    for user in RESPONDERS:
        slack.add_user(user, user.lower())
    slack.faults.delay(seconds=0.2)  # a slow Slack, so many actions are in flight when the signal lands
    slack.faults.delay("conversations.setPurpose", seconds=STUCK_SECONDS, count=1)
    bot = bot_process(database_url, slack, many_responders_playbook(tmp_path), tmp_path,
                      OUTBOX_LEASE_SECONDS=str(LEASE_SECONDS), OUTBOX_SHUTDOWN_GRACE_SECONDS=str(GRACE_SECONDS))
    try:
        await bot.start()
        async with httpx.AsyncClient(timeout=30) as client:
            answers = await asyncio.gather(*(
                client.post(f"{bot.url}/alertmanager", content=body(group(f"Storm{i}", alerts=3)), headers=JSON)
                for i in range(GROUPS)))
        assert [a.status_code for a in answers] == [200] * GROUPS

        async def mid_storm_with_a_call_stuck() -> bool:
            actions = await rows.outbox(db)
            stuck = [a for a in actions if a.kind == "channel.purpose" and a.state == "pending" and a.locked_by]
            return bool(stuck) and 4 * sum(a.state == "done" for a in actions) >= len(actions)
        await eventually(mid_storm_with_a_call_stuck, timeout=30, what="a quarter delivered, one call stuck")
        [stuck] = [a.id for a in await rows.outbox(db) if a.kind == "channel.purpose" and a.locked_by]

        signalled = datetime.now(UTC)
        code, took = await terminate(bot, within=EXIT_WITHIN)
        first_run = bot.logs()
        print(f"\nSIGTERM to exit: {took:.1f}s")
        assert code == 0, f"exit code {code} after {took:.1f}s:\n{first_run[-3000:]}"
        assert "Traceback" not in first_run, first_run[-3000:]
        assert "incident-bot stopped" in first_run.splitlines()[-1], first_run[-2000:]
        assert "outbox: unfinished actions released for the next start" in first_run

        after_exit = {a.id: a for a in await rows.outbox(db)}
        assert [a.id for a in after_exit.values() if a.locked_by is not None] == [], "leases left behind"
        assert after_exit[stuck].state == "pending", "the stuck call was waited for beyond the grace"
        assert any(a.finished_at and a.finished_at >= signalled for a in after_exit.values()), \
            "no action in flight was finished after the signal"
        assert any(a.state == "pending" for a in after_exit.values() if a.id != stuck), "SIGTERM came too late"
        assert [a.id for a in after_exit.values() if a.state == "failed"] == []
        assert_slack_shows_only_finished_actions(slack, await rows.incidents(db), list(after_exit.values()))

        await bot.start()

        async def delivered() -> bool:
            return all(a.state == "done" for a in await rows.outbox(db))
        await eventually(delivered, timeout=LEASE_SECONDS / 2, what="every action delivered after the restart")
    finally:
        bot.stop()

    incidents = await rows.incidents(db)
    assert len(incidents) == 6 and sum(i.source == "storm" for i in incidents) == 1
    assert_each_slack_effect_once(slack, incidents, await rows.outbox(db))
    for incident in incidents:
        assert_delivered_once(slack, str(incident.channel_id), incident.header_ts)
        assert len(slack.bookmarks(str(incident.channel_id))) == 2  # the runbook and the dashboard


def assert_slack_shows_only_finished_actions(slack: SlackEmulator, incidents: list[Incident],
                                             actions: list[OutboxAction]) -> None:
    """Nothing half-done: every effect visible in Slack belongs to an action recorded as done.

    (The call held past the grace is a ``setPurpose``: it may still land after the exit, and
    setting the same purpose again changes nothing, so purposes are not looked at.)"""
    done = [a for a in actions if a.state == "done"]
    channels = {c.id: c for c in slack.workspace.channels.values() if c.creator == slack.workspace.bot_user_id}
    assert set(channels) == {i.channel_id for i in incidents if i.channel_id}, "a channel no incident knows of"
    done_ids = {a.id for a in done}
    for incident in (i for i in incidents if i.channel_id):
        channel = channels[str(incident.channel_id)]
        mine = [a for a in done if a.incident_id == incident.id]
        for message in channel.messages:
            if message.metadata:
                assert message.metadata["event_payload"]["action"] in done_ids, f"message {message.text[:60]!r}"
        invited = {a.payload["user"] for a in mine if a.kind == "channel.invite"}
        assert channel.members - {slack.workspace.bot_user_id} <= invited, f"invitations to {channel.name}"
        if channel.pins:
            assert any(a.kind == "message.pin_header" for a in mine), f"pin in {channel.name}"
        bookmarked = {a.payload["link"] for a in mine if a.kind == "bookmark.add"}
        assert {b.link for b in channel.bookmarks} <= bookmarked, f"bookmarks of {channel.name}"
        if channel.topic["value"]:
            assert any(a.kind == "channel.topic" for a in mine), f"topic of {channel.name}"
