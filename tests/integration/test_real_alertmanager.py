"""The real Alertmanager delivers to the bot with bearer credentials from a file."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.database import Database
from tests.conftest import REPO
from tests.support import rows
from tests.support.alertmanager import running_alertmanager, webhook_config
from tests.support.bot import WEBHOOK_TOKEN, bot_settings, running_bot

pytestmark = pytest.mark.integration


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.2)


def _alert(instance: str, *, ends_at: datetime | None = None) -> dict[str, object]:
    alert: dict[str, object] = {
        "labels": {"alertname": "CheckoutErrors", "service": "checkout", "severity": "critical",
                   "instance": instance},
        "annotations": {"summary": "5xx ratio high", "runbook_url": "https://runbooks.example.com/checkout"},
        "generatorURL": "http://prometheus.example.com:9090/graph?g0.expr=x&g0.tab=1",
    }
    if ends_at is not None:
        alert["endsAt"] = ends_at.isoformat()
    return alert


async def test_alertmanager_opens_an_incident_then_its_resolution_is_recorded(
        database_url: str, db: Database, tmp_path: Path) -> None:
    token_file = tmp_path / "webhook-token"
    token_file.write_text(WEBHOOK_TOKEN + "\n")
    async with running_bot(bot_settings(database_url, REPO / "playbooks")) as bot_url:
        config = webhook_config(f"{bot_url}/alertmanager", token_file=token_file)
        async with running_alertmanager(tmp_path / "am", config) as alertmanager:
            await alertmanager.post_alerts([_alert("10.0.0.1:8080"), _alert("10.0.0.2:8080")])

            async def opened() -> bool:
                return len(await rows.alerts(db)) == 2
            await eventually(opened)

            [incident] = await rows.incidents(db)
            assert incident.severity == "sev1" and incident.title == "CheckoutErrors in checkout"
            assert {a.labels["instance"] for a in await rows.alerts(db)} == {"10.0.0.1:8080", "10.0.0.2:8080"}
            assert (await rows.event_kinds(db, incident.id))[:2] == ["incident.opened", "commander.assigned"]

            past = datetime.now(UTC) - timedelta(seconds=1)
            await alertmanager.post_alerts([_alert("10.0.0.1:8080", ends_at=past),
                                            _alert("10.0.0.2:8080", ends_at=past)])

            async def resolved() -> bool:
                return "alerts.all_resolved" in await rows.event_kinds(db, incident.id)
            await eventually(resolved)

    assert {a.status for a in await rows.alerts(db)} == {"resolved"}
    assert len(await rows.incidents(db)) == 1
    assert (await rows.incidents(db))[0].status == "investigating"  # the commander resolves, not the bot
    deliveries = await rows.deliveries(db)
    assert deliveries[0].outcome == "open" and deliveries[-1].status == "resolved"
