"""Alerts that Alertmanager forgot are marked stale, not resolved, and the commander is told once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.adapters.alertmanager import AlertmanagerClient
from bot.clock import utcnow
from bot.incident.reconcile import GRACE, Reconciler, diff
from storage.database import Database
from tests.slack_emulator import SlackEmulator
from tests.support import rows
from tests.support.alertmanager import running_alertmanager, webhook_config
from tests.support.bot import WEBHOOK_TOKEN, running_bot
from tests.support.slack import eventually, slack_settings

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_diff_marks_missing_alerts_after_the_grace_period_and_notices_their_return() -> None:
    firing = [(1, "aaaa", NOW - GRACE, None, None), (1, "bbbb", NOW - timedelta(seconds=10), None, None),
              (2, "cccc", NOW - GRACE, NOW - timedelta(minutes=1), None), (2, "dddd", NOW - GRACE, None, None)]
    changes = diff(firing, known={"cccc", "dddd"}, now=NOW)
    assert changes.newly_stale == {1: ["aaaa"]}  # bbbb is too new to judge
    assert changes.back == {2: ["cccc"]}


@pytest.mark.integration
async def test_alerts_gone_from_a_restarted_alertmanager_are_marked_stale_once(
        database_url: str, slack: SlackEmulator, db: Database, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(WEBHOOK_TOKEN)
    alert = {"labels": {"alertname": "CheckoutErrors", "service": "checkout", "severity": "critical"},
             "annotations": {"summary": "5xx high"}}
    settings = slack_settings(database_url, slack)
    async with running_bot(settings) as bot:
        config = webhook_config(f"{bot}/alertmanager", token_file=token_file)
        async with running_alertmanager(tmp_path / "am2", config) as am:
            await am.post_alerts([alert])

            async def opened() -> bool:
                incidents = await rows.incidents(db)
                return bool(incidents and incidents[0].header_ts)
            await eventually(opened, what="incident opened through Alertmanager")
            # No grace period: the alert is only seconds old.
            async with AlertmanagerClient(am.url) as client:
                reconciler = Reconciler(db, client, utcnow, on_commit=lambda: None, grace=timedelta(0))
                assert (await reconciler.run()).newly_stale == {}  # Alertmanager still has it
        # A new Alertmanager with empty storage: it has forgotten the alert.
        async with running_alertmanager(tmp_path / "am3", config) as fresh, AlertmanagerClient(fresh.url) as client:
            reconciler = Reconciler(db, client, utcnow, on_commit=lambda: None, grace=timedelta(0))
            first = await reconciler.run()
            second = await reconciler.run()
        channel = str((await rows.incidents(db))[0].channel_id)

        def told() -> bool:
            return any(":ghost:" in m.text for m in slack.messages(channel))
        await eventually(told, what="the commander told")
        await eventually(lambda: "stale: gone from Alertmanager" in json.dumps(slack.messages(channel)[0].blocks),
                         what="header marks the stale alert")
        assert sum(":ghost:" in m.text for m in slack.messages(channel)) == 1

    [incident] = await rows.incidents(db)
    assert list(first.newly_stale) == [incident.id] and second.newly_stale == {}
    assert incident.status == "investigating"  # stale is not resolved
    [stored] = await rows.alerts(db)
    assert stored.status == "firing" and stored.stale_since is not None
    assert (await rows.event_kinds(db, incident.id)).count("alert.stale") == 1
