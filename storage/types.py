"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import JSON, DateTime
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


class _SQLiteDateTimeText(sqlite.DATETIME):
    """SQLite's DATETIME column (the schema is unchanged) whose text UTCDateTime converts
    itself, with the C ``isoformat``/``fromisoformat`` instead of SQLAlchemy's Python
    formatting and regular expression: the same text, "2026-11-22 10:00:00.000000", at a
    fraction of the cost on the webhook path, which binds four timestamps per alert."""

    def bind_processor(self, dialect: Dialect) -> None:
        return None

    def result_processor(self, dialect: Dialect, coltype: object) -> None:
        return None


KEPT_TEXTS = 256  # a delivery binds some twenty distinct instants


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp.

    SQLite has no timestamp type and hands back naive values; this stores UTC and
    always returns an aware datetime so comparisons never mix naive and aware.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[datetime]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(_SQLiteDateTimeText())  # type: ignore[no-untyped-call]  # untyped upstream
        return super().load_dialect_impl(dialect)

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | str | None:
        if value is None:
            return None
        if value.tzinfo is not UTC:  # most values are UTC already (the clock's, parsed alerts')
            if value.tzinfo is None:
                raise ValueError("naive datetime given to a UTC column")
            value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None).isoformat(" ", "microseconds")
        return value

    def bind_processor(self, dialect: Dialect) -> Callable[[datetime | None], datetime | str | None]:
        """On SQLite, the conversion itself rather than TypeDecorator's generic wrapper around
        :meth:`process_bind_param`: the webhook path binds about forty timestamps a delivery."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)  # type: ignore[return-value]  # PostgreSQL's has no impl step

        # A write binds the same instant many times: a delivery's ``now`` is each row's
        # first_seen_at, recorded_at, created_at and available_at, and each alert's starts_at
        # is its row's and its ``alert.fired`` event's. The texts of the latest instants are
        # kept (equal instants have one UTC text, whatever their zone); threads share the
        # dictionary, whose single lookups and stores are atomic.
        kept: dict[datetime, str] = {}

        def to_text(value: datetime | None) -> str | None:
            if value is None:
                return None
            text = kept.get(value)
            if text is not None:
                return text
            if value.tzinfo is UTC:
                text = value.isoformat(" ", "microseconds")[:-6]  # without "+00:00"
            else:
                text = cast("str", self.process_bind_param(value, dialect))  # converts, or refuses a naive one
            if len(kept) >= KEPT_TEXTS:
                kept.clear()
            kept[value] = text
            return text

        return to_text

    def process_result_value(self, value: datetime | str | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # SQLite's text
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class _JSONDocument(TypeDecorator[Any]):
    """JSONB on PostgreSQL (indexable, compact), plain JSON text elsewhere. Chosen when a
    dialect asks rather than with ``with_variant(JSONB(), ...)``, so that a bot on SQLite never
    imports SQLAlchemy's PostgreSQL dialect (about 80 ms of start-up)."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(JSON())


JSONDocument = _JSONDocument()
