"""Real databases for tests: a migrated SQLite file per test, or a PostgreSQL database per run."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from storage.database import Database
from storage.migrate import upgrade
from storage.models import Base

POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def create_empty_postgres_database() -> str | None:
    """Create a fresh database with no schema at all; None when PostgreSQL is not reachable."""
    name = f"incident_bot_test_{uuid.uuid4().hex[:10]}"
    try:
        conn = await asyncpg.connect(_asyncpg_dsn(POSTGRES_ADMIN_URL), timeout=3)
    except (TimeoutError, OSError, asyncpg.PostgresError):
        return None
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


async def create_postgres_database() -> str | None:
    """Create a fresh, migrated database; None when PostgreSQL is not reachable."""
    url = await create_empty_postgres_database()
    if url is None:
        return None
    db = Database(url)
    try:
        await upgrade(db)
    finally:
        await db.dispose()
    return url


async def drop_postgres_database(url: str) -> None:
    name = make_url(url).database
    conn = await asyncpg.connect(_asyncpg_dsn(POSTGRES_ADMIN_URL), timeout=3)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def truncate_all(url: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(url), timeout=3)
    try:
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        await conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


async def migrated_sqlite_template(directory: Path) -> Path:
    path = directory / "template.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        await upgrade(db)
    finally:
        await db.dispose()
    return path


def sqlite_copy(template: Path, directory: Path) -> str:
    target = directory / "incident-bot.db"
    shutil.copyfile(template, target)
    return f"sqlite+aiosqlite:///{target}"
