"""A pooled PostgreSQL connection the server has ended (a restart, an administrator's
pg_terminate_backend) is replaced at checkout, without a ping per transaction: the next
write and the next read succeed instead of answering "database unavailable"."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from storage.database import Database
from tests.support.databases import POSTGRES_ADMIN_URL, _asyncpg_dsn
from tests.support.integration import unavailable

pytestmark = pytest.mark.integration


def _backend_pid(session: Session) -> int:
    return int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())


async def _terminate(pid: int) -> None:
    """End that backend and wait until the server has let it go."""
    admin = await asyncpg.connect(_asyncpg_dsn(POSTGRES_ADMIN_URL), timeout=3)
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
        for _ in range(100):
            if not await admin.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid):
                break
            await asyncio.sleep(0.05)
    finally:
        await admin.close()
    await asyncio.sleep(0.2)  # the bot's event loop reads the closed socket


async def test_a_connection_the_server_ended_is_replaced_before_a_write_uses_it(postgres_url: str | None) -> None:
    if postgres_url is None:
        unavailable(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}")
    db = Database(postgres_url, pool_size=1)
    try:
        first = await db.write(_backend_pid)
        await _terminate(first)

        second = await db.write(_backend_pid)
        async with db.reading() as session:
            await session.execute(text("SELECT 1"))

        await _terminate(second)
        async with db.reading() as session:
            third = int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())
    finally:
        await db.dispose()
    assert len({first, second, third}) == 3, "each ended connection was replaced by a new one"


async def test_a_transaction_sends_no_ping_of_its_own(postgres_url: str | None) -> None:
    """Of the simple queries asyncpg sends for one write (its prepared statements are not
    logged), only the transaction's own BEGIN and COMMIT: a ping would add BEGIN, ";" and
    ROLLBACK."""
    if postgres_url is None:
        unavailable(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}")
    db = Database(postgres_url, pool_size=1)
    try:
        await db.write(_backend_pid)  # the connection is made and pooled
        sent: list[str] = []
        async with db.reading() as session:
            raw = await session.connection()
            driver = (await raw.get_raw_connection()).driver_connection
        assert driver is not None
        driver.add_query_logger(lambda record: sent.append(record.query.strip().rstrip(";").upper()))
        await db.write(_backend_pid)
    finally:
        await db.dispose()
    assert sent == ["BEGIN", "COMMIT"], sent
