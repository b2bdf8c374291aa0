"""Slack failing, slow and rate limiting: every incident still arrives complete, in order, once."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import httpx

from storage.database import Database
from tests.slack_emulator import SlackEmulator
from tests.support import rows
from tests.support.bot import WEBHOOK_TOKEN, running_bot
from tests.support.payloads import body, group
from tests.support.slack import SLACK_PLAYBOOKS, eventually, slack_settings

JSON = {"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json"}
EXPECTED_ORDER = ["conversations.setTopic", "conversations.setPurpose", "conversations.invite",
                  "chat.postMessage", "pins.add", "chat.postMessage", "bookmarks.add", "bookmarks.add"]


def playbook_without_storm_guard(tmp_path: Path) -> Path:
    text = (SLACK_PLAYBOOKS / "incidents.yml").read_text()
    text = text.replace("responders: [UDAVE, UGHOST]", "responders: []").replace(
        "storm_guard: {max_incidents: 5, window: 10m}", "")
    directory = tmp_path / "playbooks"
    directory.mkdir()
    (directory / "incidents.yml").write_text(text)
    return directory


def successful_calls_by_channel(slack: SlackEmulator) -> dict[str, list[str]]:
    by_channel: dict[str, list[str]] = {}
    for call in slack.calls:
        if not call.ok:
            continue
        channel = call.args.get("channel") or call.args.get("channel_id")
        if isinstance(channel, str) and channel.startswith("C") and call.method not in ("conversations.history",
                                                                                        "bookmarks.list"):
            by_channel.setdefault(channel, []).append(call.method)
    return by_channel


async def test_fifty_incidents_arrive_complete_in_order_and_once_despite_500s_429s_and_latency(
        database_url: str, slack: SlackEmulator, db: Database, tmp_path: Path) -> None:
    slack.faults.random_faults(rate=0.3, statuses=(500, 429), seed=7)
    slack.faults.delay(seconds=0.02)
    settings = slack_settings(database_url, slack, playbook_without_storm_guard(tmp_path), outbox_concurrency=16)
    async with running_bot(settings) as url:
        async with httpx.AsyncClient(timeout=60) as client:
            responses = await asyncio.gather(*(
                client.post(f"{url}/alertmanager", content=body(group(alertname=f"Svc{i}Errors", alerts=1)),
                            headers=JSON) for i in range(50)))
        assert all(r.status_code == 200 for r in responses)

        async def delivered() -> bool:
            return all(o.state != "pending" for o in await rows.outbox(db))
        await eventually(delivered, timeout=120, what="all 50 incidents delivered")

    outbox = await rows.outbox(db)
    assert Counter(o.state for o in outbox) == {"done": 50 * 9}
    injected = [c for c in slack.calls if c.http_status in (429, 500)]
    assert len(injected) > 50  # the faults really happened
    incidents = await rows.incidents(db)
    assert len({i.channel_id for i in incidents}) == 50
    calls = successful_calls_by_channel(slack)
    for incident in incidents:
        channel = slack.channel(incident.channel_id)
        messages = slack.messages(channel.id)
        assert len(messages) == 2, f"{incident.channel_name}: {[m.text for m in messages]}"  # header + links
        assert [p.ts for p in slack.pins(channel.id)] == [incident.header_ts]
        assert len(slack.bookmarks(channel.id)) == 2
        assert calls[channel.id] == EXPECTED_ORDER
    assert len(slack.calls_to("conversations.create")) - sum(
        1 for c in slack.calls_to("conversations.create") if not c.ok) == 50
