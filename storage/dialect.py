"""The one place that knows which SQL dialect an upsert needs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from sqlalchemy import Select
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from storage.models import Base, table_of

if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql

_Query = TypeVar("_Query", bound="Select[*tuple[Any, ...]]")

Upsert: TypeAlias = "postgresql.Insert | sqlite.Insert"


def dialect_name(session: Session) -> str:
    return session.get_bind().dialect.name


def insert_ignoring_conflicts(session: Session, model: type[Base]) -> Upsert:
    """An INSERT for ``model`` that supports ``on_conflict_do_nothing`` on this session's database."""
    table = table_of(model)  # Core: no ORM bulk machinery per statement
    if dialect_name(session) == "postgresql":
        from sqlalchemy.dialects import postgresql  # not imported on SQLite (deferred for start-up)

        return postgresql.insert(table)
    return sqlite.insert(table)


def locked(session: Session, query: _Query) -> _Query:
    """``query`` with FOR UPDATE on PostgreSQL. SQLite needs none: a writer holds the
    database lock from BEGIN IMMEDIATE to commit."""
    return query.with_for_update() if dialect_name(session) == "postgresql" else query
