"""The webhook path changes an existing incident through the transitions commands use.

A delivery and a command on the same incident apply one after the other, as if they had
not overlapped: the delivery locks the incident as commands and timers do. Without that lock, on PostgreSQL, a delivery decided on the incident as it was before a
concurrent /incident resolve, then wrote after it: a "changes" message about a resolved
incident, posted after its final update, and an incident that a firing alert did not reopen.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.domain import commands as p
from bot.domain.notification import parse_webhook
from bot.incident.command_service import CommandService, Context
from bot.incident.ingest import Ingestor
from bot.playbook import load_playbooks
from storage.alerting import update_incident
from storage.database import Database
from storage.models import OutboxAction
from tests.conftest import REPO
from tests.support import rows
from tests.support.payloads import body, group

START = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


async def outbox_posts(db: Database, incident_id: int) -> list[str]:
    async with db.reading() as session:
        result = await session.execute(select(OutboxAction.payload).where(
            OutboxAction.incident_id == incident_id, OutboxAction.kind == "message.post").order_by(OutboxAction.id))
        return [str(payload.get("text", "")) for payload in result.scalars()]


async def test_a_firing_delivery_during_a_resolve_waits_for_it_and_then_reopens_the_incident(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = ManualClock(START)
    playbooks = load_playbooks(REPO / "playbooks")
    ingestor = Ingestor(db, lambda: playbooks, clock)
    opening = body(group(alerts=1))
    await ingestor.ingest(opening, parse_webhook(opening))
    await db.write(update_incident, 1, channel_id="C1", commander="UALICE", severity="sev2")
    clock.advance(timedelta(minutes=5))

    # The resolve stops half-way, holding the incident, until the delivery has started.
    command_holds_incident, delivery_started = asyncio.Event(), asyncio.Event()

    async def allowed_after_the_delivery_started(*_: object) -> str | None:
        command_holds_incident.set()
        await delivery_started.wait()
        await asyncio.sleep(0.3)  # the delivery runs until it has to wait for the incident
        return None

    service = CommandService(db, lambda: playbooks, clock, on_commit=lambda: None)
    monkeypatch.setattr(service, "_may", allowed_after_the_delivery_started)
    resolving = asyncio.create_task(service.execute(p.Resolve("rolled back"), Context("UALICE", "C1")))
    await command_holds_incident.wait()
    firing = body(group(alerts=2))  # a second alert fires, critical: more severe than sev2
    delivering = asyncio.create_task(ingestor.ingest(firing, parse_webhook(firing)))
    delivery_started.set()
    reply, result = await asyncio.wait_for(asyncio.gather(resolving, delivering), 20)

    assert reply.text == "Resolved. The final update is posted."
    assert (result.outcome.value, result.incident_id) == ("reopen", 1)
    incident = (await rows.incidents(db))[0]
    assert (incident.status, incident.resolved_at, incident.severity) == ("investigating", None, "sev1")
    kinds = await rows.event_kinds(db, 1)
    assert kinds[kinds.index("incident.resolved"):] == [
        "incident.resolved", "command", "postmortem.started",  # SEV2 needs a postmortem ...
        "incident.reopened", "alert.fired", "severity.changed", "postmortem.suspended"]  # ... whose clock stops
    *_, final, postmortem, changes = await outbox_posts(db, 1)
    assert postmortem.startswith(":memo: Postmortem owner:")
    assert final.startswith(":loudspeaker: *Final update on incident #1")
    assert changes.startswith(":recycle: *Reopened*: alerts fired again within the reopen window.\n"
                              ":arrow_up: Severity raised SEV2 → SEV1")


async def test_what_a_delivery_records_keeps_the_times_the_alerts_give(db: Database) -> None:
    clock = ManualClock(START + timedelta(minutes=10))
    ingestor = Ingestor(db, lambda: load_playbooks(REPO / "playbooks"), clock)
    for status in ("firing", "resolved"):  # resolved alerts end at START + 5 min
        payload = body(group(alerts=2, status=status, start=START))
        await ingestor.ingest(payload, parse_webhook(payload))
        clock.advance(timedelta(minutes=10))

    events = await rows.events(db, 1)
    timeline = [(e.kind, e.actor, e.occurred_at, e.recorded_at) for e in events if e.kind.startswith("alert")]
    fired = [("alert.fired", "alertmanager", START + timedelta(microseconds=i), START + timedelta(minutes=10))
             for i in range(2)]
    ended = START + timedelta(minutes=5)
    resolved = [(kind, "alertmanager", ended, START + timedelta(minutes=20))
                for kind in ("alert.resolved", "alert.resolved", "alerts.all_resolved")]
    assert timeline == fired + resolved
    assert (await rows.incidents(db))[0].all_alerts_resolved_at == START + timedelta(minutes=20)
