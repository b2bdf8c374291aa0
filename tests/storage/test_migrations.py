"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Index, MetaData, String
from sqlalchemy.engine import Connection

from storage.database import Database
from storage.errors import SchemaOutOfDate
from storage.migrate import SCHEMA_HEAD, current_revision, ensure_current, head_revision, upgrade
from storage.models import Base

# Same options as storage/migrations/env.py (compare_type) plus server defaults, so a
# default added to a model without a migration is caught too.
COMPARE_OPTIONS = {"compare_type": True, "compare_server_default": True}


async def schema_diff(db: Database, metadata: MetaData) -> list[Any]:
    """Alembic autogenerate's differences between the live database and ``metadata``."""
    def compare(connection: Connection) -> list[Any]:
        return list(compare_metadata(MigrationContext.configure(connection, opts=COMPARE_OPTIONS), metadata))

    async with db.connection() as conn:
        return await conn.run_sync(compare)


def diff_kinds(diff: list[Any]) -> set[str]:
    """Operation names; modify_* changes come as a list of tuples per column."""
    kinds = set()
    for entry in diff:
        for op in entry if isinstance(entry, list) else [entry]:
            kinds.add(op[0])
    return kinds


def test_the_head_the_bot_checks_for_is_the_newest_migration() -> None:
    """Readiness and a restart compare the database with SCHEMA_HEAD, not with Alembic's
    scripts: a new migration must move it, or a bot would refuse its own schema."""
    assert head_revision() == SCHEMA_HEAD


async def test_migrated_database_matches_the_models_exactly(db: Database) -> None:
    assert await current_revision(db) == head_revision()

    # No type-variant noise to ignore: the migration spells the variants out
    # (BigInteger/Integer on SQLite, JSON/JSONB on PostgreSQL) just as the models do.
    assert await schema_diff(db, Base.metadata) == []


async def test_schema_comparison_notices_a_model_change_without_a_migration(db: Database) -> None:
    """Guards the test above against comparing nothing (wrong metadata, reflection that sees no tables)."""
    changed = MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(changed)
    incidents = changed.tables["incidents"]
    incidents.append_column(Column("impact", String(200), nullable=True))
    Index("ix_incidents_severity", incidents.c.severity)
    incidents.c.title.type = String(300)

    kinds = diff_kinds(await schema_diff(db, changed))

    assert {"add_column", "add_index", "modify_type"} <= kinds


async def test_ensure_current_refuses_an_empty_database_and_names_the_command(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    try:
        with pytest.raises(SchemaOutOfDate) as raised:
            await ensure_current(db)
        assert "run `incident-bot db upgrade`" in str(raised.value)
        assert "empty database" in str(raised.value)

        assert await upgrade(db) == (None, head_revision())
        await ensure_current(db)  # at head: no complaint
    finally:
        await db.dispose()
