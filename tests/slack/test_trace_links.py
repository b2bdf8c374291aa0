"""Trace links from alert labels and Prometheus exemplars, and what happens when Prometheus fails."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from bot.adapters.prometheus import expression_from, pick
from storage.database import Database
from tests.slack_emulator import SlackEmulator
from tests.support import rows
from tests.support.bot import WEBHOOK_TOKEN, running_bot
from tests.support.payloads import body, group
from tests.support.slack import SLACK_PLAYBOOKS, eventually, slack_settings
from tests.support.stub_server import stub_server

HOOK = {"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json"}
EXEMPLARS = {"status": "success", "data": [{"seriesLabels": {"__name__": "http_request_duration_seconds_bucket"},
                                             "exemplars": [
    {"labels": {"trace_id": "aaaaaaaaaaaaaaaa1111"}, "value": "0.2", "timestamp": 1600096945.1},
    {"labels": {"trace_id": "bbbbbbbbbbbbbbbb2222"}, "value": "6", "timestamp": 1600096946.2},
    {"labels": {"trace_id": "cccccccccccccccc3333"}, "value": "2.5", "timestamp": 1600096947.3},
    {"labels": {"trace_id": "dddddddddddddddd4444"}, "value": "0.1", "timestamp": 1600096948.4},
]}]}


def test_generator_url_expression_and_slowest_exemplars_first() -> None:
    assert expression_from("http://p:9090/graph?g0.expr=job%3Acheckout_5xx_ratio+%3E+0.05&g0.tab=1") == \
        "job:checkout_5xx_ratio > 0.05"
    assert pick([("a", 0.2, 1.0), ("b", 6.0, 2.0), ("c", 2.5, 3.0), ("b", 6.0, 4.0), ("d", 0.1, 5.0)]) == \
        ["b", "c", "a"]


def traced_playbook(tmp_path: Path) -> Path:
    text = (SLACK_PLAYBOOKS / "incidents.yml").read_text().replace(
        "    storm_guard: {max_incidents: 5, window: 10m}",
        '    trace_url: "https://tempo.example.com/trace/{{ trace_id }}"')
    directory = tmp_path / "playbooks"
    directory.mkdir()
    (directory / "incidents.yml").write_text(text)
    return directory


@pytest.fixture
async def prometheus() -> AsyncIterator[tuple[str, list[dict[str, str]]]]:
    queries: list[dict[str, str]] = []

    async def query_exemplars(request: web.Request) -> web.Response:
        queries.append(dict(request.query))
        return web.json_response(EXEMPLARS)

    async with stub_server(("GET", "/api/v1/query_exemplars", query_exemplars)) as url:
        yield url, queries


async def open_and_wait(bot: str, db: Database, slack: SlackEmulator, extra: dict[str, str]) -> list[str]:
    async with httpx.AsyncClient() as client:
        payload = group(alerts=1, extra_labels=extra)
        assert (await client.post(f"{bot}/alertmanager", content=body(payload), headers=HOOK)).status_code == 200

    async def posted() -> bool:
        incidents = await rows.incidents(db)
        return bool(incidents and incidents[0].channel_id and any(
            m.text.startswith(("*Traces*", "No trace links")) for m in slack.messages(incidents[0].channel_id)))
    await eventually(posted, what="trace links message")
    return [m.text for m in slack.messages(str((await rows.incidents(db))[0].channel_id))]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_trace_links_come_from_labels_and_the_slowest_exemplars(
        database_url: str, slack: SlackEmulator, db: Database, tmp_path: Path,
        prometheus: tuple[str, list[dict[str, str]]]) -> None:
    url, queries = prometheus
    settings = slack_settings(database_url, slack, traced_playbook(tmp_path), prometheus_url=url)
    async with running_bot(settings) as bot:
        texts = await open_and_wait(bot, db, slack, {"trace_id": "0123456789abcdef"})

    [traces] = [t for t in texts if t.startswith("*Traces*")]
    assert traces.splitlines() == [
        "*Traces*",
        "• <https://tempo.example.com/trace/0123456789abcdef|Trace 0123456789abcdef>",
        "• <https://tempo.example.com/trace/bbbbbbbbbbbbbbbb2222|Trace bbbbbbbbbbbbbbbb2222>",
        "• <https://tempo.example.com/trace/cccccccccccccccc3333|Trace cccccccccccccccc3333>",
        "• <https://tempo.example.com/trace/aaaaaaaaaaaaaaaa1111|Trace aaaaaaaaaaaaaaaa1111>",
    ]
    assert queries and queries[0]["query"] == "up == 0"  # the alert's generatorURL expression


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_prometheus_down_still_opens_the_incident_and_says_no_exemplars(
        database_url: str, slack: SlackEmulator, db: Database, tmp_path: Path) -> None:
    settings = slack_settings(database_url, slack, traced_playbook(tmp_path), prometheus_url="http://127.0.0.1:9")
    async with running_bot(settings) as bot:
        texts = await open_and_wait(bot, db, slack, {})
    assert "No trace links: no exemplars were found (Prometheus query failed (ConnectError))." in texts
    assert any(t.startswith("*Links*") for t in texts)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_slow_prometheus_does_not_hold_up_the_incident_channel(
        database_url: str, slack: SlackEmulator, db: Database, tmp_path: Path) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(10)
        return web.json_response(EXEMPLARS)

    async with stub_server(("GET", "/api/v1/query_exemplars", slow)) as url:
        settings = slack_settings(database_url, slack, traced_playbook(tmp_path), prometheus_url=url)
        async with running_bot(settings) as bot:
            async with httpx.AsyncClient() as client:
                await client.post(f"{bot}/alertmanager", content=body(group(alerts=1)), headers=HOOK)

            async def pinned() -> bool:
                incidents = await rows.incidents(db)
                return bool(incidents and incidents[0].channel_id and slack.pins(incidents[0].channel_id))
            await eventually(pinned, timeout=2.5, what="header pinned while Prometheus is still thinking")
            texts = await open_and_wait(bot, db, slack, {})
        assert "No trace links: no exemplars were found (Prometheus did not answer within 3s)." in texts
