"""The bot keeps one HTTP client per peer for its lifetime: many silences and exemplar
lookups travel over one connection, and the connection is closed when the bot stops."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from bot.adapters.alertmanager import AlertmanagerClient
from bot.adapters.prometheus import PrometheusClient
from storage.database import Database
from tests.slack.test_trace_links import EXEMPLARS, HOOK, traced_playbook
from tests.slack_emulator import SlackEmulator
from tests.support import rows
from tests.support.bot import running_bot
from tests.support.payloads import body, group
from tests.support.slack import eventually, slack_settings
from tests.support.stub_server import stub_server

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@dataclass
class Peer:
    """A stub Alertmanager and Prometheus that remembers which TCP connections asked it what."""

    url: str = ""
    requests: list[str] = field(default_factory=list)
    connections: dict[object, asyncio.BaseTransport] = field(default_factory=dict)

    def seen(self, request: web.Request) -> None:
        assert request.transport is not None
        self.connections[request.transport.get_extra_info("peername")] = request.transport
        self.requests.append(f"{request.method} {request.path}")

    def all_closed(self) -> bool:
        return all(transport.is_closing() for transport in self.connections.values())


@asynccontextmanager
async def peer() -> AsyncIterator[Peer]:
    recorder = Peer()
    silences = 0

    async def create_silence(request: web.Request) -> web.Response:
        nonlocal silences
        recorder.seen(request)
        silences += 1
        return web.json_response({"silenceID": f"silence-{silences}"})

    async def expire_silence(request: web.Request) -> web.Response:
        recorder.seen(request)
        return web.Response(status=200)

    async def query_exemplars(request: web.Request) -> web.Response:
        recorder.seen(request)
        return web.json_response(EXEMPLARS)

    async with stub_server(("POST", "/api/v2/silences", create_silence),
                           ("DELETE", "/api/v2/silence/{silence_id}", expire_silence),
                           ("GET", "/api/v1/query_exemplars", query_exemplars)) as url:
        recorder.url = url
        yield recorder


async def test_many_silences_and_exemplar_lookups_reuse_one_connection_per_client() -> None:
    async with peer() as stub:
        async with AlertmanagerClient(stub.url) as alertmanager:
            for _ in range(10):
                silence = await alertmanager.create_silence({"service": "checkout"}, NOW, NOW + timedelta(hours=1),
                                                            "UBOB", "flapping")
                await alertmanager.expire_silence(silence)
            assert len(stub.requests) == 20
            assert len(stub.connections) == 1
        await eventually(stub.all_closed, timeout=5, what="Alertmanager connection closed")

    async with peer() as stub:
        async with PrometheusClient(stub.url) as prometheus:
            for _ in range(10):
                assert (await prometheus.exemplar_trace_ids("up == 0", NOW)).trace_ids
            assert len(stub.connections) == 1
        await eventually(stub.all_closed, timeout=5, what="Prometheus connection closed")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_running_bot_reuses_one_connection_per_peer_and_closes_it_when_it_stops(
        database_url: str, slack: SlackEmulator, db: Database, tmp_path: Path) -> None:
    async with peer() as alertmanager, peer() as prometheus:
        settings = slack_settings(database_url, slack, traced_playbook(tmp_path), alertmanager_url=alertmanager.url,
                                  prometheus_url=prometheus.url)
        async with running_bot(settings) as bot:
            async with httpx.AsyncClient() as client:  # five alerts: five exemplar lookups, one after another
                answer = await client.post(f"{bot}/alertmanager", content=body(group(alerts=5)), headers=HOOK)
                assert answer.status_code == 200

            async def traced() -> bool:
                incidents = await rows.incidents(db)
                return bool(incidents and incidents[0].channel_id and any(
                    m.text.startswith("*Traces*") for m in slack.messages(incidents[0].channel_id)))
            await eventually(traced, what="trace links posted")
            channel = str((await rows.incidents(db))[0].channel_id)
            for _ in range(3):
                silenced = await slack.slash_command(f"{bot}/slack/events", text="silence 1h", user_id="UBOB",
                                                     channel_id=channel)
                assert silenced.json()["text"].startswith("Silenced until"), silenced.text
            off = await slack.slash_command(f"{bot}/slack/events", text="silence off", user_id="UBOB",
                                            channel_id=channel)
            assert off.json()["text"] == "Expired 3 silences.", off.text

            assert prometheus.requests == ["GET /api/v1/query_exemplars"] * 5
            assert alertmanager.requests.count("POST /api/v2/silences") == 3
            assert len([r for r in alertmanager.requests if r.startswith("DELETE /api/v2/silence/")]) == 3
            assert (len(alertmanager.connections), len(prometheus.connections)) == (1, 1)
            assert not alertmanager.all_closed() and not prometheus.all_closed()
        await eventually(lambda: alertmanager.all_closed() and prometheus.all_closed(), timeout=5,
                         what="peer connections closed when the bot stopped")
