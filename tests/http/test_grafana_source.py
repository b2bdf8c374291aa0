"""Grafana Alerting as a source: its webhook contact point's documented payloads (version 1)
open and resolve an incident through the real bot, with bearer or basic auth like
Alertmanager's, and its dashboard, panel and silence links are posted in the channel."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from bot.domain.notification import PayloadError, parse_webhook
from storage.database import Database
from tests.conftest import FIXTURES
from tests.slack_emulator import SlackEmulator
from tests.support import rows
from tests.support.bot import WEBHOOK_TOKEN, running_bot
from tests.support.slack import eventually, slack_settings

GRAFANA = FIXTURES / "grafana"
PLAYBOOKS = FIXTURES / "playbooks" / "grafana"


def payload(name: str) -> bytes:
    return (GRAFANA / f"{name}.json").read_bytes()


def test_the_documented_payload_is_accepted_as_grafana_sends_it() -> None:
    notification = parse_webhook(payload("firing"))
    assert notification.status == "firing" and notification.group_key == "{}:{}"
    assert [a.fingerprint for a in notification.alerts] == ["c6eadffa33fcdf37", "bc97ff14869b13e3"]
    first = notification.alerts[0]
    assert first.silence_url is not None and first.silence_url.startswith("https://play.grafana.org/alerting/silence/")
    assert first.dashboard_url is None and first.panel_url is None  # sent as empty strings


def test_alertmanager_payloads_still_need_what_they_needed() -> None:
    body = json.loads(payload("firing"))
    for version in ("3", "2", 4):
        with pytest.raises(PayloadError, match='version: must be "4"'):
            parse_webhook(json.dumps({**body, "version": version}))
    with pytest.raises(PayloadError, match="groupKey: is required"):
        parse_webhook(json.dumps({k: v for k, v in body.items() if k != "groupKey"}))


async def test_grafana_firing_then_resolved_opens_and_resolves_an_incident_with_its_links(
        database_url: str, db: Database, slack: SlackEmulator) -> None:
    settings = slack_settings(database_url, slack, PLAYBOOKS, scheduler_tick_seconds=0.2)
    headers = {"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json"}
    async with running_bot(settings) as bot, httpx.AsyncClient() as client:
        response = await client.post(f"{bot}/alertmanager", content=payload("firing-with-links"), headers=headers)
        assert response.status_code == 200, response.text

        async def channel_with_links() -> bool:
            incidents = await rows.incidents(db)
            return bool(incidents and incidents[0].channel_id and any(
                m.text.startswith("*Links*") for m in slack.messages(incidents[0].channel_id)))
        await eventually(channel_with_links, what="the incident channel with its links")
        [incident] = await rows.incidents(db)
        links = next(m.text for m in slack.messages(incident.channel_id) if m.text.startswith("*Links*"))
        assert "https://play.grafana.org/d/memory-0?orgId=1|Grafana dashboard" in links
        assert "viewPanel=2|Grafana panel" in links
        assert "https://play.grafana.org/alerting/silence/new?alertmanager=grafana" in links and "Silence in Grafana" in links

        response = await client.post(f"{bot}/alertmanager", content=payload("resolved"), headers=headers)
        assert response.status_code == 200, response.text

        async def resolved() -> bool:
            return (await rows.incidents(db))[0].status == "resolved"
        await eventually(resolved, what="the incident resolved automatically")


async def test_grafana_with_basic_auth(database_url: str, db: Database, slack: SlackEmulator) -> None:
    settings = slack_settings(database_url, slack, PLAYBOOKS, alertmanager_webhook_token=None,
                              alertmanager_webhook_user="grafana", alertmanager_webhook_password="s3cret-basic")
    good = base64.b64encode(b"grafana:s3cret-basic").decode()
    bad = base64.b64encode(b"grafana:wrong").decode()
    async with running_bot(settings) as bot, httpx.AsyncClient() as client:
        refused = await client.post(f"{bot}/alertmanager", content=payload("firing"),
                                    headers={"Authorization": f"Basic {bad}", "Content-Type": "application/json"})
        assert refused.status_code == 401
        accepted = await client.post(f"{bot}/alertmanager", content=payload("firing"),
                                     headers={"Authorization": f"Basic {good}", "Content-Type": "application/json"})
        assert accepted.status_code == 200, accepted.text
    assert len(await rows.incidents(db)) == 1
