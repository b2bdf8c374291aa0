"""Outbox actions for services other than Slack: an outage is told to the commander once
(not per action or retry) and the actions wait for the service; a kind with a retry limit
gives up after it and says what failed; a refusal says what to fix. On both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from bot.clock import ManualClock
from bot.delivery.dispatch import ActionDispatcher
from bot.delivery.outcome import Done
from bot.delivery.worker import OutboxWorker
from bot.domain import failures as kinds_failures
from bot.domain import kinds
from bot.domain.failures import PermanentFailure, TransientFailure
from bot.observability.metrics import Metrics
from storage import alerting
from storage.database import Database
from storage.outbox import ClaimedAction
from tests.support import rows
from tests.support.slack import eventually

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
EXPORT = "test.export"


class Tracker:
    """Fails the way it is told to, then answers."""

    def __init__(self, failures: list[Exception]) -> None:
        self.failures = failures
        self.done: list[int] = []

    async def __call__(self, action: ClaimedAction) -> Done:
        if self.failures:
            raise self.failures.pop(0)
        self.done.append(int(action.payload["n"]))
        return Done({"n": action.payload["n"]})


@pytest.fixture
def export_kind(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setitem(kinds.ACTION_SERVICES, EXPORT, "github")
    yield


def _incident_with_exports(session: Session, count: int) -> int:
    incident_id = alerting.insert_incident(
        session, title="api is down", status="resolved", severity="sev2", playbook="default", route="all",
        source="alertmanager", declared_by=None, commander="UCMD", channel_name="inc-1-api", channel_id="C1",
        header_ts=None, roles={}, storm_key=None, policy={}, opened_at=T0, acknowledged_at=None,
        mitigated_at=None, resolved_at=T0, all_alerts_resolved_at=None, updated_at=T0)
    alerting.enqueue_many(session, ordering_key=f"tracker:{incident_id}", incident_id=incident_id, now=T0,
                          actions=[(EXPORT, {"n": n}) for n in range(1, count + 1)])
    return incident_id


@asynccontextmanager
async def working(db: Database, tracker: Tracker, clock: ManualClock) -> AsyncIterator[None]:
    worker = OutboxWorker(db, ActionDispatcher({EXPORT: tracker}).run, clock, Metrics(), poll_interval=0.02)
    worker.start()
    try:
        yield
    finally:
        await worker.stop()


async def notices(db: Database) -> list[str]:
    return [str(o.payload["text"]) for o in await rows.outbox(db) if o.kind == "message.post"]


async def test_an_outage_is_told_once_and_every_export_waits_for_the_service(db: Database, export_kind: None) -> None:
    incident_id = await db.write(_incident_with_exports, 3)
    unavailable = [TransientFailure("POST /repos/o/r/issues", "503 Service Unavailable", service="github")
                   for _ in range(4)]
    tracker, clock = Tracker(unavailable), ManualClock(T0)
    async with working(db, tracker, clock):
        async def all_exported() -> bool:
            clock.advance(timedelta(minutes=10))  # past every backoff
            return tracker.done == [1, 2, 3]
        await eventually(all_exported, what="the exports after the outage")

    told = await notices(db)
    assert len(told) == 1, told
    assert told[0].startswith(":hourglass: <@UCMD> GitHub is not answering (`503 Service Unavailable`)")
    assert "loses nothing" in told[0]
    assert (await rows.event_kinds(db, incident_id)).count("service.unavailable") == 1
    assert "service.recovered" in await rows.event_kinds(db, incident_id)


async def test_the_next_outage_is_told_again(db: Database, export_kind: None) -> None:
    await db.write(_incident_with_exports, 1)
    down = TransientFailure("POST /repos/o/r/issues", "502 Bad Gateway", service="github")
    tracker, clock = Tracker([down]), ManualClock(T0)
    async with working(db, tracker, clock):
        async def exported(count: int) -> bool:
            clock.advance(timedelta(minutes=10))
            return len(tracker.done) == count
        await eventually(lambda: exported(1), what="the first export")
        incident_id = (await rows.incidents(db))[0].id
        tracker.failures.append(TransientFailure("POST /repos/o/r/issues", "timed out", service="github"))
        await db.write(lambda s: alerting.enqueue(s, ordering_key=f"tracker:{incident_id}", incident_id=incident_id,
                                                  kind=EXPORT, payload={"n": 2}, now=clock()))
        await eventually(lambda: exported(2), what="the second export")
    assert len(await notices(db)) == 2


async def test_a_kind_with_a_retry_limit_gives_up_and_says_what_failed(db: Database, export_kind: None,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(kinds.RETRY_LIMITS, EXPORT, 3)
    incident_id = await db.write(_incident_with_exports, 1)
    tracker = Tracker([TransientFailure("POST /repos/o/r/issues", "503 Service Unavailable", service="github")
                       for _ in range(5)])
    clock = ManualClock(T0)
    async with working(db, tracker, clock):
        async def failed() -> bool:
            clock.advance(timedelta(minutes=10))
            return all(o.state != "pending" for o in await rows.outbox(db) if o.kind == EXPORT)
        await eventually(failed, what="the export to give up")
    assert tracker.done == []
    assert len(tracker.failures) == 2  # three attempts, no more
    [export] = [o for o in await rows.outbox(db) if o.kind == EXPORT]
    assert export.state == "failed" and "gave up after 3 attempts" in str(export.last_error)
    assert "slack.action_failed" in await rows.event_kinds(db, incident_id)


async def test_a_refusal_tells_the_commander_what_to_fix(db: Database, export_kind: None) -> None:
    await db.write(_incident_with_exports, 1)
    refused = PermanentFailure("POST /repos/o/r/issues", "401 Bad credentials", service="github",
                               hint="check GITHUB_TOKEN: it must be able to create issues in o/r")
    tracker, clock = Tracker([refused]), ManualClock(T0)
    async with working(db, tracker, clock):
        async def told() -> bool:
            return len(await notices(db)) == 1
        await eventually(told, what="the notice")
    [notice] = await notices(db)
    assert notice == (":warning: <@UCMD> incident-bot could not carry out test.export: GitHub said "
                      "`401 Bad credentials` — check GITHUB_TOKEN: it must be able to create issues in o/r.")


def test_slack_errors_are_delivery_failures_of_the_right_class() -> None:
    from bot.slack.gateway import SlackPermanentError, SlackRateLimited
    limited = SlackRateLimited("chat.postMessage", 3.0)
    assert isinstance(limited, kinds_failures.RateLimited) and limited.retry_after == 3.0
    assert limited.service == "slack" and limited.method == "chat.postMessage"
    assert str(limited) == "chat.postMessage: ratelimited, retry after 3s"
    refused = SlackPermanentError("pins.add", "not_in_channel")
    assert isinstance(refused, PermanentFailure) and refused.error == "not_in_channel"


async def test_an_outage_of_a_kind_that_gives_up_does_not_promise_to_lose_nothing(
        db: Database, export_kind: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(kinds.RETRY_LIMITS, EXPORT, 2)
    await db.write(_incident_with_exports, 1)
    tracker = Tracker([TransientFailure("POST /v2/enqueue", "502 Bad Gateway", service="github") for _ in range(2)])
    clock = ManualClock(T0)
    async with working(db, tracker, clock):
        async def settled() -> bool:
            clock.advance(timedelta(minutes=10))
            return all(o.state != "pending" for o in await rows.outbox(db) if o.kind == EXPORT)
        await eventually(settled, what="the export to give up")
    told = await notices(db)
    assert "retries for a while and says so if it gives up" in told[0] and "loses nothing" not in told[0]
    assert "gave up after 2 attempts" in told[1]
