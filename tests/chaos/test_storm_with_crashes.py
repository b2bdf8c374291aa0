"""Proof under load and faults: 5,000 alerts in 500 groups flow from the real Alertmanager
while the bot is SIGKILLed twice. Alertmanager's own retries fill the gaps; afterwards every
alert is stored once, the storm guard shaped the incidents, and Slack saw nothing twice."""

from __future__ import annotations

import re
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from storage.database import Database
from storage.models import Alert, OutboxAction
from tests.chaos.storm import assert_each_slack_effect_once, bot_process, duplicated_messages, storm_alerts
from tests.slack_emulator import SlackEmulator
from tests.support import rows
from tests.support.alertmanager import Alertmanager, running_alertmanager, webhook_config
from tests.support.bot import WEBHOOK_TOKEN
from tests.support.slack import SLACK_PLAYBOOKS, eventually

pytestmark = pytest.mark.integration

GROUPS = 500
PER_GROUP = 10
ALERTS = GROUPS * PER_GROUP
KILL_AT = (ALERTS * 3 // 10, ALERTS * 6 // 10)  # alerts stored when each SIGKILL lands
STORM_LIMIT = 5  # storm_guard.max_incidents of the route in SLACK_PLAYBOOKS


async def stored_alerts(db: Database) -> int:
    async with db.reading() as session:
        return int((await session.execute(select(func.count()).select_from(Alert))).scalar_one())


async def outbox_drained(db: Database) -> bool:
    async with db.reading() as session:
        pending = select(func.count()).select_from(OutboxAction).where(OutboxAction.state == "pending")
        return int((await session.execute(pending)).scalar_one()) == 0


async def held_by_alertmanager(alertmanager: Alertmanager) -> set[tuple[str, datetime]]:
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.get(f"{alertmanager.url}/api/v2/alerts")
    response.raise_for_status()
    return {(a["fingerprint"], _instant(a["startsAt"])) for a in response.json()}


def _instant(text: str) -> datetime:
    """RFC 3339 from Go, fractional seconds cut to the microseconds Python keeps."""
    text = re.sub(r"(\.\d{6})\d+", r"\1", text.replace("Z", "+00:00"))
    return datetime.fromisoformat(text)


async def test_storm_of_5000_alerts_survives_two_sigkills_with_every_alert_stored_once_and_nothing_twice_in_slack(
        database_url: str, slack: SlackEmulator, db: Database, tmp_path: Path) -> None:
    token_file = tmp_path / "webhook-token"
    token_file.write_text(WEBHOOK_TOKEN + "\n")
    slack.add_user("UGHOST", "ghost")  # the playbook's second responder, so every invitation succeeds
    bot = bot_process(database_url, slack, SLACK_PLAYBOOKS, tmp_path, OUTBOX_LEASE_SECONDS="5")
    config = webhook_config(f"{bot.url}/alertmanager", token_file=token_file, group_wait="1s", group_interval="2s")
    figures: dict[str, float | int] = {}
    started = time.monotonic()
    try:
        async with running_alertmanager(tmp_path / "am", config) as alertmanager:
            await bot.start()
            groups = storm_alerts(GROUPS, PER_GROUP)
            for first in range(0, GROUPS, 50):  # a group's alerts arrive together, so it flushes once
                await alertmanager.post_alerts([a for g in groups[first:first + 50] for a in g])
            for kill, threshold in enumerate(KILL_AT, start=1):
                await eventually(lambda: _at_least(db, threshold), timeout=60, what=f"{threshold} alerts stored")
                figures[f"stored at kill {kill}"] = await stored_alerts(db)
                bot.kill()
                restarted = time.monotonic()
                await bot.start()

            async def everything_stored_and_delivered() -> bool:
                return await stored_alerts(db) == ALERTS and await outbox_drained(db)
            await eventually(everything_stored_and_delivered, timeout=90, what="all alerts stored and outbox drained")
            figures["time to recover (s)"] = round(time.monotonic() - restarted, 1)
            held = await held_by_alertmanager(alertmanager)
    finally:
        bot.stop()
    figures["wall time (s)"] = round(time.monotonic() - started, 1)

    alerts = await rows.alerts(db)
    incidents = await rows.incidents(db)
    groups_stored = await rows.groups(db)
    actions = await rows.outbox(db)
    stored = Counter((a.fingerprint, a.starts_at) for a in alerts)
    channels = [str(i.channel_id) for i in incidents if i.channel_id]
    figures.update({
        "alerts sent": len(held), "alerts stored": len(alerts),
        "duplicates": sum(n - 1 for n in stored.values()), "missing": len(held - set(stored)),
        "incidents": len(incidents), "channels": len([c for c in slack.calls_to("conversations.create") if c.ok]),
        "duplicate messages": len(duplicated_messages(slack, channels)),
        "webhook deliveries": len(await rows.deliveries(db)),
        "alertmanager failed attempts": alertmanager.log.read_text().count("Notify attempt failed"),
    })
    print(f"\nstorm with crashes ({database_url.split(':', maxsplit=1)[0]}): {figures}")

    assert len(held) == ALERTS, figures
    assert set(stored) == held and figures["duplicates"] == 0, figures
    # The storm guard: the first five groups open their own incidents, the other 495 join one storm incident.
    [storm] = [i for i in incidents if i.source == "storm"]
    own = [i for i in incidents if i.source != "storm"]
    assert len(own) == STORM_LIMIT, figures
    by_incident = Counter(g.incident_id for g in groups_stored)
    assert len(groups_stored) == GROUPS and by_incident[storm.id] == GROUPS - STORM_LIMIT, (figures, by_incident)
    assert all(by_incident[i.id] == 1 for i in own), by_incident
    group_incident = {g.id: g.incident_id for g in groups_stored}
    assert all(a.incident_id == group_incident[a.group_id] for a in alerts), "an alert is not on its group's incident"
    assert all(a.state == "done" for a in actions), Counter(a.state for a in actions)
    assert_each_slack_effect_once(slack, incidents, actions)
    assert "Traceback" not in bot.logs(), "the bot logged an unhandled error during the storm"


async def _at_least(db: Database, alerts: int) -> bool:
    return await stored_alerts(db) >= alerts

