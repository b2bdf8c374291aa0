"""An alert storm: 300 groups in a minute open no more channels than the storm guard allows."""

from __future__ import annotations

import asyncio
import json

import httpx

from storage.database import Database
from tests.slack_emulator import SlackEmulator
from tests.support import rows
from tests.support.bot import WEBHOOK_TOKEN
from tests.support.payloads import body, group
from tests.support.slack import eventually

JSON = {"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json"}


async def test_three_hundred_groups_stay_within_the_channel_limit_and_all_alerts_show_in_the_storm(
        slack_bot: str, slack: SlackEmulator, db: Database) -> None:
    payloads = [body(group(alertname=f"Storm{i:03d}", alerts=2)) for i in range(300)]
    async with httpx.AsyncClient(timeout=60) as client:
        for start in range(0, 300, 30):  # bursts, as Alertmanager flushes groups
            responses = await asyncio.gather(*(client.post(f"{slack_bot}/alertmanager", content=p, headers=JSON)
                                               for p in payloads[start:start + 30]))
            assert all(r.status_code == 200 for r in responses)

    async def delivered() -> bool:
        return all(o.state != "pending" for o in await rows.outbox(db))
    await eventually(delivered, timeout=120, what="storm delivered")

    created = [c for c in slack.calls_to("conversations.create") if c.ok]
    assert len(created) == 5 + 1  # the playbook's limit, plus the one storm channel
    assert len(await rows.alerts(db)) == 600
    storm = next(i for i in await rows.incidents(db) if i.source == "storm")
    header = slack.messages(storm.channel_id)[0]
    assert "*Firing alerts (590)*" in json.dumps(header.blocks)
    storm_text = "\n".join(m.text for m in slack.messages(storm.channel_id))
    missing = [i for i in range(300) if f"Storm{i:03d}" not in storm_text]
    assert len(missing) == 5, missing  # every group but the five with their own incidents is listed
    assert slack.max_consecutive_429() <= 1
