"""The web workspace's reads on SQLite: timeline windows of a 50,000-event incident and the
incident list over 10,000 incidents, against the same reads on a 500-event incident.

One SQLite file, migrated with the bot's migrations, is filled (without timing) with
``--incidents`` (10,000) incidents across 4 severities and 8 routes, 2% of them open, each
with a few events, plus one incident of ``--big`` (50,000) events and one of ``--small`` (500),
whose events are written interleaved with the others' so that no timeline is one run of ids.
Then every read goes through ``Database.read`` on the bot's async engine (aiosqlite), as
the pages call it, and is timed ``--repeat`` (200) times: the median and p90 in ms per call.

Baselines in the same run: ``SELECT 1`` through ``Database.read`` (the floor of any read),
and for the timeline the first window of the 500-event incident: the 50k/500 ratio should be
about 1 (keyset on (incident_id, id): no growth with the timeline's length).

    .venv/bin/python bench/workspace_queries.py
    .venv/bin/python bench/workspace_queries.py --incidents 2000 --big 10000 --repeat 50   # quicker
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, insert, text

from bench.common import Results, code_version, percentile
from storage import workspace_queries as wq
from storage.database import Database
from storage.migrate import upgrade
from storage.models import Incident, IncidentEvent
from storage.rows import IncidentsPage, TimelineWindow

START = datetime(2026, 1, 1, tzinfo=UTC)
SEVERITIES = ("sev1", "sev2", "sev3", "sev4")
ROUTES = ("payments", "checkout", "search", "storage", "network", "auth", "batch", "edge")
WORDS = ("api", "database", "latency", "errors", "disk", "queue", "timeouts", "cpu", "100%", "node", "cert", "dns")
KINDS = ("note.added", "alert.fired", "alert.resolved", "update.posted", "command")


def incident_values(n: int, rng: random.Random, *, status: str | None = None, title: str | None = None) -> dict[str, Any]:
    opened = START + timedelta(hours=n)
    resolved = (status or ("investigating" if rng.random() < 0.02 else "resolved")) == "resolved"
    return {"title": title or f"{rng.choice(WORDS)} {rng.choice(WORDS)} in {rng.choice(ROUTES)} #{n}",
            "status": "resolved" if resolved else "investigating", "severity": rng.choice(SEVERITIES),
            "playbook": "default", "route": rng.choice(ROUTES), "source": "alertmanager", "declared_by": None,
            "commander": "U0CMD", "channel_name": f"inc-{n}", "channel_id": f"C{n:08d}", "header_ts": None,
            "roles": {"scribe": "U0SCRIBE"}, "storm_key": None,
            "policy": {"rotation": ["U1", "U2", "U3"], "ack_timeout_seconds": 300, "update_cadence_seconds": 1800},
            "opened_at": opened, "acknowledged_at": opened + timedelta(minutes=4), "mitigated_at": None,
            "resolved_at": opened + timedelta(hours=2) if resolved else None, "all_alerts_resolved_at": None,
            "updated_at": opened}


def event_values(incident_id: int, n: int, rng: random.Random) -> dict[str, Any]:
    at = START + timedelta(seconds=n)
    kind = rng.choice(KINDS)
    data: dict[str, Any] = ({"text": f"step {n}: drained node-{n % 500:03d}, error rate back to 0.{n % 10}%"}
                            if kind in ("note.added", "update.posted") else
                            {"fingerprint": f"{n:016x}", "alertname": "HighErrorRate", "detail": f"node-{n % 500}",
                             "labels": {"alertname": "HighErrorRate", "instance": f"node-{n % 500}", "cluster": "eu-1"}})
    return {"incident_id": incident_id, "occurred_at": at, "recorded_at": at, "kind": kind, "actor": "U0CMD",
            "data": data}


def fill(path: Path, incidents: int, big: int, small: int, seed: int = 7) -> tuple[int, int]:
    """The incidents and events, written with a plain sync engine; (big id, small id)."""
    rng = random.Random(seed)
    engine = create_engine(f"sqlite+pysqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(insert(Incident), [incident_values(n, rng) for n in range(incidents)])
        big_id = conn.execute(insert(Incident).returning(Incident.id),
                              incident_values(incidents, rng, status="investigating", title="the long storm")).scalar_one()
        small_id = conn.execute(insert(Incident).returning(Incident.id),
                                incident_values(incidents + 1, rng, status="investigating", title="a short one")).scalar_one()
        # Interleaved, so that no timeline is one run of ids: after every (big / small) of the long
        # incident's events one of the short one's, and after every 10 one of another incident's.
        events: list[dict[str, Any]] = []
        every = max(1, big // small)
        for n in range(big):
            events.append(event_values(big_id, n, rng))
            if n % every == every - 1 and n // every < small:
                events.append(event_values(small_id, n, rng))
            if n % 10 == 9:
                events.append(event_values(1 + (n // 10) % incidents, n, rng))
        for start in range(0, len(events), 5000):
            conn.execute(insert(IncidentEvent), events[start:start + 5000])
    engine.dispose()
    return int(big_id), int(small_id)


async def timed(cases: list[tuple[str, Callable[[], Awaitable[object]]]], repeat: int) -> dict[str, tuple[float, float, object]]:
    """Per case: (median ms, p90 ms, the last result) of ``repeat`` calls after 5 untimed ones,
    taken in rounds (each case once per round), so a change in the machine's load hits all alike."""
    results: dict[str, object] = {}
    for name, call in cases:
        for _ in range(5):
            results[name] = await call()
    samples: dict[str, list[float]] = {name: [] for name, _ in cases}
    for _ in range(repeat):
        for name, call in cases:
            started = time.perf_counter()
            results[name] = await call()
            samples[name].append(time.perf_counter() - started)
    return {name: (statistics.median(samples[name]) * 1000, percentile(samples[name], 0.9) * 1000, results[name])
            for name, _ in cases}


