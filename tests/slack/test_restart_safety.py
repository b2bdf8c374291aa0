"""SIGKILL the bot right after the webhook is acknowledged, and again in the middle of
delivering a 20-action incident: after a restart there is one channel and no message twice."""

from __future__ import annotations

from pathlib import Path

import httpx

from storage.database import Database
from tests.slack_emulator import SlackEmulator
from tests.support import rows
from tests.support.bot import WEBHOOK_TOKEN
from tests.support.delivery import RESPONDERS, assert_delivered_once, many_responders_playbook
from tests.support.payloads import body, group
from tests.support.process import BotProcess
from tests.support.slack import RATE_SCALE, SLACK_TOKEN, eventually

JSON = {"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json"}
async def test_crash_after_ack_and_mid_delivery_leaves_one_channel_and_no_duplicates(
        database_url: str, slack: SlackEmulator, db: Database, tmp_path: Path) -> None:
    for user in RESPONDERS:
        slack.add_user(user, user.lower())
    slack.faults.delay(seconds=0.1)  # slow Slack, so a kill lands in the middle of the work
    bot = BotProcess({
        "DATABASE_URL": database_url, "PLAYBOOKS_DIR": str(many_responders_playbook(tmp_path)),
        "ALERTMANAGER_WEBHOOK_TOKEN": WEBHOOK_TOKEN, "SLACK_BOT_TOKEN": SLACK_TOKEN, "SLACK_API_URL": slack.api_url,
        "SLACK_RATE_LIMIT_SCALE": str(RATE_SCALE), "OUTBOX_LEASE_SECONDS": "2", "LOG_FORMAT": "console",
    }, tmp_path)
    try:
        await bot.start()
        async with httpx.AsyncClient(timeout=30) as client:
            first = await client.post(f"{bot.url}/alertmanager", content=body(group("First", alerts=2)), headers=JSON)
        assert first.status_code == 200
        bot.kill()  # right after the acknowledgement

        await bot.start()
        async with httpx.AsyncClient(timeout=30) as client:
            second = await client.post(f"{bot.url}/alertmanager", content=body(group("Second", alerts=2)), headers=JSON)
        assert second.status_code == 200
        [_, second_incident] = await rows.incidents(db)
        actions = [o for o in await rows.outbox(db) if o.incident_id == second_incident.id]
        assert len(actions) >= 20

        async def halfway() -> bool:
            done = [o for o in await rows.outbox(db) if o.incident_id == second_incident.id and o.state == "done"]
            return len(done) >= 8
        await eventually(halfway, what="second incident half delivered")
        bot.kill()  # in the middle of delivering it
        assert any(o.state == "pending" for o in await rows.outbox(db) if o.incident_id == second_incident.id)

        await bot.start()

        async def delivered() -> bool:
            return all(o.state == "done" for o in await rows.outbox(db))
        await eventually(delivered, timeout=90, what="everything delivered after restarts")
    finally:
        bot.stop()

    incidents = await rows.incidents(db)
    assert len(incidents) == 2
    for incident in incidents:
        assert_delivered_once(slack, incident.channel_id, incident.header_ts)
    created = [c for c in slack.calls_to("conversations.create") if c.ok]
    assert len(created) == 2, [c.args["name"] for c in created]
