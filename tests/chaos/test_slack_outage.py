"""Slack answers 503 to every Web API call for two minutes. Incidents are still recorded and
commanders' slash commands still acknowledged; after Slack recovers, every incident's Slack
work is delivered promptly, once, and in the order the outbox queued it."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from bot.delivery.worker import MAX_BACKOFF_SECONDS
from storage.database import Database
from tests.chaos.replicas import calls_in_channel, playbook, queued_calls, running
from tests.chaos.storm import assert_each_slack_effect_once, bot_process, duplicated_messages, storm_alerts
from tests.slack_emulator import SlackEmulator
from tests.support import rows
from tests.support.alertmanager import running_alertmanager, webhook_config
from tests.support.bot import WEBHOOK_TOKEN
from tests.support.slack import SIGNING_SECRET, eventually

pytestmark = pytest.mark.integration

OUTAGE = 120.0  # the figure
GROUPS = 4  # the first opens before the outage, the others during it
COMMANDS = {  # what the commander types during the outage, and the acknowledgement they must get at once
    "update Rolled back the deploy": "Update posted here and #incidents",
    "severity sev2 customers recovering": "Severity is now SEV2.",
    "note cache hit ratio dropped at 14:02": "Noted on the timeline.",
}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_two_minute_slack_outage_records_incidents_and_commands_then_delivers_everything_once_in_order(
        database_url: str, slack: SlackEmulator, db: Database, tmp_path: Path) -> None:
    token_file = tmp_path / "webhook-token"
    token_file.write_text(WEBHOOK_TOKEN + "\n")
    bot = bot_process(database_url, slack, playbook(tmp_path / "playbooks"), tmp_path,
                      SLACK_SIGNING_SECRET=SIGNING_SECRET)
    config = webhook_config(f"{bot.url}/alertmanager", token_file=token_file, group_wait="1s", group_interval="2s")
    groups = storm_alerts(GROUPS, 2)
    async with running_alertmanager(tmp_path / "am", config) as alertmanager, running(bot):
        await alertmanager.post_alerts(groups[0])
        await eventually(lambda: _delivered(db, incidents=1), timeout=30, what="the first incident in Slack")
        # Both alerts of the first group stored before the commander lowers the severity: one
        # joining later would raise it back to SEV1, as it should, and the test would read that as lost.
        await eventually(lambda: _alerts_stored(db, len(groups[0])), timeout=30, what="the first group's alerts")
        [first] = await rows.incidents(db)
        channel, commander = str(first.channel_id), str(first.commander)

        slack.faults.outage(503)
        down_at, down_since = datetime.now(UTC), time.monotonic()
        replies = {}
        for text in COMMANDS:
            response = await slack.slash_command(f"{bot.url}/slack/events", text=text, user_id=commander,
                                                 channel_id=channel)
            assert response.status_code == 200, response.text
            replies[text] = _reply_text(response)
        for n, group in enumerate(groups[1:], start=2):  # spread over the outage: early, middle and late retries
            await alertmanager.post_alerts(group)
            await eventually(lambda: _recorded(db, n), timeout=20, what=f"incident {n} recorded during the outage")
            await asyncio.sleep(max(0.0, down_since + OUTAGE * (n - 1) / GROUPS - time.monotonic()))
        await asyncio.sleep(max(0.0, down_since + OUTAGE - time.monotonic()))
        during = await rows.incidents(db)
        pending = [a for a in await rows.outbox(db) if a.state == "pending"]
        failed_calls = sum(1 for c in slack.calls if c.http_status == 503)

        slack.faults.end_outage()
        up_at, up_since = datetime.now(UTC), time.monotonic()
        await eventually(lambda: any(c.ok and c.at > up_since for c in slack.calls), timeout=MAX_BACKOFF_SECONDS + 10,
                         what="Slack work resumed within the longest retry backoff")
        resumed = time.monotonic() - up_since
        await eventually(lambda: _delivered(db, incidents=GROUPS), timeout=MAX_BACKOFF_SECONDS + 30,
                         what="everything queued during the outage delivered")
        drained = time.monotonic() - up_since
        timeline = await slack.slash_command(f"{bot.url}/slack/events", text="timeline", user_id=commander,
                                             channel_id=channel)

    incidents, actions = await rows.incidents(db), await rows.outbox(db)
    channels = [str(i.channel_id) for i in incidents]
    queued = [a for a in actions if down_at <= a.created_at <= up_at]
    figures = {
        "actions queued during the outage": len(queued), "pending at recovery": len(pending),
        "delivered after recovery": sum(1 for a in actions if a.finished_at and a.finished_at >= up_at),
        "failed Slack calls during the outage": failed_calls,
        "duplicates": len(duplicated_messages(slack, channels)),
        "recovery to first delivery (s)": round(resumed, 1), "recovery to drained (s)": round(drained, 1),
    }
    print(f"\nSlack outage of {OUTAGE:g}s: {figures}")

    assert {t: r for t, r in replies.items() if not r.startswith(COMMANDS[t])} == {}, replies
    assert len(during) == GROUPS and all(i.channel_id is None for i in during[1:]), "incidents recorded, not in Slack"
    kinds = await rows.event_kinds(db, first.id)
    assert {"update.posted", "severity.changed", "note.added", "commander.acknowledged"} <= set(kinds), kinds
    assert len(pending) > 0 and failed_calls > 0, figures

    assert all(a.state == "done" for a in actions), Counter(a.state for a in actions)
    assert_each_slack_effect_once(slack, incidents, actions)
    for incident in incidents:
        in_slack = calls_in_channel(slack, str(incident.channel_id))
        assert in_slack == queued_calls(incident, actions), f"incident {incident.id} out of order: {in_slack}"
        posted = [m.metadata["event_payload"]["action"] for m in slack.messages(str(incident.channel_id))
                  if m.metadata]
        assert posted == sorted(posted), f"incident {incident.id}: messages out of queue order"

    header = slack.messages(channel)[0]
    assert header.blocks is not None and header.blocks[0]["text"]["text"] == "SEV2 · Storm000 in checkout"
    text = "\n".join(m.text for m in slack.messages(channel))
    assert "Rolled back the deploy" in text
    assert f"<@{commander}> changed severity SEV1 → SEV2: customers recovering" in text
    stakeholders = slack.channel_by_name("incidents")
    assert stakeholders is not None
    assert len([m for m in slack.messages(stakeholders.id) if "Rolled back the deploy" in m.text]) == 1
    assert "cache hit ratio dropped at 14:02" in _reply_text(timeline)


def _reply_text(response: httpx.Response) -> str:
    """The acknowledgement's text (Bolt answers plain text when it fails before the handler)."""
    if response.headers.get("Content-Type", "").startswith("application/json"):
        return str(response.json().get("text", ""))
    return response.text


async def _alerts_stored(db: Database, count: int) -> bool:
    return len(await rows.alerts(db)) >= count


async def _recorded(db: Database, incidents: int) -> bool:
    return len(await rows.incidents(db)) >= incidents


async def _delivered(db: Database, incidents: int) -> bool:
    opened = await rows.incidents(db)
    return len(opened) == incidents and all(i.header_ts for i in opened) and \
        all(a.state != "pending" for a in await rows.outbox(db))
