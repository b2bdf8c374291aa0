"""/incident silence against the real Alertmanager, and its failures in one line."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from storage.database import Database
from tests.slack_emulator import SlackEmulator
from tests.support import rows
from tests.support.alertmanager import running_alertmanager, webhook_config
from tests.support.bot import WEBHOOK_TOKEN, running_bot
from tests.support.payloads import captured
from tests.support.slack import eventually, slack_settings
from tests.support.stub_server import stub_server

pytestmark = pytest.mark.integration
HOOK = {"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json"}


async def open_incident(bot: str, db: Database) -> str:
    async with httpx.AsyncClient() as client:
        assert (await client.post(f"{bot}/alertmanager", content=captured("1-firing"), headers=HOOK)).status_code == 200

    async def channel() -> bool:
        incidents = await rows.incidents(db)
        return bool(incidents and incidents[0].channel_id and incidents[0].header_ts)
    await eventually(channel, what="incident channel")
    return str((await rows.incidents(db))[0].channel_id)


async def slash(slack: SlackEmulator, bot: str, text: str, channel: str, user: str = "UBOB") -> httpx.Response:
    return await slack.slash_command(f"{bot}/slack/events", text=text, user_id=user, channel_id=channel)


async def silences(alertmanager_url: str) -> list[dict[str, object]]:
    async with httpx.AsyncClient() as client:
        return list((await client.get(f"{alertmanager_url}/api/v2/silences")).json())


async def test_silence_creates_an_alertmanager_silence_that_off_and_resolve_expire(
        database_url: str, slack: SlackEmulator, db: Database, tmp_path: Path) -> None:
    async with running_alertmanager(tmp_path / "am", webhook_config("http://127.0.0.1:9/unused")) as am:
        settings = slack_settings(database_url, slack, alertmanager_url=am.url)
        async with running_bot(settings) as bot:
            channel = await open_incident(bot, db)
            reply = await slash(slack, bot, "silence 1h flapping disk", channel)
            assert reply.json()["text"].startswith("Silenced until")
            [created] = await silences(am.url)
            assert created["status"] == {"state": "active"}
            assert created["comment"] == "incident #1: flapping disk"
            assert {(m["name"], m["value"]) for m in created["matchers"]} == {  # type: ignore[union-attr]
                ("alertname", "HighErrorRate"), ("service", "checkout")}

            async def header_shows_silence() -> bool:
                return "alerts silenced until" in json.dumps(slack.messages(channel)[0].blocks)
            await eventually(header_shows_silence, what="header shows the silence")

            assert (await slash(slack, bot, "silence off", channel)).json()["text"] == "Expired 1 silence."
            assert [s["status"] for s in await silences(am.url)] == [{"state": "expired"}]

            await slash(slack, bot, "silence 30m", channel)
            commander = str((await rows.incidents(db))[0].commander)  # the rotation's on-call of this week
            resolved = (await slash(slack, bot, "resolve", channel, user=commander)).json()["text"]
            assert resolved.startswith("Resolved.") and "Expired 1 silence." in resolved
            assert sorted(s["status"]["state"] for s in await silences(am.url)) == ["expired", "expired"]  # type: ignore[index]
    kinds = await rows.event_kinds(db, 1)
    assert kinds.count("silence.created") == 2 and kinds.count("silence.expired") == 2


@pytest.fixture
async def broken_alertmanager() -> AsyncIterator[tuple[str, list[str]]]:
    """Answers 400 to silences, or sleeps 10 s when asked for /slow."""
    seen: list[str] = []

    async def refuse(request: web.Request) -> web.Response:
        seen.append(request.path)
        return web.Response(status=400, text='"silence invalid: end time must not be in the past"')

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(10)
        return web.json_response({"silenceID": "late"})

    async with stub_server(("POST", "/api/v2/silences", refuse), ("POST", "/slow/api/v2/silences", slow)) as url:
        yield url, seen


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_alertmanager_errors_reach_the_commander_in_one_line(
        database_url: str, slack: SlackEmulator, db: Database, broken_alertmanager: tuple[str, list[str]]) -> None:
    url, seen = broken_alertmanager
    async with running_bot(slack_settings(database_url, slack, alertmanager_url=url)) as bot:
        channel = await open_incident(bot, db)
        refused = (await slash(slack, bot, "silence 1h", channel)).json()["text"]
    assert refused == ('Nothing was silenced: Alertmanager answered 400: "silence invalid: end time must not be '
                       'in the past"')
    assert seen == ["/api/v2/silences"]
    assert "silence.created" not in await rows.event_kinds(db, 1)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_alertmanager_down_or_slow_gets_a_prompt_ack_and_a_clear_line(
        database_url: str, slack: SlackEmulator, db: Database, broken_alertmanager: tuple[str, list[str]]) -> None:
    url, _ = broken_alertmanager
    async with running_bot(slack_settings(database_url, slack, alertmanager_url=f"{url}/slow")) as bot:
        channel = await open_incident(bot, db)
        started = time.monotonic()
        ack = await slash(slack, bot, "silence 1h", channel)
        acked_in = time.monotonic() - started
        assert ack.json()["text"] == "Working on it…"
        assert acked_in < 3.0  # Slack's deadline; the slow Alertmanager is answered later

        async def answered() -> bool:
            return any("did not answer within 5s" in str(p.get("text")) for p in slack.responses())
        await eventually(answered, timeout=15, what="the late answer through response_url")
        # Meanwhile other commands were not held up.
        assert (await slash(slack, bot, "note still waiting on silence", channel)).json()["text"] == \
            "Noted on the timeline."
    async with running_bot(slack_settings(database_url, slack, alertmanager_url="http://127.0.0.1:9")) as bot2:
        channel = str((await rows.incidents(db))[0].channel_id)
        down = (await slash(slack, bot2, "silence 1h", channel)).json()["text"]
    assert down == "Nothing was silenced: cannot reach Alertmanager (ConnectError)"
