"""Shared fixtures: the same tests run against SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from storage.database import Database
from tests.support import databases
from tests.support.integration import unavailable

pytest_plugins = ["tests.support.slack"]


@pytest.fixture(scope="session", autouse=True)
def _logging() -> None:
    """The bot's real logging pipeline, so caplog sees structlog lines too."""
    from bot.observability.logs import configure_logging
    from tests.support.bot import API_TOKEN, WEBHOOK_TOKEN

    configure_logging("INFO", "console", secrets=[WEBHOOK_TOKEN, API_TOKEN])


REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return asyncio.run(databases.migrated_sqlite_template(tmp_path_factory.mktemp("sqlite-template")))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str | None]:
    url = asyncio.run(databases.create_postgres_database())
    yield url
    if url is not None:
        asyncio.run(databases.drop_postgres_database(url))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        return databases.sqlite_copy(sqlite_template, tmp_path)
    url = request.getfixturevalue("postgres_url")
    if url is None:
        unavailable(f"PostgreSQL is not reachable at {databases.POSTGRES_ADMIN_URL}")
    asyncio.run(databases.truncate_all(url))
    return url


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.dispose()
