"""Two bot replicas on one PostgreSQL. Alertmanager delivers every group of a storm to both at
once, commanders' slash commands land on either, and reminders fall due while both poll the
same timers: one incident per group, each Slack action once, each reminder once."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage.database import Database
from storage.models import Incident, Timer
from tests.chaos.replicas import counter, fanout_config, playbook, running
from tests.chaos.storm import assert_each_slack_effect_once, bot_process, storm_alerts
from tests.slack_emulator import SlackEmulator
from tests.support import rows
from tests.support.alertmanager import running_alertmanager
from tests.support.bot import WEBHOOK_TOKEN
from tests.support.slack import SIGNING_SECRET, eventually

pytestmark = pytest.mark.integration

GROUPS = 30
# With update_every 4s and ack_timeout 3s, and nobody acknowledging, each incident gets: the
# update reminder (at 4 s) and its overdue escalation (8 s); UALICE's silence hands command to
# UBOB (3 s), UBOB's to UCAROL (6 s), and UCAROL's ends the rotation (9 s).
REMINDERS = {
    "update reminder": ":alarm_clock:",
    "overdue update": "the stakeholder update is overdue",
    "escalation": "you are now the commander",
    "rotation exhausted": "nobody is left in the rotation",
}
EXPECTED_PER_INCIDENT = {"update reminder": 1, "overdue update": 1, "escalation": 2, "rotation exhausted": 1}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_two_replicas_open_one_incident_per_group_and_deliver_each_action_and_reminder_once(
        database_url: str, slack: SlackEmulator, db: Database, tmp_path: Path) -> None:
    token_file = tmp_path / "webhook-token"
    token_file.write_text(WEBHOOK_TOKEN + "\n")
    playbooks = playbook(tmp_path / "playbooks", update_every="4s", ack_timeout="3s")
    replicas = []
    for n in (1, 2):
        (tmp_path / f"replica-{n}").mkdir()
        replicas.append(bot_process(database_url, slack, playbooks, tmp_path / f"replica-{n}",
                                    SLACK_SIGNING_SECRET=SIGNING_SECRET, SCHEDULER_TICK_SECONDS="0.5"))
    groups = storm_alerts(GROUPS, 2)
    started = time.monotonic()
    async with running(*replicas), \
            running_alertmanager(tmp_path / "am", fanout_config([r.url for r in replicas], token_file)) as am:
        await am.post_alerts([a for g in groups for a in g])
        await eventually(lambda: _channels_open(db), timeout=40, what=f"{GROUPS} incident channels")
        replies = await _commands_on_both(slack, [r.url for r in replicas], await rows.incidents(db))
        await eventually(lambda: _quiet(db), timeout=40, what="every reminder fired and the outbox drained")
        answered = [int(await counter(r.url, "incident_bot_webhook_deliveries")) for r in replicas]
        duplicates = [int(await counter(r.url, "incident_bot_webhook_deliveries", outcome="duplicate"))
                      for r in replicas]
        commands = [int(await counter(r.url, "incident_bot_http_requests", endpoint="/slack/events"))
                    for r in replicas]
    incidents, actions, groups_stored = await rows.incidents(db), await rows.outbox(db), await rows.groups(db)
    reminders = {incident.id: _reminders(slack, str(incident.channel_id)) for incident in incidents}
    figures = {"webhooks answered per replica": answered, "duplicate deliveries answered": sum(duplicates),
               "slash commands per replica": commands, "incidents": len(incidents), "outbox actions": len(actions),
               "timers fired": await _fired_timers(db), "wall time (s)": round(time.monotonic() - started, 1)}
    print(f"\ntwo replicas, {GROUPS} groups: {figures}")

    assert set(replies) == {"Noted on the timeline.", "<@UCAROL> is now comms."}, replies
    assert commands == [GROUPS, GROUPS], figures  # each replica served half of the commands
    assert all(n >= GROUPS for n in answered), figures  # every group reached both replicas
    assert sorted(i.title for i in incidents) == sorted(f"{g[0]['labels']['alertname']} in checkout" for g in groups)
    assert len(groups_stored) == GROUPS and len({g.incident_id for g in groups_stored}) == GROUPS
    assert all(a.state == "done" for a in actions), Counter(a.state for a in actions)
    assert_each_slack_effect_once(slack, incidents, actions)
    wrong = {i: found for i, found in reminders.items() if found != EXPECTED_PER_INCIDENT}
    assert wrong == {}, f"reminders per incident differ from {EXPECTED_PER_INCIDENT}: {wrong}"
    for incident in incidents:
        texts = [m.text for m in slack.messages(str(incident.channel_id))]
        assert texts.count("<@UDAVE> made <@UCAROL> *comms*.") == 1, texts


async def _channels_open(db: Database) -> bool:
    incidents = await rows.incidents(db)
    return len(incidents) == GROUPS and all(i.channel_id for i in incidents)


WORKING = "Working on it…"  # the acknowledgement of a command that outgrew its 2 s budget


async def _commands_on_both(slack: SlackEmulator, urls: list[str], incidents: Sequence[Incident]) -> list[str]:
    """In every incident channel UDAVE (not in the rotation, so nobody acknowledges) names a comms
    lead through one replica and adds a note through the other."""
    async def send(url: str, text: str, channel: str) -> str:
        response = await slack.slash_command(f"{url}/slack/events", text=text, user_id="UDAVE", channel_id=channel)
        assert response.status_code == 200, response.text
        reply = str(response.json().get("text", ""))
        if reply != WORKING:
            return reply
        # Past its 2 s budget (a loaded machine) the bot acknowledges first and answers
        # through the response URL: that answer is an ephemeral message in the channel.
        expected = "<@UCAROL>" if text.startswith("role") else "Noted"

        def late() -> list[str]:
            return [e.text for e in slack.ephemerals(channel) if e.user == "UDAVE" and e.text.startswith(expected)]

        async def answered() -> bool:
            return bool(late())
        await eventually(answered, timeout=20, what=f"the answer to {text!r} after {WORKING!r}")
        return late()[0]

    commands = []
    for n, incident in enumerate(incidents):
        channel = str(incident.channel_id)
        commands += [send(urls[n % 2], "role comms <@UCAROL>", channel),
                     send(urls[(n + 1) % 2], f"note seen from replica {(n + 1) % 2 + 1}", channel)]
    return list(await asyncio.gather(*commands))


async def _quiet(db: Database) -> bool:
    async with db.reading() as session:
        pending = select(func.count()).select_from(Timer).where(Timer.state == "pending", Timer.kind != "archive")
        if int((await session.execute(pending)).scalar_one()):
            return False
    return all(a.state != "pending" for a in await rows.outbox(db))


async def _fired_timers(db: Database) -> int:
    async with db.reading() as session:
        fired = select(func.count()).select_from(Timer).where(Timer.state == "fired")
        return int((await session.execute(fired)).scalar_one())


def _reminders(slack: SlackEmulator, channel: str) -> dict[str, int]:
    texts = [m.text for m in slack.messages(channel)]
    return {name: sum(1 for t in texts if marker in t) for name, marker in REMINDERS.items()}
