"""Timers fire when they fall due, not at the scheduler's next tick (issue 18).

The real bot in this process, on the real clock, against the Slack emulator, with a tick of a
minute: a timer due in two seconds must reach Slack long before a minute has passed, whether a
commit of this bot scheduled it (the webhook that opened the incident, an escalation) or it
was already pending in the database when the bot started.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx

from bot.domain.notification import parse_webhook
from bot.incident.ingest import Ingestor
from bot.playbook import load_playbooks
from storage import timers
from storage.database import Database
from storage.models import Timer
from tests.slack_emulator import SlackEmulator
from tests.support import rows
from tests.support.bot import WEBHOOK_TOKEN, running_bot
from tests.support.payloads import body, group
from tests.support.slack import eventually, slack_settings

TICK = 60.0  # the longest SCHEDULER_TICK_SECONDS allows: no test here may wait for one
WITHIN = 15.0  # seconds: a timer due in two seconds, delivered with time to spare on a busy machine

# A rotation that has not started yet, so UALICE is the first commander and UBOB the next.
PLAYBOOK = """\
name: incidents
severities:
  - {name: sev1, description: critical, update_every: 3s, ack_timeout: 2s}
rotations:
  primary: {users: [UALICE, UBOB, UCAROL], start: "2099-01-05T09:00", period: 1w, timezone: UTC}
routes:
  - name: critical
    matchers: ['severity="critical"']
    severity: {default: sev1}
    commander: {rotation: primary}
  - name: rest
    auto_declare: false
    severity: {default: sev1}
"""


def playbooks(tmp_path: Path) -> Path:
    directory = tmp_path / "playbooks"
    directory.mkdir()
    (directory / "incidents.yml").write_text(PLAYBOOK)
    return directory


def said(slack: SlackEmulator, channel: str | None, words: str) -> int:
    return 0 if channel is None else sum(1 for m in slack.messages(channel) if words in m.text)


async def test_an_acknowledgement_timeout_of_seconds_escalates_twice_although_the_tick_is_a_minute(
        database_url: str, slack: SlackEmulator, db: Database, tmp_path: Path) -> None:
    settings = slack_settings(database_url, slack, playbooks(tmp_path), scheduler_tick_seconds=TICK)
    async with running_bot(settings) as url:
        await _post(url, body(group("HighErrorRate", alerts=1, start=datetime.now(UTC))))
        [opened] = await rows.incidents(db)

        async def escalated_twice() -> bool:
            incident = (await rows.incidents(db))[0]
            return (said(slack, incident.channel_id, "<@UALICE> did not acknowledge") == 1
                    and said(slack, incident.channel_id, "<@UBOB> did not acknowledge") == 1)
        # The webhook's commit scheduled the first timeout, the escalation's commit the second.
        await eventually(escalated_twice, timeout=WITHIN, what="two escalations, each at its timeout")
    assert (await rows.incidents(db))[0].commander == "UCAROL"
    assert opened.commander == "UALICE"


async def test_a_reminder_pending_when_the_bot_starts_is_posted_at_its_due_time_not_a_tick_later(
        database_url: str, slack: SlackEmulator, db: Database, tmp_path: Path) -> None:
    directory = playbooks(tmp_path)
    loaded = load_playbooks(directory)
    # Opened by another writer (a replica, say): nothing tells this bot of the timers but the database.
    payload = body(group("DiskFull", alerts=1, start=datetime.now(UTC)))
    await Ingestor(db, lambda: loaded, lambda: datetime.now(UTC)).ingest(payload, parse_webhook(payload))
    [opened] = await rows.incidents(db)
    async with db.reading() as session:
        due = await session.run_sync(lambda s: s.query(Timer.kind).filter(Timer.state == "pending").all())
    assert {kind for (kind,) in due} == {"update_due", "ack_timeout"}

    settings = slack_settings(database_url, slack, directory, scheduler_tick_seconds=TICK)
    async with running_bot(settings) as _:
        async def reminded() -> bool:
            incident = (await rows.incidents(db))[0]
            return said(slack, incident.channel_id, "a stakeholder update is due") == 1
        await eventually(reminded, timeout=WITHIN, what="the reminder, at its due time")
    assert opened.id == (await rows.incidents(db))[0].id
    assert await db.read(timers.next_due) is not None  # the overdue escalation the reminder armed


async def _post(url: str, payload: bytes) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(f"{url}/alertmanager", content=payload,
                                     headers={"Authorization": f"Bearer {WEBHOOK_TOKEN}",
                                              "Content-Type": "application/json"})
    assert response.status_code == 200, response.text
