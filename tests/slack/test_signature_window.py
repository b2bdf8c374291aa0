"""POST /slack/events takes a correctly signed request only within Slack's five-minute
window, in either direction; outside it, 401 and nothing is recorded. (Bad, stale and
missing signatures in general: tests/slack/test_commanding.py.)"""

from __future__ import annotations

import time
from urllib.parse import urlencode

import httpx
import pytest

from storage.database import Database
from tests.slack_emulator import SlackEmulator
from tests.slack_emulator.payloads import slash_command_fields
from tests.support import rows
from tests.support.slack import eventually


async def declare_signed_at(slack: SlackEmulator, bot_url: str, title: str, age_seconds: int) -> httpx.Response:
    """``/incident declare <title>``, correctly signed with a timestamp ``age_seconds`` in the past."""
    general = slack.channel_by_name("general")
    assert general is not None
    fields = slash_command_fields(slack.workspace, slack.responses_store, command="/incident",
                                  text=f"declare {title}", user_id="UALICE", channel_id=general.id, extra={})
    body = urlencode(fields).encode()
    timestamp = int(time.time()) - age_seconds
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": str(timestamp),
               "X-Slack-Signature": slack.sign(body, timestamp)}
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.post(f"{bot_url}/slack/events", content=body, headers=headers)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_valid_signature_counts_only_within_five_minutes_either_way(
        slack_bot: str, slack: SlackEmulator, db: Database) -> None:
    before = await rows.count_rows(db)

    six_minutes_old = await declare_signed_at(slack, slack_bot, "Replayed", age_seconds=6 * 60)
    six_minutes_ahead = await declare_signed_at(slack, slack_bot, "From the future", age_seconds=-6 * 60)

    assert (six_minutes_old.status_code, six_minutes_ahead.status_code) == (401, 401)
    assert await rows.count_rows(db) == before

    four_minutes_old = await declare_signed_at(slack, slack_bot, "Slow network", age_seconds=4 * 60)

    assert four_minutes_old.status_code == 200

    async def declared() -> bool:
        return [i.title for i in await rows.incidents(db)] == ["Slow network"]
    await eventually(declared, what="the incident declared by the request inside the window")