def size_of(result: object) -> str:
    if isinstance(result, TimelineWindow):
        return f"{len(result.events)} events"
    if isinstance(result, IncidentsPage):
        return f"{len(result.rows)} of {result.total:,}"
    if isinstance(result, list):
        return f"{len(result)} rows"
    if isinstance(result, tuple):
        return f"{len(result[0])} severities, {len(result[1])} routes"
    return str(result)


async def run(args: argparse.Namespace, path: Path) -> Results:
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        await upgrade(db)
        filled = time.perf_counter()
        big_id, small_id = fill(path, args.incidents, args.big, args.small)
        print(f"filled in {time.perf_counter() - filled:.1f} s: {args.incidents:,} incidents + 2, "
              f"{args.big:,} events on #{big_id}, {min(args.small, args.big):,} on #{small_id}, "
              f"{args.big // 10:,} on the others")
        latest = await db.read(wq.latest_event_id, big_id)
        assert latest is not None
        with sqlite3.connect(path) as conn:
            middle_id = conn.execute("SELECT id FROM incident_events WHERE incident_id = ? ORDER BY id LIMIT 1 OFFSET ?",
                                     (big_id, args.big // 2)).fetchone()[0]

        def page(**filters: Any) -> Callable[[], Awaitable[object]]:
            values = {"status": None, "severity": None, "route": None, "search": None, "page": 1, "per_page": 50}
            values.update(filters)
            return lambda: db.read(wq.incidents_list, **values)

        cases: list[tuple[str, Callable[[], Awaitable[object]]]] = [
            ("SELECT 1 (baseline: a read's floor)", lambda: db.read(lambda s: s.execute(text("SELECT 1")).scalar_one())),
            (f"timeline first window, {args.small} events (baseline)",
             lambda: db.read(wq.timeline_window, small_id, before_id=None, limit=50)),
            (f"timeline first window, {args.big:,} events",
             lambda: db.read(wq.timeline_window, big_id, before_id=None, limit=50)),
            ("timeline window in the middle", lambda: db.read(wq.timeline_window, big_id, before_id=middle_id, limit=50)),
            ("events_after the latest (a live poll)", lambda: db.read(wq.events_after, big_id, latest, 100)),
            ("events_after the middle, 100 events", lambda: db.read(wq.events_after, big_id, middle_id, 100)),
            ("latest_event_id", lambda: db.read(wq.latest_event_id, big_id)),
            ("incidents_list page 1, no filter", page()),
            ("incidents_list page 1, open", page(status="open")),
            ("incidents_list page 1, resolved", page(status="resolved")),
            ("incidents_list page 1, severity", page(severity="sev1")),
            ("incidents_list page 1, route", page(route="payments")),
            ("incidents_list page 1, search 'database'", page(search="database")),
            ("incidents_list page 1, search '100%'", page(search="100%")),
            ("incidents_list page 1, resolved+sev2+route+search", page(status="resolved", severity="sev2",
                                                                     route="storage", search="dns")),
            ("incidents_list page 100, no filter", page(page=100)),
            ("list_facets", lambda: db.read(wq.list_facets)),
        ]
        results = Results("workspace_queries", f"SQLite file, {args.incidents:,} incidents, one of {args.big:,} events, "
                          f"median of {args.repeat} rounds of calls through Database.read")
        print(f"\n{'read':<52} {'median ms':>10} {'p90 ms':>8}  returned")
        measured = await timed(cases, args.repeat)
        medians = {name: median for name, (median, _, _) in measured.items()}
        for name, (median, p90, result) in measured.items():
            print(f"{name:<52} {median:>10.3f} {p90:>8.3f}  {size_of(result)}")
        floor = medians[cases[0][0]]
        small_first, big_first = medians[cases[1][0]], medians[cases[2][0]]
        for name, _ in cases[1:]:
            results.add(name, medians[name], "ms", baseline="SELECT 1 through Database.read", baseline_value=floor)
        results.add(f"timeline first window {args.big:,} vs {args.small} events", big_first / small_first, "ratio",
                    baseline="1.0 = no growth with the timeline's length", baseline_value=1.0)
        print(f"\nfirst window at {args.big:,} events / at {args.small} events: {big_first / small_first:.2f} "
              f"(1.0 = no growth); above the SELECT 1 floor: {big_first - floor:.3f} ms vs {small_first - floor:.3f} ms")
        return results
    finally:
        await db.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--big", type=int, default=50_000, help="events of the long incident")
    parser.add_argument("--small", type=int, default=500, help="events of the short one (the baseline)")
    parser.add_argument("--repeat", type=int, default=200, help="timed calls per read (the median is shown)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures to FILE")
    args = parser.parse_args()
    print(f"python {platform.python_version()} · sqlite {sqlite3.sqlite_version} · {platform.machine()} · "
          f"code {code_version()}")
    with tempfile.TemporaryDirectory(prefix="bench-workspace-") as directory:
        results = asyncio.run(run(args, Path(directory) / "workspace.db"))
    results.write(args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
