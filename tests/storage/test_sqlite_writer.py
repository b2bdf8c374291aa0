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


async def test_the_write_ahead_log_is_checkpointed_in_the_background_and_stays_small(tmp_path: Path) -> None:
    """Automatic checkpoints are off (they would stall the writer on fsync), so without the
    background checkpointer the log would grow with every write the bot ever made."""
    path = tmp_path / "wal.db"
    db = Database(f"sqlite+aiosqlite:///{path}", checkpoint_interval=0.02)
    try:
        await db.write(lambda session: session.execute(text("CREATE TABLE t (v TEXT)")))
        row = "x" * 4000  # about a page each
        largest_log = 0
        for _ in range(20):
            await db.write(lambda session: session.execute(text("INSERT INTO t (v) VALUES (:v)"),
                                                           [{"v": row}] * 100))
            seen = db.checkpoints
            while db.checkpoints < seen + 2:  # one that may have started before this write, one after
                await asyncio.sleep(0.01)
            largest_log = max(largest_log, Path(f"{path}-wal").stat().st_size)
        count = await db.read(lambda session: session.execute(text("SELECT count(*) FROM t")).scalar_one())
    finally:
        await db.dispose()
    assert count == 2000
    written = 2000 * 4000
    assert largest_log < written / 5, f"the log grew to {largest_log} bytes for {written} written"
