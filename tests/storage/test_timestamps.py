"""Timestamps stored on SQLite as UTC text and read back aware, whatever order they are bound in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert, select, text
from sqlalchemy.dialects import sqlite

from storage.types import UTCDateTime

NOW = datetime(2026, 11, 22, 22, 57, 48, 907557, tzinfo=UTC)


def test_every_value_is_converted_to_its_own_text_when_instants_repeat_and_alternate() -> None:
    to_text = UTCDateTime().bind_processor(sqlite.dialect())
    starts = [NOW - timedelta(minutes=n) for n in range(4)]
    # As a delivery binds them: each alert's own start between the delivery's repeated now.
    bound = [value for start in starts for value in (start, None, NOW, NOW)] + [starts[0], starts[0], NOW]
    expected = [None if v is None else v.replace(tzinfo=None).isoformat(" ", "microseconds") for v in bound]
    assert [to_text(value) for value in bound] == expected


def test_an_aware_time_in_another_zone_is_stored_as_utc_and_a_naive_one_refused() -> None:
    to_text = UTCDateTime().bind_processor(sqlite.dialect())
    paris = NOW.astimezone(timezone(timedelta(hours=1)))
    assert to_text(NOW) == "2026-11-22 22:57:48.907557"
    assert to_text(paris) == "2026-11-22 22:57:48.907557"
    with pytest.raises(ValueError, match="naive datetime"):
        to_text(NOW.replace(tzinfo=None))


def test_rows_written_with_repeated_instants_read_back_as_written(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'times.db'}")
    table = Table("times", MetaData(), Column("id", Integer, primary_key=True), Column("at", UTCDateTime()))
    table.metadata.create_all(engine)
    written = [NOW, NOW - timedelta(seconds=1), NOW, NOW + timedelta(microseconds=1), NOW]
    with engine.begin() as connection:
        connection.execute(insert(table), [{"at": value} for value in written])
        stored = connection.execute(text("select at from times order by id")).scalars().all()
        read = connection.execute(select(table.c.at).order_by(table.c.id)).scalars().all()
    engine.dispose()
    assert stored[:2] == ["2026-11-22 22:57:48.907557", "2026-11-22 22:57:47.907557"]
    assert read == written and all(value.tzinfo is UTC for value in read)
