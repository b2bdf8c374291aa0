"""Fixtures of the storage tests: a database with no schema at all, of each kind, for the
tests that migrate it step by step."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.database import Database
from tests.support import databases
from tests.support.integration import unavailable


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        url: str | None = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    else:
        url = await databases.create_empty_postgres_database()
        if url is None:
            unavailable(f"PostgreSQL is not reachable at {databases.POSTGRES_ADMIN_URL}")
    assert url is not None
    db = Database(url)
    yield db
    await db.dispose()
    if request.param == "postgresql":
        await databases.drop_postgres_database(url)
