"""The outbox queue: claim the next action of each ordering key, record how it ended.

An action is claimed with a lease (``locked_until``). Only the oldest pending action
of an ordering key can be claimed, so one incident's actions run in order while
different incidents run concurrently. On PostgreSQL the claim skips rows another
replica is claiming at that instant (``FOR UPDATE SKIP LOCKED``); the lease keeps the
row out of everyone else's hands until it is finished or the holder is presumed dead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from storage.dialect import dialect_name
from storage.models import OutboxAction
from storage.results import rows_affected


@dataclass(frozen=True, slots=True)
class ClaimedAction:
    id: int
    ordering_key: str
    incident_id: int | None
    kind: str
    payload: dict[str, Any]
    attempts: int  # including this one
    created_at: datetime
    trace_context: dict[str, str] | None = None  # W3C traceparent/tracestate of what enqueued it


def _claimable(now: datetime) -> ColumnElement[bool]:
    earlier = aliased(OutboxAction)
    blocked = exists().where(
        earlier.ordering_key == OutboxAction.ordering_key,
        earlier.id < OutboxAction.id,
        earlier.state == "pending",
    )
    return and_(
        OutboxAction.state == "pending",
        OutboxAction.available_at <= now,
        or_(OutboxAction.locked_until.is_(None), OutboxAction.locked_until < now),
        ~blocked,
    )


def claim(session: Session, *, now: datetime, lease_until: datetime, worker: str, limit: int,
                ordering_key: str | None = None, exclude_keys: frozenset[str] = frozenset()) -> list[ClaimedAction]:
    """Lease up to ``limit`` actions, at most one per ordering key, oldest first."""
    query = select(OutboxAction).where(_claimable(now)).order_by(OutboxAction.id).limit(limit)
    if ordering_key is not None:
        query = query.where(OutboxAction.ordering_key == ordering_key)
    if exclude_keys:
        query = query.where(OutboxAction.ordering_key.not_in(sorted(exclude_keys)))
    if dialect_name(session) == "postgresql":
        query = query.with_for_update(skip_locked=True, of=OutboxAction)
    rows = list((session.execute(query)).scalars())
    if not rows:
        return []
    ids = [row.id for row in rows]
    session.execute(
        update(OutboxAction).where(OutboxAction.id.in_(ids))
        .values(locked_until=lease_until, locked_by=worker, attempts=OutboxAction.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    return [
        ClaimedAction(row.id, row.ordering_key, row.incident_id, row.kind, dict(row.payload), row.attempts + 1,
                      row.created_at, dict(row.trace_context) if row.trace_context else None)
        for row in rows
    ]


def finish(session: Session, action_id: int, *, state: str, now: datetime,
                 result: dict[str, Any] | None = None, error: str | None = None) -> None:
    """Mark an action done (or failed for good), releasing its lease."""
    session.execute(
        update(OutboxAction).where(OutboxAction.id == action_id)
        .values(state=state, finished_at=now, result=result, last_error=error, locked_until=None, locked_by=None)
    )


def retry_later(session: Session, action_id: int, *, at: datetime, error: str,
                      count_attempt: bool = True) -> None:
    """Release the lease and make the action claimable again at ``at``."""
    values: dict[str, Any] = {"available_at": at, "last_error": error, "locked_until": None, "locked_by": None}
    if not count_attempt:
        values["attempts"] = OutboxAction.attempts - 1
    session.execute(update(OutboxAction).where(OutboxAction.id == action_id).values(**values))


def release(session: Session, *, worker: str) -> int:
    """Give up the leases ``worker`` still holds on unfinished actions, so they can be
    claimed again at once. Their attempt stays counted: the next one first looks for
    what this one may already have done in Slack."""
    result = session.execute(
        update(OutboxAction).where(OutboxAction.locked_by == worker, OutboxAction.state == "pending")
        .values(locked_until=None, locked_by=None)
    )
    return rows_affected(result)


def results(session: Session, ordering_key: str, kind: str) -> list[dict[str, Any]]:
    """Results of the finished actions of one kind for one key, oldest first."""
    rows = session.execute(
        select(OutboxAction.result).where(
            OutboxAction.ordering_key == ordering_key, OutboxAction.kind == kind, OutboxAction.state == "done",
        ).order_by(OutboxAction.id)
    )
    return [dict(r) for r in rows.scalars() if r is not None]


def backlog(session: Session, now: datetime) -> tuple[int, float]:
    """Pending actions and the age in seconds of the oldest one."""
    row = (session.execute(
        select(func.count(), func.min(OutboxAction.created_at)).where(OutboxAction.state == "pending")
    )).one()
    count, oldest = int(row[0]), row[1]
    age = (now - oldest).total_seconds() if oldest is not None else 0.0
    return count, max(age, 0.0)


def purge_finished(session: Session, finished_before: datetime, limit: int = 5000) -> int:
    oldest = (select(OutboxAction.id).where(OutboxAction.state != "pending", OutboxAction.finished_at < finished_before)
              .order_by(OutboxAction.id).limit(limit))
    result = session.execute(delete(OutboxAction).where(OutboxAction.id.in_(oldest)))
    return rows_affected(result)


def pending_after(session: Session, ordering_key: str, after_id: int, kind: str,
                        limit: int = 200) -> list[tuple[int, dict[str, Any]]]:
    """Later pending actions of one kind on the same key: (id, payload), oldest first.

    Safe to act on while holding the head action's lease: nobody else can claim them
    before the head is finished.
    """
    rows = session.execute(
        select(OutboxAction.id, OutboxAction.payload).where(
            OutboxAction.ordering_key == ordering_key, OutboxAction.id > after_id,
            OutboxAction.state == "pending", OutboxAction.kind == kind,
        ).order_by(OutboxAction.id).limit(limit)
    )
    return [(int(i), dict(p)) for i, p in rows]


def finish_absorbed(session: Session, ids: list[int], *, into: int, now: datetime) -> None:
    """Mark actions whose effect another action carried out as done."""
    if ids:
        session.execute(
            update(OutboxAction).where(OutboxAction.id.in_(ids), OutboxAction.state == "pending")
            .values(state="done", finished_at=now, result={"absorbed_into": into}, locked_until=None, locked_by=None)
            .execution_options(synchronize_session=False)
        )


def any_posted(session: Session, ordering_key: str, kind: str) -> bool:
    """Whether a finished action of one kind on one key posted a message (its result has a
    ``ts``); stops at the first one, so a storm's hundredth action reads no more than its first."""
    query = select(OutboxAction.id).where(
        OutboxAction.ordering_key == ordering_key, OutboxAction.kind == kind, OutboxAction.state == "done",
        OutboxAction.result["ts"].as_string().is_not(None),
    ).limit(1)
    return session.execute(query).first() is not None
