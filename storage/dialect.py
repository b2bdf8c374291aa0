"""The one place that knows which SQL dialect an upsert needs."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_ignoring_conflicts(session: Session, model: Any) -> Any:
    """An INSERT for ``model`` that supports ``on_conflict_do_nothing`` on this session's database."""
    dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    return dialect.insert(getattr(model, "__table__", model))  # Core: no ORM bulk machinery per statement


def locked(session: Session, query: Any) -> Any:
    """``query`` with FOR UPDATE on PostgreSQL. SQLite needs none: a writer holds the
    database lock from BEGIN IMMEDIATE to commit."""
    return query.with_for_update() if session.bind.dialect.name == "postgresql" else query
