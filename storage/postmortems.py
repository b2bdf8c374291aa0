"""Postmortems as tracked work: one per incident that needs one, with an owner, a due
time (stopped while the incident is reopened), a status and where it was published."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from storage.dialect import insert_ignoring_conflicts
from storage.models import Postmortem
from storage.rows import PostmortemRow

STATUSES = ("draft", "in_review", "published")


def get(session: Session, incident_id: int) -> PostmortemRow | None:
    row = session.execute(select(Postmortem).where(Postmortem.incident_id == incident_id)
                          .execution_options(populate_existing=True)).scalar_one_or_none()
    return PostmortemRow.from_orm(row) if row is not None else None


def start(session: Session, incident_id: int, *, owner: str, due_at: datetime | None, now: datetime) -> PostmortemRow:
    """The postmortem of an incident that resolved for the first time (no-op if it exists)."""
    session.execute(insert_ignoring_conflicts(session, Postmortem).values(
        incident_id=incident_id, status="draft", owner=owner, due_at=due_at, suspended_remaining_seconds=None,
        escalated_at=None, published_at=None, published_by=None, document=None, created_at=now, updated_at=now,
    ).on_conflict_do_nothing(index_elements=["incident_id"]))
    found = get(session, incident_id)
    assert found is not None
    return found


def change(session: Session, incident_id: int, now: datetime, **values: Any) -> None:
    session.execute(update(Postmortem).where(Postmortem.incident_id == incident_id).values(updated_at=now, **values))


def overdue_unpublished(session: Session, now: datetime) -> list[PostmortemRow]:
    query = select(Postmortem).where(Postmortem.status != "published", Postmortem.due_at.is_not(None),
                                     Postmortem.due_at < now)
    return [PostmortemRow.from_orm(r) for r in session.execute(query).scalars()]


def all_of(session: Session, since: datetime | None = None) -> list[PostmortemRow]:
    query = select(Postmortem)
    if since is not None:
        query = query.where(Postmortem.created_at >= since)
    return [PostmortemRow.from_orm(r) for r in session.execute(query.order_by(Postmortem.incident_id)).scalars()]


def record_document(session: Session, incident_id: int, document: dict[str, object], now: datetime, /) -> None:
    """Where the published document is (a canvas or a file), recorded the moment it exists."""
    change(session, incident_id, now, document=document)


def count_overdue(session: Session, now: datetime) -> int:
    return int(session.execute(select(func.count()).select_from(Postmortem).where(
        Postmortem.status != "published", Postmortem.due_at.is_not(None), Postmortem.due_at < now)).scalar_one())
