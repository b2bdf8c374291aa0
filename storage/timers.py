"""Timers: what is due when, per incident. Firing happens in the claiming transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from storage.dialect import dialect_name
from storage.models import Incident, Timer, table_of

# Built once (Core, bound parameters): firing a reminder cancels and schedules a timer, and a
# thousand reminders falling due at once run these a thousand times.
_TIMERS = table_of(Timer)
_CANCEL_ALL = (update(_TIMERS)  # not "incident_id": an UPDATE keeps column names for its SET parameters
               .where(_TIMERS.c.incident_id == bindparam("of_incident"), _TIMERS.c.state == "pending")
               .values(state="cancelled"))
_CANCEL_KINDS = _CANCEL_ALL.where(_TIMERS.c.kind.in_(bindparam("kinds", expanding=True)))
_CANCEL_KIND = _CANCEL_ALL.where(_TIMERS.c.kind == bindparam("of_kind"))  # no IN list to expand per call
_INSERT = insert(_TIMERS)
_DUE = (select(_TIMERS.c.id, _TIMERS.c.incident_id, _TIMERS.c.kind, _TIMERS.c.due_at, _TIMERS.c.payload)
        .where(_TIMERS.c.state == "pending", _TIMERS.c.due_at <= bindparam("now"))
        .order_by(_TIMERS.c.due_at, _TIMERS.c.id).limit(bindparam("limit")))
# Lock each timer's incident too, skipping incidents a command or a delivery holds: firing
# locks the incident after the timer, while a command locks the incident and then cancels or
# replaces its timers, so waiting here could deadlock. A skipped timer fires on the next tick.
_DUE_LOCKED = (_DUE.join(table_of(Incident), table_of(Incident).c.id == _TIMERS.c.incident_id)
               .with_for_update(skip_locked=True, of=[_TIMERS, table_of(Incident)]))
_MARK_FIRED = (update(_TIMERS).where(_TIMERS.c.id.in_(bindparam("ids", expanding=True)))
               .values(state="fired", fired_at=bindparam("now")))


# The earliest due time the session's transaction has scheduled, kept in ``Session.info`` so
# that whoever fires timers in this process can be woken for it once the transaction has
# committed (see ``Database.on_timer_scheduled``) instead of finding it at its next poll.
SCHEDULED_DUE = "storage.timers.scheduled_due"


def _noted(session: Session, due_at: datetime) -> None:
    earliest = session.info.get(SCHEDULED_DUE)
    if earliest is None or due_at < earliest:
        session.info[SCHEDULED_DUE] = due_at


def scheduled_due(info: Mapping[str, object]) -> datetime | None:
    """The earliest due time scheduled in a transaction, from its session's ``info``."""
    due = info.get(SCHEDULED_DUE)
    return due if isinstance(due, datetime) else None


@dataclass(frozen=True, slots=True)
class DueTimer:
    id: int
    incident_id: int
    kind: str
    due_at: datetime
    payload: dict[str, Any]


def cancel(session: Session, incident_id: int, kinds: Iterable[str] | None = None) -> None:
    """Cancel the incident's pending timers (of these kinds, or all)."""
    if kinds is None:
        session.execute(_CANCEL_ALL, {"of_incident": incident_id})
        return
    named = [str(kind) for kind in kinds]
    if len(named) == 1:
        session.execute(_CANCEL_KIND, {"of_incident": incident_id, "of_kind": named[0]})
    else:
        session.execute(_CANCEL_KINDS, {"of_incident": incident_id, "kinds": named})


def schedule(session: Session, incident_id: int, kind: str, due_at: datetime, now: datetime,
                   payload: dict[str, Any] | None = None) -> None:
    """Set the incident's one pending timer of this kind to ``due_at`` (replacing any)."""
    cancel(session, incident_id, [kind])
    _noted(session, due_at)
    session.execute(_INSERT, {"incident_id": incident_id, "kind": str(kind), "due_at": due_at, "state": "pending",
                              "payload": payload or {}, "created_at": now})


def add_new(session: Session, incident_id: int, due: list[tuple[str, datetime, dict[str, Any]]],
            now: datetime) -> None:
    """Add timers to an incident that has none pending of these kinds (a new incident)."""
    if due:
        _noted(session, min(at for _, at, _ in due))
        session.execute(insert(table_of(Timer)), [
            {"incident_id": incident_id, "kind": str(kind), "due_at": at, "state": "pending", "payload": payload,
             "created_at": now} for kind, at, payload in due])


def claim_due(session: Session, now: datetime, limit: int = 50) -> list[DueTimer]:
    """Due timers, locked for this transaction and marked fired: the caller's work commits
    with the marking, or neither happens."""
    query = _DUE_LOCKED if dialect_name(session) == "postgresql" else _DUE
    rows = session.execute(query, {"now": now, "limit": limit}).all()
    if rows:
        session.execute(_MARK_FIRED, {"ids": [r.id for r in rows], "now": now})
    return [DueTimer(r.id, r.incident_id, r.kind, r.due_at, dict(r.payload)) for r in rows]


def pending(session: Session, incident_id: int) -> dict[str, datetime]:
    rows = session.execute(select(Timer.kind, Timer.due_at).where(
        Timer.incident_id == incident_id, Timer.state == "pending"))
    return dict(rows.all())


_NEXT_DUE = select(_TIMERS.c.due_at).where(_TIMERS.c.state == "pending").order_by(_TIMERS.c.due_at).limit(1)


def next_due(session: Session) -> datetime | None:
    """The earliest pending due time (one step in the (state, due_at) index)."""
    return session.execute(_NEXT_DUE).scalar_one_or_none()


def schedule_keyed(session: Session, incident_id: int, kind: str, key: str, value: int | str, due_at: datetime,
                   now: datetime) -> None:
    """Set the one pending timer of this kind whose payload has ``key`` = ``value`` (one per
    follow-up, say), replacing any, leaving the kind's other timers alone."""
    cancel_keyed(session, incident_id, kind, key, value)
    _noted(session, due_at)
    session.execute(insert(Timer).values(incident_id=incident_id, kind=str(kind), due_at=due_at, state="pending",
                                         payload={key: value}, created_at=now))


def cancel_keyed(session: Session, incident_id: int, kind: str, key: str, value: int | str) -> None:
    pending_of_kind = session.execute(select(Timer.id, Timer.payload).where(
        Timer.incident_id == incident_id, Timer.kind == str(kind), Timer.state == "pending")).all()
    ids = [timer_id for timer_id, payload in pending_of_kind if (payload or {}).get(key) == value]
    if ids:
        session.execute(update(Timer).where(Timer.id.in_(ids)).values(state="cancelled"))
