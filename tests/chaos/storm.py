"""Shared by the chaos scenarios: the bot process wired to the emulator, an alert storm
for Alertmanager's API, a SIGTERM that keeps the emulator serving, and the
"each Slack effect happened once" checks."""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from storage.models import Incident, OutboxAction
from tests.slack_emulator import SlackEmulator
from tests.support.bot import WEBHOOK_TOKEN
from tests.support.process import BotProcess
from tests.support.slack import RATE_SCALE, SLACK_TOKEN


def bot_process(database_url: str, slack: SlackEmulator, playbooks: Path, workdir: Path, **extra: str) -> BotProcess:
    """``incident-bot serve`` against this database and the emulator; it keeps its port across restarts."""
    return BotProcess({
        "DATABASE_URL": database_url, "PLAYBOOKS_DIR": str(playbooks), "ALERTMANAGER_WEBHOOK_TOKEN": WEBHOOK_TOKEN,
        "SLACK_BOT_TOKEN": SLACK_TOKEN, "SLACK_API_URL": slack.api_url, "SLACK_RATE_LIMIT_SCALE": str(RATE_SCALE),
        "LOG_FORMAT": "console", **extra,
    }, workdir)


def storm_alerts(groups: int, per_group: int, *, start: datetime | None = None) -> list[list[dict[str, Any]]]:
    """Alerts for Alertmanager's ``POST /api/v2/alerts``, one list per group (``group_by: [alertname, service]``).

    Every alert gets its own ``startsAt`` in whole milliseconds (the precision of
    Alertmanager's API), so what Alertmanager holds and what the bot stores compare exactly.
    """
    start = start or datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    batches = []
    for g in range(groups):
        batches.append([{
            "labels": {"alertname": f"Storm{g:03d}", "service": "checkout", "severity": "critical",
                       "instance": f"10.1.{g % 250}.{i}:8080"},
            "annotations": {"summary": f"Storm{g:03d} on instance {i}",
                            "runbook_url": "https://runbooks.example.com/storm"},
            "generatorURL": "http://prometheus.example.com:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1",
            "startsAt": (start + timedelta(milliseconds=g * per_group + i)).isoformat().replace("+00:00", "Z"),
        } for i in range(per_group)])
    return batches


async def terminate(bot: BotProcess, within: float) -> tuple[int | None, float]:
    """SIGTERM, as a process manager sends it; (exit code or None if still running, seconds taken).

    Waits without blocking the event loop: the emulator must keep answering the Slack
    calls the bot finishes while it shuts down.
    """
    assert bot.process is not None
    started = time.monotonic()
    bot.process.send_signal(signal.SIGTERM)
    while bot.process.poll() is None and time.monotonic() - started < within:
        await asyncio.sleep(0.05)
    return bot.process.poll(), time.monotonic() - started


def duplicated_messages(slack: SlackEmulator, channel_ids: Sequence[str]) -> list[tuple[str, int]]:
    """(channel, outbox action id) of every action that was posted more than once."""
    found = []
    for channel in channel_ids:
        ids = Counter(m.metadata["event_payload"]["action"] for m in slack.messages(channel) if m.metadata)
        found += [(channel, action) for action, n in ids.items() if n > 1]
    return found


def assert_each_slack_effect_once(slack: SlackEmulator, incidents: Sequence[Incident],
                                  actions: Sequence[OutboxAction]) -> None:
    """One channel per incident, created once; no outbox action posted twice, none
    missing; one header, pinned once; no bookmark twice."""
    created = [c.args["name"] for c in slack.calls_to("conversations.create") if c.ok]
    assert sorted(created) == sorted(i.channel_name for i in incidents), f"channels created: {created}"
    channels = [str(i.channel_id) for i in incidents]
    assert None not in [i.channel_id for i in incidents] and len(set(channels)) == len(incidents)
    assert duplicated_messages(slack, channels) == []
    posted = {m.metadata["event_payload"]["action"] for c in channels for m in slack.messages(c) if m.metadata}
    for action in actions:
        if action.kind in ("message.header", "message.post") and action.result and "ts" in action.result:
            assert action.id in posted, f"action {action.id} ({action.kind}) is done but its message is missing"
    for incident in incidents:
        channel = str(incident.channel_id)
        assert [p.ts for p in slack.pins(channel)] == [incident.header_ts], f"pins of incident {incident.id}"
        headers = [m for m in slack.messages(channel) if m.blocks and m.blocks[0].get("type") == "header"]
        assert len(headers) == 1, f"incident {incident.id} has {len(headers)} headers"
        links = [b.link for b in slack.bookmarks(channel)]
        assert len(links) == len(set(links)), f"a bookmark was added twice in incident {incident.id}: {links}"
