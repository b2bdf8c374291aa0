"""The outbox queue: claim the next action of each ordering key, record how it ended.

An action is claimed with a lease (``locked_until``). Only the oldest pending action
of an ordering key (its head) can be claimed, so one incident's actions run in order
while different incidents run concurrently. A claim is one statement: an UPDATE of the
heads it picks, returning them. It walks the pending actions in id order through a partial
index of pending rows and takes each that no earlier pending action of its key precedes (one
probe in the partial index by key), until it has enough: its cost does not grow with the
number of pending actions or with the finished history. The action after a finished one is
claimed in the transaction that records the finish, by one look a row past it in the key's
index. On PostgreSQL a claim skips rows another replica is claiming
at that instant (``FOR UPDATE SKIP LOCKED``), and the row is re-checked once locked, so
a head that another replica has leased or finished meanwhile is not taken; the lease
keeps the row out of everyone else's hands until it is finished or the holder is presumed
dead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, Update, bindparam, delete, exists, func, literal_column, or_, select, update
from sqlalchemy.orm import Session

from storage.dialect import dialect_name
from storage.header_reads import HeaderAlerts
from storage.models import OutboxAction, table_of
from storage.results import rows_affected
from storage.rows import IncidentRow

_OUTBOX = table_of(OutboxAction)


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
    # Its incident as read in the transaction that leased it (see bot.delivery.worker), if it was;
    # and for a header action, what the header shows of its alerts, read then too.
    incident: IncidentRow | None = None
    header: HeaderAlerts | None = None


_CLAIMED_COLUMNS = (_OUTBOX.c.id, _OUTBOX.c.ordering_key, _OUTBOX.c.incident_id, _OUTBOX.c.kind, _OUTBOX.c.payload,
                    _OUTBOX.c.attempts, _OUTBOX.c.created_at, _OUTBOX.c.trace_context)
# A literal, not a bound parameter: only then may SQLite (and PostgreSQL's generic plans) use
# the partial indexes of pending rows.
_PENDING = _OUTBOX.c.state == literal_column("'pending'")
_FREE = (_PENDING, _OUTBOX.c.available_at <= bindparam("now"),
         or_(_OUTBOX.c.locked_until.is_(None), _OUTBOX.c.locked_until < bindparam("now")))
_EARLIER = _OUTBOX.alias("earlier")
# A key's head: no pending action of its key before it (one probe in ix_outbox_pending_key).
_IS_HEAD = ~exists().where(_EARLIER.c.state == literal_column("'pending'"),
                           _EARLIER.c.ordering_key == _OUTBOX.c.ordering_key, _EARLIER.c.id < _OUTBOX.c.id)
_LEASE = {"locked_until": bindparam("lease_until"), "locked_by": bindparam("worker"),
          "attempts": _OUTBOX.c.attempts + 1}


def _leasing(pick: Select[tuple[int]], *, postgresql: bool) -> Update:
    if postgresql:
        pick = pick.with_for_update(skip_locked=True, of=_OUTBOX)
    return update(_OUTBOX).where(_OUTBOX.c.id.in_(pick.scalar_subquery())).values(_LEASE).returning(*_CLAIMED_COLUMNS)


def _claim_statements(postgresql: bool) -> tuple[Update, Update, Update]:
    # Free pending actions in id order (ix_outbox_pending_id), each that is its key's head: the
    # walk stops after ``limit`` of them, however many wait behind leased heads or in history.
    heads = select(_OUTBOX.c.id).where(*_FREE, _IS_HEAD).order_by(_OUTBOX.c.id).limit(bindparam("limit"))
    of_heads = _leasing(heads.where(_OUTBOX.c.ordering_key.not_in(bindparam("exclude", expanding=True))),
                        postgresql=postgresql)
    of_key = _leasing(heads.where(_OUTBOX.c.ordering_key == bindparam("key")), postgresql=postgresql)
    # The action after one that is finishing: every earlier one of the key is finished, so the
    # next pending id above it is the key's head (one step in the (ordering_key, id) index).
    following = (select(_OUTBOX.c.id).where(_OUTBOX.c.ordering_key == bindparam("key"),
                                            _OUTBOX.c.id > bindparam("after"), _PENDING)
                 .order_by(_OUTBOX.c.id).limit(1))
    # No SKIP LOCKED here: skipping a locked next row would hand out the one after it. Nobody
    # else can lease it anyway before the finish commits; the UPDATE re-checks it once locked.
    after = (update(_OUTBOX).where(_OUTBOX.c.id == following.scalar_subquery(), *_FREE).values(_LEASE)
             .returning(*_CLAIMED_COLUMNS))
    return of_heads, of_key, after


_CLAIMS = {False: _claim_statements(False), True: _claim_statements(True)}


def _claimed(rows: Sequence[Row[Any]]) -> list[ClaimedAction]:
    return sorted((ClaimedAction(row.id, row.ordering_key, row.incident_id, row.kind, dict(row.payload), row.attempts,
                                 row.created_at, dict(row.trace_context) if row.trace_context else None)
                   for row in rows), key=lambda action: action.id)


def claim(session: Session, *, now: datetime, lease_until: datetime, worker: str, limit: int,
                ordering_key: str | None = None, exclude_keys: frozenset[str] = frozenset()) -> list[ClaimedAction]:
    """Lease up to ``limit`` actions, at most one per ordering key (its oldest pending one), oldest first."""
    of_heads, of_key, _ = _CLAIMS[dialect_name(session) == "postgresql"]
    params: dict[str, Any] = {"now": now, "lease_until": lease_until, "worker": worker, "limit": limit}
    if ordering_key is not None:
        statement, params["key"] = of_key, ordering_key
    else:
        statement, params["exclude"] = of_heads, sorted(exclude_keys)
    return _claimed(session.execute(statement, params).all())


def claim_after(session: Session, action: ClaimedAction, *, now: datetime, lease_until: datetime,
                worker: str) -> ClaimedAction | None:
    """Lease the action that follows ``action`` on its key, if it may run now. Call it in the
    transaction that finishes ``action`` (which must be its key's head until then)."""
    _, _, after = _CLAIMS[dialect_name(session) == "postgresql"]
    claimed = _claimed(session.execute(after, {"key": action.ordering_key, "after": action.id, "now": now,
                                               "lease_until": lease_until, "worker": worker}).all())
    return claimed[0] if claimed else None


_FINISH_NO_RESULT = update(_OUTBOX).where(_OUTBOX.c.id == bindparam("action_id")).values(
    state=bindparam("final_state"), finished_at=bindparam("now"), result=None, last_error=bindparam("error"),
    locked_until=None, locked_by=None)
_FINISH = _FINISH_NO_RESULT.values(result=bindparam("outcome"))  # a bound None would be JSON null, not NULL
_RETRY = update(_OUTBOX).where(_OUTBOX.c.id == bindparam("action_id")).values(
    available_at=bindparam("at"), last_error=bindparam("error"), locked_until=None, locked_by=None)
_RETRY_UNCOUNTED = _RETRY.values(attempts=_OUTBOX.c.attempts - 1)


def finish(session: Session, action_id: int, *, state: str, now: datetime,
                 result: dict[str, Any] | None = None, error: str | None = None) -> None:
    """Mark an action done (or failed for good), releasing its lease."""
    params = {"action_id": action_id, "final_state": state, "now": now, "error": error}
    if result is None:
        session.execute(_FINISH_NO_RESULT, params)
    else:
        session.execute(_FINISH, {**params, "outcome": result})


def retry_later(session: Session, action_id: int, *, at: datetime, error: str,
                      count_attempt: bool = True) -> None:
    """Release the lease and make the action claimable again at ``at``."""
    session.execute(_RETRY if count_attempt else _RETRY_UNCOUNTED, {"action_id": action_id, "at": at, "error": error})


def release(session: Session, *, worker: str) -> int:
    """Give up the leases ``worker`` still holds on unfinished actions, so they can be
    claimed again at once. Their attempt stays counted: the next one first looks for
    what this one may already have done in Slack."""
    result = session.execute(
        update(OutboxAction).where(OutboxAction.locked_by == worker, _PENDING)
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
        select(func.count(), func.min(OutboxAction.created_at)).where(_PENDING)
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


_FINISH_ABSORBED = (update(_OUTBOX).where(_OUTBOX.c.id.in_(bindparam("ids", expanding=True)),
                                          _OUTBOX.c.state == "pending")
                    .values(state="done", finished_at=bindparam("now"), result=bindparam("outcome"),
                            locked_until=None, locked_by=None))


def finish_absorbed(session: Session, ids: list[int], *, into: int, now: datetime) -> None:
    """Mark actions whose effect another action carried out as done."""
    if ids:
        session.execute(_FINISH_ABSORBED, {"ids": ids, "now": now, "outcome": {"absorbed_into": into}})


def any_posted(session: Session, ordering_key: str, kind: str) -> bool:
    """Whether a finished action of one kind on one key posted a message (its result has a
    ``ts``); stops at the first one, so a storm's hundredth action reads no more than its first."""
    query = select(OutboxAction.id).where(
        OutboxAction.ordering_key == ordering_key, OutboxAction.kind == kind, OutboxAction.state == "done",
        OutboxAction.result["ts"].as_string().is_not(None),
    ).limit(1)
    return session.execute(query).first() is not None
