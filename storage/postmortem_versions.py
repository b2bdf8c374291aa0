"""Saved versions of a postmortem's Markdown, numbered per incident from 1 and never changed.

The caller holds the incident's lock when it saves one, so two people saving at once get
consecutive numbers; the unique (incident, number) constraint is the backstop if not.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from storage.models import PostmortemVersion
from storage.rows import PostmortemVersionRow, VersionSummary


def add_version(session: Session, incident_id: int, *, body: str, author: str, now: datetime) -> PostmortemVersionRow:
    if not author or len(author) > 60:
        raise ValueError(f"author must be a Slack user id of 1 to 60 characters, not {author[:80]!r}")
    number = int(session.execute(select(func.coalesce(func.max(PostmortemVersion.number), 0))
                                 .where(PostmortemVersion.incident_id == incident_id)).scalar_one()) + 1
    version_id = session.execute(insert(PostmortemVersion).values(
        incident_id=incident_id, number=number, body=body, author=author, created_at=now,
    ).returning(PostmortemVersion.id)).scalar_one()
    return PostmortemVersionRow(id=int(version_id), incident_id=incident_id, number=number, body=body, author=author,
                                created_at=now)


def latest_version(session: Session, incident_id: int) -> PostmortemVersionRow | None:
    row = session.execute(select(PostmortemVersion).where(PostmortemVersion.incident_id == incident_id)
                          .order_by(PostmortemVersion.number.desc()).limit(1)).scalar_one_or_none()
    return PostmortemVersionRow.from_orm(row) if row is not None else None


def version(session: Session, incident_id: int, number: int) -> PostmortemVersionRow | None:
    row = session.execute(select(PostmortemVersion).where(PostmortemVersion.incident_id == incident_id,
                                                          PostmortemVersion.number == number)).scalar_one_or_none()
    return PostmortemVersionRow.from_orm(row) if row is not None else None


def versions(session: Session, incident_id: int, *, limit: int = 200) -> list[VersionSummary]:
    """The latest ``limit`` versions, newest first, without their bodies (only their length)."""
    rows = session.execute(
        select(PostmortemVersion.id, PostmortemVersion.number, PostmortemVersion.author, PostmortemVersion.created_at,
               func.length(PostmortemVersion.body))
        .where(PostmortemVersion.incident_id == incident_id).order_by(PostmortemVersion.number.desc()).limit(limit))
    return [VersionSummary(id=int(i), incident_id=incident_id, number=int(n), author=a, created_at=c, length=int(size))
            for i, n, a, c, size in rows]
