"""PostgreSQL gone for 30 s while Alertmanager keeps delivering: the webhook answers 503 so
Alertmanager retries, /readyz says not ready, and once the database is back every alert is
stored once and every incident's Slack work is delivered, with nobody lifting a finger."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from storage.database import Database
from tests.chaos.replicas import counter, playbook, running
from tests.chaos.storm import assert_each_slack_effect_once, bot_process, storm_alerts
from tests.slack_emulator import SlackEmulator
from tests.support import rows
from tests.support.alertmanager import Alertmanager, running_alertmanager, webhook_config
from tests.support.bot import WEBHOOK_TOKEN
from tests.support.databases import POSTGRES_ADMIN_URL, truncate_all
from tests.support.integration import unavailable
from tests.support.process import BotProcess
from tests.support.slack import eventually
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.integration

OUTAGE = 30.0
BEFORE, DURING, PER_GROUP = 3, 10, 2  # groups that fire before and during the outage
ANSWERED_200 = ("open", "join", "reopen", "record", "duplicate")  # webhook outcomes of stored deliveries


@dataclass
class Outage:
    """What the bot and Alertmanager said while the database was away."""

    readiness: list[int] = field(default_factory=list)
    answered_503: float = 0
    answered_200: float = 0
    failed_at_alertmanager: float = 0


async def test_thirty_second_database_outage_answers_503_then_stores_every_alert_once_and_delivers_to_slack(
        postgres_url: str | None, slack: SlackEmulator, tmp_path: Path) -> None:
    if postgres_url is None:
        unavailable(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}")
    await truncate_all(postgres_url)
    target = make_url(postgres_url)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    await proxy.start()
    through_proxy = target.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    db = Database(postgres_url)  # the test reads past the proxy
    token_file = tmp_path / "webhook-token"
    token_file.write_text(WEBHOOK_TOKEN + "\n")
    bot = bot_process(through_proxy, slack, playbook(tmp_path / "playbooks"), tmp_path)
    config = webhook_config(f"{bot.url}/alertmanager", token_file=token_file, group_wait="1s", group_interval="2s")
    groups = storm_alerts(BEFORE + DURING, PER_GROUP)
    late_joiner = {**groups[0][0], "labels": {**groups[0][0]["labels"], "instance": "10.9.9.9:8080"}}
    sent = [a for g in groups for a in g] + [late_joiner]
    slack.faults.delay(seconds=0.05)  # Slack work is still under way when the database goes
    try:
        async with running_alertmanager(tmp_path / "am", config) as alertmanager, running(bot):
            await alertmanager.post_alerts([a for g in groups[:BEFORE] for a in g])
            await eventually(lambda: _stored(db, BEFORE * PER_GROUP), timeout=20, what="alerts before the outage")
            outage = await _without_database(proxy, alertmanager, bot, [[late_joiner], *groups[BEFORE:]])
            back_at = time.monotonic()

            async def recovered() -> bool:
                return await _stored(db, len(sent)) and await _drained(db) and await _readyz(bot.url) == 200
            await eventually(recovered, timeout=60, what="every alert stored and the outbox drained")
            recovery = time.monotonic() - back_at
            held = await _held(alertmanager)
        alerts, incidents, actions = await rows.alerts(db), await rows.incidents(db), await rows.outbox(db)
    finally:
        await proxy.stop()
        await db.dispose()

    stored = Counter((a.labels["alertname"], a.labels["instance"]) for a in alerts)
    figures = {
        "alerts sent": len(sent), "alerts stored": len(alerts), "duplicates": sum(n - 1 for n in stored.values()),
        "503s answered": int(outage.answered_503), "failed webhook attempts at Alertmanager":
            int(outage.failed_at_alertmanager), "incidents": len(incidents),
        "time to recover (s)": round(recovery, 1),
    }
    print(f"\ndatabase outage of {OUTAGE:g}s: {figures}")

    assert outage.readiness and set(outage.readiness) == {503}, outage.readiness
    assert outage.answered_503 > 0 and outage.failed_at_alertmanager > 0, figures
    assert outage.answered_200 == 0, "the webhook answered 200 while the database was away"
    assert held == set(stored) and len(held) == len(sent), figures
    assert figures["duplicates"] == 0, figures
    assert sorted(i.title for i in incidents) == sorted(f"{g[0]['labels']['alertname']} in checkout" for g in groups)
    [joined] = [i for i in incidents if i.title.startswith("Storm000")]
    assert sum(1 for a in alerts if a.incident_id == joined.id) == PER_GROUP + 1
    assert all(a.state == "done" for a in actions), Counter(a.state for a in actions)
    assert_each_slack_effect_once(slack, incidents, actions)
    assert "exception was never retrieved" not in bot.logs()  # every failure handled, none lost in a task


async def _without_database(proxy: TcpProxy, alertmanager: Alertmanager, bot: BotProcess,
                            arriving: list[list[dict[str, Any]]]) -> Outage:
    """Cut PostgreSQL for OUTAGE seconds while ``arriving`` alerts reach Alertmanager one
    batch at a time; the proxy is back on when this returns."""
    outage = Outage()
    answered_200 = await _answered_200(bot.url)  # Alertmanager is idle: everything before is delivered
    await proxy.stop()
    down_since = time.monotonic()
    for batch in arriving:
        await alertmanager.post_alerts(batch)
        outage.readiness.append(await _readyz(bot.url))
        await asyncio.sleep(max(0.0, (OUTAGE - 2) / len(arriving) - 0.2))
    await asyncio.sleep(max(0.0, OUTAGE - (time.monotonic() - down_since)))
    outage.readiness.append(await _readyz(bot.url))
    outage.answered_503 = await counter(bot.url, "incident_bot_webhook_deliveries", outcome="unavailable")
    outage.answered_200 = await _answered_200(bot.url) - answered_200
    outage.failed_at_alertmanager = await counter(alertmanager.url, "alertmanager_notifications_failed",
                                                  integration="webhook")
    await proxy.start()
    return outage


async def _stored(db: Database, count: int) -> bool:
    return len(await rows.alerts(db)) >= count


async def _drained(db: Database) -> bool:
    return all(a.state != "pending" for a in await rows.outbox(db))


async def _readyz(url: str) -> int:
    async with httpx.AsyncClient(timeout=10) as client:
        return (await client.get(f"{url}/readyz")).status_code


async def _answered_200(url: str) -> float:
    return sum([await counter(url, "incident_bot_webhook_deliveries", outcome=o) for o in ANSWERED_200])


async def _held(alertmanager: Alertmanager) -> set[tuple[str, str]]:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(f"{alertmanager.url}/api/v2/alerts")
    response.raise_for_status()
    return {(a["labels"]["alertname"], a["labels"]["instance"]) for a in response.json()}
