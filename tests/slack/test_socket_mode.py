"""With SLACK_APP_TOKEN set, Slack's requests arrive over Socket Mode instead of HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from storage.database import Database
from tests.slack_emulator import SlackEmulator
from tests.support import rows
from tests.support.bot import WEBHOOK_TOKEN, running_bot
from tests.support.payloads import captured
from tests.support.slack import RATE_SCALE, SIGNING_SECRET, SLACK_TOKEN, USERS, eventually, slack_settings

APP_TOKEN = "xapp-1-A0EMULATOR-socket-mode-7d2e"


@pytest.fixture
async def socket_slack() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator(token=SLACK_TOKEN, signing_secret=SIGNING_SECRET, users=USERS,
                             rate_limit_scale=RATE_SCALE, app_token=APP_TOKEN) as emulator:
        yield emulator


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_slash_commands_over_socket_mode_are_acknowledged_and_act(
        database_url: str, socket_slack: SlackEmulator, db: Database) -> None:
    settings = slack_settings(database_url, socket_slack, slack_app_token=APP_TOKEN)
    async with running_bot(settings) as bot:
        async with httpx.AsyncClient() as client:
            await client.post(f"{bot}/alertmanager", content=captured("1-firing"),
                              headers={"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json"})

        async def opened() -> bool:
            incidents = await rows.incidents(db)
            return bool(incidents and incidents[0].header_ts)
        await eventually(opened, what="incident channel")
        [incident] = await rows.incidents(db)

        help_ack = await socket_slack.socket_slash_command(text="help", user_id="UBOB")
        note_ack = await socket_slack.socket_slash_command(text="note over the socket", user_id="UBOB",
                                                           channel_id=incident.channel_id)

    assert [c.method for c in socket_slack.calls_to("apps.connections.open") if c.ok] == ["apps.connections.open"]
    assert "`/incident declare &lt;title&gt; [severity]`" in help_ack["payload"]["text"]
    assert note_ack["payload"]["text"] == "Noted on the timeline."
    assert "note.added" in await rows.event_kinds(db, incident.id)
