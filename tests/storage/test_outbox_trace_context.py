"""An outbox action keeps the W3C trace context of what enqueued it, so whichever process
delivers it continues that trace (tests/observability/test_tracing_process.py shows the spans)."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from storage import alerting, outbox
from storage.database import Database

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CONTEXT = {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "tracestate": "vendor=opaque"}
CURRENT: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("current_trace", default=None)


@pytest.fixture
def source_from_context_variable() -> Iterator[None]:
    alerting.set_trace_context_source(CURRENT.get)
    yield
    alerting.set_trace_context_source(None)


def enqueue_two(session: Session, context: dict[str, str] | None = None) -> None:
    alerting.enqueue_many(session, ordering_key="incident:1", actions=[("message.post", {"text": "a"}),
                                                                       ("message.post", {"text": "b"})],
                          now=NOW, trace_context=context)


async def claim_all(db: Database) -> list[outbox.ClaimedAction]:
    claimed: list[outbox.ClaimedAction] = []
    while batch := await db.write(lambda s: outbox.claim(s, now=NOW, lease_until=NOW + timedelta(minutes=1),
                                                          worker="w", limit=10)):
        claimed += batch
        for action in batch:
            await db.write(lambda s, i=action.id: outbox.finish(s, i, state="done", now=NOW))
    return claimed


async def test_the_trace_context_given_to_enqueue_comes_back_with_each_claimed_action(db: Database) -> None:
    await db.write(enqueue_two, CONTEXT)
    assert [a.trace_context for a in await claim_all(db)] == [CONTEXT, CONTEXT]


async def test_enqueue_takes_the_context_of_the_work_in_progress_across_the_writer_thread(
        db: Database, source_from_context_variable: None) -> None:
    token = CURRENT.set(CONTEXT)  # set by the caller; read where the write runs (SQLite: the writer thread)
    try:
        await db.write(enqueue_two)
    finally:
        CURRENT.reset(token)
    await db.write(enqueue_two)  # outside any trace
    assert [a.trace_context for a in await claim_all(db)] == [CONTEXT, CONTEXT, None, None]


async def test_without_tracing_no_trace_context_is_stored(db: Database) -> None:
    await db.write(enqueue_two)
    assert [a.trace_context for a in await claim_all(db)] == [None, None]
