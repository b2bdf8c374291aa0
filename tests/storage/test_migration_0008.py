"""Revision 0008 adds the web workspace's tables and indexes to a database at 0007 without
touching what is stored, and undoes itself, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from storage import alerting, postmortem_versions, workspace_queries
from storage.database import Database
from storage.migrate import _config, current_revision, head_revision, upgrade
from tests.support.workspace import T0, insert_incident, notes

NEW_TABLES = {"web_sessions", "web_signins", "postmortem_versions"}
NEW_INDEXES = {"incident_events": {"ix_events_incident_id", "ix_events_incident_kind"},
               "incidents": {"ix_incidents_severity_id", "ix_incidents_route_id"},
               "alerts": {"ix_alerts_incident_start"}}


def schema(connection: Connection) -> tuple[set[str], dict[str, set[str]]]:
    inspector = inspect(connection)
    return (set(inspector.get_table_names()),
            {table: {str(i["name"]) for i in inspector.get_indexes(table)} for table in NEW_INDEXES})


async def read_schema(db: Database) -> tuple[set[str], dict[str, set[str]]]:
    async with db.connection() as conn:
        return await conn.run_sync(schema)


async def test_upgrading_from_0007_keeps_incidents_and_timelines_and_adds_the_workspace(empty_db: Database) -> None:
    db = empty_db
    await upgrade(db, "0007")
    incident_id = await db.write(lambda s: insert_incident(s, "stored before the upgrade"))
    ids = await db.write(notes, incident_id, ["one", "two", "three"])
    tables, _ = await read_schema(db)
    assert not NEW_TABLES & tables

    assert await upgrade(db) == ("0007", head_revision())

    tables, indexes = await read_schema(db)
    assert tables >= NEW_TABLES
    assert all(NEW_INDEXES[table] <= indexes[table] for table in NEW_INDEXES)
    incident = await db.read(alerting.get_incident, incident_id)
    assert incident is not None and incident.title == "stored before the upgrade"
    window = await db.read(workspace_queries.timeline_window, incident_id, before_id=None, limit=2)
    assert [e.id for e in window.events] == ids[1:] and window.has_older
    version = await db.write(postmortem_versions.add_version, incident_id, body="# after", author="U1", now=T0)
    assert version.number == 1


async def test_downgrading_0008_removes_only_what_it_added(empty_db: Database) -> None:
    db = empty_db
    await upgrade(db)
    incident_id = await db.write(lambda s: insert_incident(s, "kept"))

    async with db.connection() as conn, conn.begin():
        await conn.run_sync(lambda sync_conn: command.downgrade(_config(sync_conn), "0007"))

    assert await current_revision(db) == "0007"
    tables, indexes = await read_schema(db)
    assert not NEW_TABLES & tables
    assert not any(NEW_INDEXES[table] & indexes[table] for table in NEW_INDEXES)
    assert "ix_events_incident_time" in indexes["incident_events"]
    assert await db.read(alerting.get_incident, incident_id) is not None
