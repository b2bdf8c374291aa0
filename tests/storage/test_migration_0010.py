"""Revision 0010 gives each alert group the body before its last, which the delivery's upsert
hands back: a group stored before the upgrade knows its next identical re-send, on SQLite and
PostgreSQL; and the revision undoes itself."""

from __future__ import annotations

import hashlib

from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from storage import alerting
from storage.database import Database
from storage.migrate import _config, upgrade
from tests.support.workspace import T0

KEY = '{}:{alertname="DiskFilling"}'


def digest(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


async def touch(db: Database, body: str) -> alerting.GroupRow:
    """A delivery of the group with this body, as the webhook path upserts it."""
    return await db.write(alerting.lock_group, group_key=KEY, receiver="bot",
                          group_labels={"alertname": "DiskFilling"}, status="firing", body_sha256=digest(body), now=T0)


def group_columns(connection: Connection) -> set[str]:
    return {str(c["name"]) for c in inspect(connection).get_columns("alert_groups")}


async def test_a_group_stored_before_the_upgrade_knows_its_next_identical_resend(empty_db: Database) -> None:
    db = empty_db
    await upgrade(db, "0009")
    async with db.transaction() as session:  # as a bot at 0009 stored it
        await session.execute(text(
            "INSERT INTO alert_groups (group_key, receiver, group_labels, last_status, first_seen_at, last_seen_at, "
            "last_body_sha256) VALUES (:key, 'bot', '{}', 'firing', :at, :at, :sha)"),
            {"key": KEY, "at": T0.replace(tzinfo=None), "sha": digest("first")})

    assert await upgrade(db) == ("0009", "0010")

    again = await touch(db, "first")
    assert again.previous_body_sha256 == digest("first")  # the same body as the last: a re-send
    changed = await touch(db, "second")
    assert changed.previous_body_sha256 == digest("first")  # what was last before this delivery
    assert (await touch(db, "second")).previous_body_sha256 == digest("second")
    assert changed.id == again.id


async def test_a_new_group_has_no_previous_body(empty_db: Database) -> None:
    await upgrade(empty_db)

    group = await touch(empty_db, "first")

    assert group.previous_body_sha256 is None and group.incident_id is None and group.route is None


async def test_downgrading_0010_removes_only_its_column(empty_db: Database) -> None:
    db = empty_db
    await upgrade(db)
    await touch(db, "first")

    async with db.connection() as conn, conn.begin():
        await conn.run_sync(lambda sync: command.downgrade(_config(sync), "0009"))
        columns = await conn.run_sync(group_columns)
        kept = (await conn.execute(text("SELECT last_body_sha256 FROM alert_groups"))).scalar_one()

    assert "previous_body_sha256" not in columns and "last_body_sha256" in columns
    assert kept == digest("first")
