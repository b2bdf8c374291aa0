"""Claiming outbox actions: one ordering key's actions one after another, in order, whoever
claims; different keys at once; two workers (two replicas on PostgreSQL) never lease one
action twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from storage import alerting, outbox
from storage.database import Database

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
LEASE = NOW + timedelta(minutes=1)


def enqueue(session: Session, key: str, texts: list[str]) -> None:
    alerting.enqueue_many(session, ordering_key=key, actions=[("message.post", {"text": t}) for t in texts], now=NOW)


def claim(session: Session, worker: str = "w", limit: int = 10, now: datetime = NOW) -> list[outbox.ClaimedAction]:
    return outbox.claim(session, now=now, lease_until=now + timedelta(minutes=1), worker=worker, limit=limit)


def finish_and_claim_next(session: Session, action: outbox.ClaimedAction, worker: str = "w",
                          now: datetime = NOW) -> outbox.ClaimedAction | None:
    outbox.finish(session, action.id, state="done", now=now, result={"ok": True})
    return outbox.claim_after(session, action, now=now, lease_until=now + timedelta(minutes=1), worker=worker)


async def test_a_batch_claim_takes_each_keys_head_only_and_the_next_one_once_the_head_is_finished(db: Database) -> None:
    await db.write(enqueue, "incident:1", ["a1", "a2", "a3"])
    await db.write(enqueue, "incident:2", ["b1", "b2"])

    first = await db.write(claim)
    assert [a.payload["text"] for a in first] == ["a1", "b1"]
    assert all(a.attempts == 1 for a in first)
    assert await db.write(claim) == []  # both heads leased; their followers wait for them

    a1, b1 = first
    a2 = await db.write(finish_and_claim_next, a1)
    assert a2 is not None and a2.payload["text"] == "a2"
    assert await db.write(claim) == []  # a3 waits for a2, b2 for b1
    await db.write(lambda s: outbox.finish(s, b1.id, state="done", now=NOW))
    assert [a.payload["text"] for a in await db.write(claim)] == ["b2"]


async def test_an_action_waiting_to_be_retried_holds_back_the_rest_of_its_key(db: Database) -> None:
    await db.write(enqueue, "incident:1", ["a1", "a2"])
    (a1,) = await db.write(claim)
    await db.write(lambda s: outbox.retry_later(s, a1.id, at=NOW + timedelta(seconds=30), error="HTTP 503"))

    assert await db.write(claim) == []  # a1 is not due yet, and a2 may not overtake it
    later = NOW + timedelta(seconds=31)
    (again,) = await db.write(claim, "w", 10, later)
    assert (again.id, again.attempts) == (a1.id, 2)


async def test_the_next_action_is_not_claimed_with_the_finish_while_it_waits_for_a_retry(db: Database) -> None:
    await db.write(enqueue, "incident:1", ["a1", "a2", "a3"])
    (a1,) = await db.write(claim)
    a2 = await db.write(finish_and_claim_next, a1)
    assert a2 is not None
    await db.write(lambda s: outbox.retry_later(s, a2.id, at=NOW + timedelta(seconds=30), error="HTTP 503"))
    assert await db.write(claim) == []  # a3 does not overtake a2

    later = NOW + timedelta(seconds=31)
    (again,) = await db.write(claim, "w", 10, later)
    a3 = await db.write(finish_and_claim_next, again, "w", later)
    assert a3 is not None and a3.payload["text"] == "a3"
    assert await db.write(finish_and_claim_next, a3, "w", later) is None


async def test_two_workers_on_two_engines_never_lease_one_action_twice_and_keep_each_keys_order(
        database_url: str) -> None:
    keys, per_key = 30, 4
    first, second = Database(database_url), Database(database_url)
    try:
        for k in range(keys):
            await first.write(enqueue, f"incident:{k}", [f"{k}-{i}" for i in range(per_key)])
        log: list[tuple[str, str, int]] = []  # (what, key, id) in the order it happened

        async def work(db: Database, worker: str) -> None:
            idle = 0
            while idle < 3:
                batch = await db.write(claim, worker, 4)
                idle = 0 if batch else idle + 1

                async def drive(action: outbox.ClaimedAction | None) -> None:
                    while action is not None:
                        log.append(("claimed", action.ordering_key, action.id))
                        await asyncio.sleep(0)
                        log.append(("finished", action.ordering_key, action.id))
                        action = await db.write(finish_and_claim_next, action, worker)
                await asyncio.gather(*(drive(a) for a in batch))

        await asyncio.gather(work(first, "replica-a"), work(second, "replica-b"))
    finally:
        await first.dispose()
        await second.dispose()

    claimed = [i for what, _, i in log if what == "claimed"]
    assert len(claimed) == keys * per_key and len(set(claimed)) == len(claimed)  # each once, none twice
    for k in range(keys):
        events = [(what, i) for what, key, i in log if key == f"incident:{k}"]
        ids = [i for what, i in events if what == "claimed"]
        assert ids == sorted(ids)
        # each action is claimed only after the one before it on the key was finished
        assert events == [(what, i) for i in ids for what in ("claimed", "finished")]
