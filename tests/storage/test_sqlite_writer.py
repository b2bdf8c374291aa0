"""SQLite's single writer commits queued writes together; one failing write must cost
only itself, never the writes that happened to share its batch."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from storage.database import Database
from storage.errors import Conflict


async def test_a_failing_write_in_a_batch_fails_alone_and_the_others_commit(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'writer.db'}")
    try:
        await db.write(lambda session: session.execute(text("CREATE TABLE t (v INTEGER UNIQUE)")))

        def insert(session: Any, value: int, hold: float = 0.0) -> int:
            time.sleep(hold)  # keeps the writer busy, so the writes behind it queue into one batch
            session.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": value})
            return value

        results = await asyncio.gather(
            db.write(insert, 0, 0.3),
            *(db.write(insert, v) for v in range(1, 6)),
            db.write(insert, 3),  # violates UNIQUE: only this write may fail
            *(db.write(insert, v) for v in range(6, 11)),
            return_exceptions=True,
        )
        stored = await db.read(lambda session: sorted(v for (v,) in session.execute(text("SELECT v FROM t"))))
    finally:
        await db.dispose()

    assert [type(r) for r in results].count(Conflict) == 1 and isinstance(results[6], Conflict)
    assert [r for r in results if not isinstance(r, Exception)] == list(range(11))
    assert stored == list(range(11))


async def test_a_write_that_fails_alone_rolls_back_its_own_statements(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'writer.db'}")
    try:
        await db.write(lambda session: session.execute(text("CREATE TABLE t (v INTEGER)")))

        def half_done(session: Any) -> None:
            session.execute(text("INSERT INTO t (v) VALUES (1)"))
            raise ValueError("changed my mind")

        with pytest.raises(ValueError, match="changed my mind"):
            await db.write(half_done)
        count = await db.read(lambda session: session.execute(text("SELECT count(*) FROM t")).scalar_one())
    finally:
        await db.dispose()
    assert count == 0
