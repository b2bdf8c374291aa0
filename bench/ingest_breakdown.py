"""Where a delivery's time goes, without HTTP: the ingest path alone, one delivery at a time.

Runs the same workload as bench/webhook_ingest.py (same bodies, same seed) through
``parse_webhook`` and ``Ingestor.ingest`` in this process, sequentially, on a fresh SQLite
file, and prints per outcome: SQL statements per delivery, aiosqlite round trips to its
worker thread per delivery, and mean wall time. Also a micro-benchmark of one trivial
statement through each layer (sqlite3, aiosqlite, SQLAlchemy sync and async).

    .venv/bin/python bench/ingest_breakdown.py             # ~30 s
    .venv/bin/python bench/ingest_breakdown.py --requests 1000

Pin it to one CPU (``taskset -c 1 ...``) to mimic the bot's share of a 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import aiosqlite
import aiosqlite.core
from sqlalchemy import create_engine, event, text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.webhook_ingest import workloads  # noqa: E402
from bot.clock import utcnow  # noqa: E402
from bot.domain.notification import parse_webhook  # noqa: E402
from bot.incident.ingest import Ingestor  # noqa: E402
from bot.playbook import load_playbooks  # noqa: E402
from storage.database import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402

ROUND_TRIPS = [0]
_original_execute = aiosqlite.core.Connection._execute


async def _counting_execute(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
    ROUND_TRIPS[0] += 1  # every aiosqlite call is one hop to its worker thread and back
    return await _original_execute(self, fn, *args, **kwargs)


async def breakdown(url: str, args: argparse.Namespace) -> None:
    aiosqlite.core.Connection._execute = _counting_execute  # type: ignore[method-assign]
    db = Database(url)
    await upgrade(db)
    playbooks = load_playbooks(REPO / "playbooks")
    ingestor = Ingestor(db, lambda: playbooks, utcnow)
    workload, _ = workloads(args)  # the same bodies as bench/webhook_ingest.py's, no warm-up
    statements = [0]

    def _count(*_args: Any) -> None:
        statements[0] += 1

    for engine in db.engines:  # the async engine's and SQLite's writer thread's
        event.listen(engine, "before_cursor_execute", _count)

    per: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    parse_time = 0.0
    started, cpu_started = time.perf_counter(), time.process_time()
    if args.concurrency > 1:
        await _concurrently(ingestor, workload.bodies, args.concurrency, statements)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        await db.dispose()
        n = len(workload.bodies)
        print(f"ingest only (no HTTP), {args.concurrency} at a time (the writer commits them in batches), SQLite: "
              f"{n / wall:.0f} deliveries/s, {1000 * cpu / n:.2f} ms CPU per delivery (parsing included), "
              f"{statements[0] / n:.1f} statements per delivery")
        return
    for body in workload.bodies:
        t0 = time.perf_counter()
        notification = parse_webhook(body)
        t1 = time.perf_counter()
        s0, r0 = statements[0], ROUND_TRIPS[0]
        result = await ingestor.ingest(body, notification)
        t2 = time.perf_counter()
        row = per[result.outcome.value]
        row["n"] += 1
        row["statements"] += statements[0] - s0
        row["round trips"] += ROUND_TRIPS[0] - r0
        row["seconds"] += t2 - t1
        parse_time += t1 - t0
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    await db.dispose()
    aiosqlite.core.Connection._execute = _original_execute  # type: ignore[method-assign]

    n = len(workload.bodies)
    print(f"ingest only (no HTTP), sequential, SQLite: {n / wall:.0f} deliveries/s, "
          f"{1000 * cpu / n:.2f} ms CPU per delivery, parse_webhook {1000 * parse_time / n:.2f} ms")
    print(f"{'outcome':<11}{'deliveries':>11}{'statements':>12}{'round trips':>13}{'ms each':>9}")
    for outcome, row in sorted(per.items(), key=lambda kv: -kv[1]["n"]):
        k = row["n"]
        print(f"{outcome:<11}{int(k):>11}{row['statements'] / k:>12.1f}{row['round trips'] / k:>13.1f}"
              f"{1000 * row['seconds'] / k:>9.2f}")


async def _concurrently(ingestor: Ingestor, bodies: list[bytes], concurrency: int, statements: list[int]) -> None:
    """As the server runs them: ``concurrency`` deliveries in flight, each parsed then ingested."""
    queue = iter(bodies)

    async def worker() -> None:
        for body in queue:
            await ingestor.ingest(body, parse_webhook(body))

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def micro(directory: Path, n: int = 2000) -> None:
    """One trivial statement through each layer, in microseconds."""
    results: list[tuple[str, float]] = []
    conn = sqlite3.connect(directory / "micro.db")
    t = time.perf_counter()
    for _ in range(n):
        conn.execute("select 1").fetchall()
    results.append(("sqlite3, sync", time.perf_counter() - t))
    conn.close()

    async with aiosqlite.connect(directory / "micro.db") as adb:
        t = time.perf_counter()
        for _ in range(n):
            async with adb.execute("select 1") as cursor:
                await cursor.fetchall()
        results.append(("aiosqlite", time.perf_counter() - t))

    engine = create_engine(f"sqlite:///{directory / 'micro.db'}")
    with Session(engine) as session:
        t = time.perf_counter()
        for _ in range(n):
            session.execute(text("select 1")).all()
        results.append(("SQLAlchemy Session, pysqlite (sync)", time.perf_counter() - t))
    engine.dispose()

    aengine = create_async_engine(f"sqlite+aiosqlite:///{directory / 'micro.db'}")
    async with async_sessionmaker(aengine)() as asession:
        t = time.perf_counter()
        for _ in range(n):
            (await asession.execute(text("select 1"))).all()
        results.append(("SQLAlchemy AsyncSession, aiosqlite (what the bot uses)", time.perf_counter() - t))
    await aengine.dispose()
    print("one `select 1`, mean:")
    for name, seconds in results:
        print(f"  {1e6 * seconds / n:8.1f} us  {name}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--groups", type=int, default=300)
    parser.add_argument("--alerts", type=int, default=10)
    parser.add_argument("--workload", choices=("fresh", "mixed"), default="fresh",
                        help="as bench/webhook_ingest.py's --workload (default fresh)")
    parser.add_argument("--update-share", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--storm", action="store_true", help="all groups in one cluster (see webhook_ingest.py)")
    parser.add_argument("--concurrency", type=int, default=1,
                        help="deliveries in flight (default 1: one at a time, with the per-outcome table); "
                             "more: the writer's group commit as under load, totals only")
    parser.set_defaults(warmup=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="incident-bot-breakdown-") as tmp:
        directory = Path(tmp)
        asyncio.run(breakdown(f"sqlite+aiosqlite:///{directory / 'bench.db'}", args))
        asyncio.run(micro(directory))
    return 0


if __name__ == "__main__":
    sys.exit(main())
