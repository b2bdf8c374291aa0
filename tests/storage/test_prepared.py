"""storage/prepared.py on both databases: the same rows and errors as Session.execute."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import bindparam, event, insert, select
from sqlalchemy.orm import Session

from storage.database import Database
from storage.errors import Conflict
from storage.models import AlertGroup, OutboxAction, table_of
from storage.prepared import Prepared

GROUPS, OUTBOX = table_of(AlertGroup), table_of(OutboxAction)
NOW = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
INSERT_GROUP = Prepared(insert(GROUPS).returning(GROUPS.c.id, GROUPS.c.first_seen_at, GROUPS.c.group_labels))
GROUP_BY_KEY = Prepared(select(GROUPS.c.id, GROUPS.c.group_labels, GROUPS.c.last_seen_at)
                        .where(GROUPS.c.group_key == bindparam("key")))


def group(key: str, labels: dict[str, str], seen: datetime = NOW) -> dict[str, object]:
    return {"group_key": key, "receiver": "r", "group_labels": labels, "last_status": "firing",
            "first_seen_at": seen, "last_seen_at": seen}


async def test_rows_come_back_converted_by_the_column_types(db: Database) -> None:
    labels = {"alertname": "Disk full", "note": 'quotes " and <b>'}

    def write(session: Session) -> list[tuple[object, ...]]:
        return INSERT_GROUP.values(session, group("{}:{a=\"b\"}", labels))

    [(group_id, first_seen, stored_labels)] = await db.write(write)
    assert first_seen == NOW and first_seen.tzinfo is not None  # aware UTC, to the microsecond
    assert stored_labels == labels

    def read(session: Session) -> list[dict[str, object]]:
        return GROUP_BY_KEY.rows(session, {"key": "{}:{a=\"b\"}"})

    assert await db.read(read) == [{"id": group_id, "group_labels": labels, "last_seen_at": NOW}]


async def test_many_rows_in_one_call_and_in_order(db: Database) -> None:
    later = NOW + timedelta(minutes=5)

    def write(session: Session) -> None:
        Prepared(insert(GROUPS)).execute_many(session, [group(f"g{i}", {"i": str(i)}, later) for i in range(5)])

    await db.write(write)

    def read(session: Session) -> list[tuple[object, ...]]:
        return Prepared(select(GROUPS.c.group_key, GROUPS.c.last_seen_at).order_by(GROUPS.c.id)).values(session, {})

    assert await db.read(read) == [(f"g{i}", later) for i in range(5)]


async def test_a_violated_constraint_is_sqlalchemys_error_and_writes_nothing(db: Database) -> None:
    def write(session: Session) -> None:
        Prepared(insert(GROUPS)).execute_many(session, [group("same", {}), group("other", {}), group("same", {})])

    with pytest.raises(Conflict):
        await db.write(write)

    def count(session: Session) -> list[tuple[object, ...]]:
        return Prepared(select(GROUPS.c.group_key)).values(session, {})

    assert await db.read(count) == []


async def test_statements_are_seen_by_sqlalchemys_cursor_events(db: Database) -> None:
    seen: list[str] = []

    def listener(*args: object) -> None:
        seen.append(str(args[2]).split()[0])

    for engine in db.engines:
        event.listen(engine, "before_cursor_execute", listener)

    def write(session: Session) -> None:
        INSERT_GROUP.values(session, group("k", {}))

    await db.write(write)
    assert "INSERT" in seen


def test_values_computed_in_python_are_refused_when_first_compiled() -> None:
    from sqlalchemy import create_engine

    engine = create_engine("sqlite://")
    with Session(engine) as session, pytest.raises(ValueError, match="state, attempts"):
        # the outbox's state and attempts have Python defaults: a Prepared must be given them
        Prepared(insert(OUTBOX)).execute(session, {"ordering_key": "k", "kind": "x", "payload": {},
                                                   "available_at": NOW, "created_at": NOW})
