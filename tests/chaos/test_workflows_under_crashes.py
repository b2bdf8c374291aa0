"""Workflow actions once in effect through crashes and replicas: ``incident-bot serve``
SIGKILLed while PagerDuty, Grafana and the webhook receiver each hold a request the bot
sent, then restarted; and two replicas on one PostgreSQL both receiving the alert group, the
commander's acknowledgement and the resolve. Each page, annotation, webhook and post once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from storage.database import Database
from tests.chaos.replicas import running
from tests.chaos.storm import bot_process
from tests.slack_emulator import SlackEmulator
from tests.support import rows
from tests.support.bot import WEBHOOK_TOKEN
from tests.support.payloads import captured
from tests.support.slack import SIGNING_SECRET, eventually
from tests.workflows.support import GRAFANA_TOKEN, Peers, running_peers, workflow_playbooks

pytestmark = pytest.mark.integration

JSON = {"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json"}
HOLD = 1.5  # seconds each fake holds a request: the bot is killed meanwhile


@pytest.fixture
async def peers() -> AsyncIterator[Peers]:
    async with running_peers() as running_fakes:
        yield running_fakes


def environment(peers: Peers) -> dict[str, str]:
    return {"PAGERDUTY_EVENTS_URL": peers.pagerduty.url, "GRAFANA_URL": peers.grafana.url,
            "GRAFANA_TOKEN": GRAFANA_TOKEN, "PUBLIC_URL": "https://incident-bot.example.com",
            "OUTBOX_LEASE_SECONDS": "2", "SLACK_SIGNING_SECRET": SIGNING_SECRET, **peers.environment()}


async def drained(db: Database) -> None:
    async def done() -> bool:
        actions = await rows.outbox(db)
        return bool(actions) and all(o.state != "pending" for o in actions)
    await eventually(done, timeout=90, what="every action finished")


def assert_opened_once(peers: Peers, slack: SlackEmulator) -> None:
    [alert] = peers.pagerduty.alerts.values()
    assert alert.triggers == 1
    assert len(peers.grafana.annotations) == 1, peers.grafana.annotations
    assert len(set(peers.hooks.deliveries())) == 1, peers.hooks.deliveries()
    leads = slack.channel_by_name("payments-leads")
    assert leads is not None and len(slack.messages(leads.id)) == 1


async def test_sigkill_while_each_service_holds_a_request_sends_each_action_once(
        database_url: str, db: Database, slack: SlackEmulator, peers: Peers, tmp_path: Path) -> None:
    slack.seed_channel("payments-leads", members=["UALICE"])
    slack.add_usergroup("SLEADS", ["UBOB"])
    slack.add_user("UGHOST", "ghost")
    for fake in (peers.pagerduty, peers.grafana, peers.hooks):
        fake.hold = HOLD
    bot = bot_process(database_url, slack, workflow_playbooks(tmp_path, peers.hooks.url), tmp_path,
                      **environment(peers))
    received: list[tuple[str, Callable[[], bool]]] = [
        ("PagerDuty", lambda: peers.pagerduty.received >= 1),
        ("Grafana", lambda: ("POST", "/api/annotations") in peers.grafana.requests),
        ("the webhook receiver", lambda: peers.hooks.received >= 1),
    ]
    async with running(bot), httpx.AsyncClient() as client:
        assert (await client.post(f"{bot.url}/alertmanager", content=captured("1-firing"), headers=JSON)).status_code == 200
        for service, arrived in received:
            await eventually(arrived, timeout=60, what=f"a request held by {service}")
            bot.kill()  # the request was sent; whether it took effect, the bot never learns
            await bot.start()
        for fake in (peers.pagerduty, peers.grafana, peers.hooks):
            fake.hold = 0
        await drained(db)
    assert_opened_once(peers, slack)
    assert peers.pagerduty.received >= 2 and peers.hooks.received >= 2  # each was sent again after its kill


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_two_replicas_send_each_workflow_action_once(
        database_url: str, db: Database, slack: SlackEmulator, peers: Peers, tmp_path: Path) -> None:
    slack.seed_channel("payments-leads", members=["UALICE"])
    slack.add_usergroup("SLEADS", ["UBOB"])
    slack.add_user("UGHOST", "ghost")
    playbooks = workflow_playbooks(tmp_path, peers.hooks.url)
    first = bot_process(database_url, slack, playbooks, tmp_path / "a", **environment(peers))
    second = bot_process(database_url, slack, playbooks, tmp_path / "b", **environment(peers))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    async with running(first, second), httpx.AsyncClient() as client:
        for bot in (first, second):  # Alertmanager fanned out to both
            assert (await client.post(f"{bot.url}/alertmanager", content=captured("1-firing"),
                                      headers=JSON)).status_code == 200
        await drained(db)
        [incident] = await rows.incidents(db)
        for bot, text in ((first, "note looking"), (second, "resolve rolled back")):  # any command acknowledges
            response = await slack.slash_command(f"{bot.url}/slack/events", text=text, user_id=str(incident.commander),
                                                 channel_id=str(incident.channel_id))
            assert response.status_code == 200, response.text
        [alert] = peers.pagerduty.alerts.values()
        await eventually(lambda: alert.status == "resolved", timeout=60, what="the page resolved")
        await drained(db)
    assert_opened_once(peers, slack)
    assert alert.history == ["trigger", "acknowledge", "resolve"]
    [annotation] = peers.grafana.annotations.values()
    assert len(annotation.patches) == 1 and annotation.time_end > annotation.time
