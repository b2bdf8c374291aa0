"""Follow-ups (action items): numbered per incident from 1, listed, closed, mirrored by
tracker issues. The caller holds the incident's lock when it adds one, so two people
adding at once get consecutive numbers rather than the same one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, func, insert, select, update
from sqlalchemy.orm import Session

from storage.models import FollowUp
from storage.results import rows_affected
from storage.rows import FollowUpRow

STATUSES = ("open", "done", "dropped")

_Query = TypeVar("_Query", bound="Select[*tuple[Any, ...]]")


def add(session: Session, incident_id: int, *, text: str, owner: str | None, due_at: datetime | None,
        created_by: str, source: str, message_link: str | None, now: datetime) -> FollowUpRow:
    number = int(session.execute(select(func.coalesce(func.max(FollowUp.number), 0))
                                 .where(FollowUp.incident_id == incident_id)).scalar_one()) + 1
    followup_id = session.execute(insert(FollowUp).values(
        incident_id=incident_id, number=number, text=text, owner=owner, due_at=due_at, status="open",
        created_by=created_by, created_at=now, source=source, message_link=message_link, updated_at=now,
    ).returning(FollowUp.id)).scalar_one()
    found = get(session, int(followup_id))
    assert found is not None
    return found


def get(session: Session, followup_id: int) -> FollowUpRow | None:
    row = session.execute(select(FollowUp).where(FollowUp.id == followup_id)).scalar_one_or_none()
    return FollowUpRow.from_orm(row) if row is not None else None


def by_number(session: Session, incident_id: int, number: int) -> FollowUpRow | None:
    row = session.execute(select(FollowUp).where(FollowUp.incident_id == incident_id, FollowUp.number == number)
                          .execution_options(populate_existing=True)).scalar_one_or_none()
    return FollowUpRow.from_orm(row) if row is not None else None


def of_incident(session: Session, incident_id: int) -> list[FollowUpRow]:
    rows = session.execute(select(FollowUp).where(FollowUp.incident_id == incident_id).order_by(FollowUp.number))
    return [FollowUpRow.from_orm(r) for r in rows.scalars()]


def listing(query: _Query, *, status: str | None = None, owner: str | None = None,
            overdue_at: datetime | None = None) -> _Query:
    """``query`` narrowed to these follow-ups and in the order of every list of them
    across incidents: oldest due first (those without a due date last)."""
    if status is not None:
        if status not in STATUSES:
            raise ValueError(f"follow-up status must be one of {', '.join(STATUSES)}, not {status!r}")
        query = query.where(FollowUp.status == status)
    if owner is not None:
        query = query.where(FollowUp.owner == owner)
    if overdue_at is not None:
        query = query.where(FollowUp.status == "open", FollowUp.due_at.is_not(None), FollowUp.due_at <= overdue_at)
    return query.order_by(FollowUp.due_at.is_(None), FollowUp.due_at, FollowUp.incident_id, FollowUp.number)


def listed(session: Session, *, status: str | None = None, owner: str | None = None,
           overdue_at: datetime | None = None, limit: int = 500) -> list[FollowUpRow]:
    """Follow-ups across incidents (see ``listing``); ``owner``: a Slack user id;
    ``overdue_at``: only open ones due by then (a follow-up is overdue from its due time on)."""
    query = listing(select(FollowUp), status=status, owner=owner, overdue_at=overdue_at)
    return [FollowUpRow.from_orm(r) for r in session.execute(query.limit(limit)).scalars()]


def count_overdue(session: Session, now: datetime) -> int:
    return int(session.execute(select(func.count()).select_from(FollowUp).where(
        FollowUp.status == "open", FollowUp.due_at.is_not(None), FollowUp.due_at <= now)).scalar_one())


def counts_by_status(session: Session, incident_id: int) -> dict[str, int]:
    rows = session.execute(select(FollowUp.status, func.count()).where(FollowUp.incident_id == incident_id)
                           .group_by(FollowUp.status))
    return {str(status): int(count) for status, count in rows.all()}


def close(session: Session, followup_id: int, *, status: str, by: str, reason: str | None, now: datetime) -> bool:
    """Mark an open follow-up done or dropped; False if it was not open any more."""
    result = session.execute(update(FollowUp).where(FollowUp.id == followup_id, FollowUp.status == "open").values(
        status=status, closed_at=now, closed_by=by, close_reason=reason, updated_at=now))
    return rows_affected(result) == 1


def set_due(session: Session, followup_id: int, *, due_at: datetime | None, now: datetime) -> bool:
    """Move an open follow-up's due time (None: no due time); False if it is not open."""
    result = session.execute(update(FollowUp).where(FollowUp.id == followup_id, FollowUp.status == "open").values(
        due_at=due_at, updated_at=now))
    return rows_affected(result) == 1


def set_tracker_issue(session: Session, followup_id: int, *, tracker: str, key: str, url: str, now: datetime) -> None:
    session.execute(update(FollowUp).where(FollowUp.id == followup_id).values(
        tracker=tracker, tracker_key=key, tracker_url=url, tracker_checked_at=now, updated_at=now))


def open_with_tracker_issue(session: Session, limit: int = 200) -> list[FollowUpRow]:
    """Open follow-ups that have an issue in a tracker, least recently checked first."""
    query = (select(FollowUp).where(FollowUp.status == "open", FollowUp.tracker_key.is_not(None))
             .order_by(FollowUp.tracker_checked_at.is_not(None), FollowUp.tracker_checked_at, FollowUp.id).limit(limit))
    return [FollowUpRow.from_orm(r) for r in session.execute(query).scalars()]


def mark_checked(session: Session, followup_ids: Sequence[int], now: datetime) -> None:
    if followup_ids:
        session.execute(update(FollowUp).where(FollowUp.id.in_(list(followup_ids))).values(tracker_checked_at=now))
