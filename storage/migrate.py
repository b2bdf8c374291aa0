"""Schema migrations with Alembic, driven from code (no alembic.ini to carry around).

Alembic is imported only when a migration has to run (or its scripts are read): a start on a
current schema, and every readiness probe, compare the database's ``alembic_version`` with
:data:`SCHEMA_HEAD` instead, which saves Alembic's import and the parsing of every migration
script (deferred for start-up).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from storage.database import Database
from storage.errors import SchemaOutOfDate

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
# The newest migration's revision: a new migration changes it too
# (tests/storage/test_migrations.py checks it against Alembic's scripts).
SCHEMA_HEAD = "0010"
VERSION_TABLE = "alembic_version"  # Alembic's own


def _config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The head as Alembic reads it from the migration scripts."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None, "no migrations found"
    return head


def _current(connection: Connection) -> str | None:
    """The database's revision, read as Alembic's ``MigrationContext.get_current_revision``
    does: none without the version table or a row in it."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    versions = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    if len(versions) > 1:
        raise SchemaOutOfDate(f"database schema has several heads ({', '.join(versions)}); this bot has one")
    return versions[0] if versions else None


async def current_revision(db: Database) -> str | None:
    async with db.connection() as conn:
        return await conn.run_sync(_current)


async def upgrade(db: Database, revision: str = "head") -> tuple[str | None, str]:
    """Bring the schema to ``revision``; returns (revision before, revision after)."""
    async with db.connection() as conn, conn.begin():
        before = await conn.run_sync(_current)
        if revision == "head" and before == SCHEMA_HEAD:
            return before, before
        from alembic import command

        await conn.run_sync(lambda sync_conn: command.upgrade(_config(sync_conn), revision))
        after = await conn.run_sync(_current)
    return before, after or ""


async def ensure_current(db: Database) -> None:
    """Raise SchemaOutOfDate, naming the fix, unless the schema is at head."""
    current = await current_revision(db)
    if current != SCHEMA_HEAD:
        raise SchemaOutOfDate(
            f"database schema is at revision {current or 'none (empty database)'}, "
            f"this version needs {SCHEMA_HEAD}: run `incident-bot db upgrade`"
        )
