"""Web workspace pages: does a page's server time grow with what the database holds?

Two questions, each against a baseline measured in the same run:

1. The incident page, ``GET /ui/incidents/<id>`` (its first page of the timeline), for an
   incident with ``--events`` (50,000) events against the same page for an incident with
   ``--small-events`` (500), both in the same database. Targets: the first page in at most
   150 ms, and at most 1.5 times the small incident's (no growth with the events it has).
2. The incidents list, ``GET /ui/``, plain, with a title search (``q=checkout``) and with a
   severity filter (``severity=sev1``), in a database of ``--incidents`` (10,000) incidents
   against the same requests in one of ``--small-incidents`` (100).

The databases are SQLite files filled directly through storage's tables (one transaction,
``executemany``), not through the webhook: the big incident is bench/postmortem.py's alert
storm (about half its events are alerts firing and resolving, each also an alert row), every
other incident has a handful of events and alerts. The bot is ``incident-bot serve`` as its own
process (pinned to one CPU, this process to another; ``--no-pin`` to disable), with
``SESSION_SECRET`` set and no Slack token (names are not looked up); this process signs in by
writing a session row, as tests/support/web_session.py does, and sends the session cookie.

Each figure is the median of ``--requests`` (30) sequential requests on one keep-alive
connection, after ``--warmup`` (5) that are not counted: the wall time at the client (sending
the request to having read the whole body) and the handler's own time from the page's
``Server-Timing: app;dur=`` header (the workspace's middleware measures it). Every answer must
be 200 with a page, or the figure is not measured and the exit status is 1.

    .venv/bin/python bench/web_pages.py
    .venv/bin/python bench/web_pages.py --events 5000 --incidents 1000 --requests 10
"""

from __future__ import annotations

import argparse
import math
import os
import random
import re
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from yarl import URL

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import (  # noqa: E402
    HOST,
    Results,
    Started,
    free_port,
    log_tail,
    pick_cpus,
    pin_to,
    print_header,
    start_bot,
    stop_all,
    stop_process,
    wait_healthy,
)
from bench.interrupt import run_in_temporary_directory  # noqa: E402
from bench.postmortem import build as storm  # noqa: E402

TARGET_FIRST_PAGE_MS = 150.0
TARGET_GROWTH = 1.5
SESSION_SECRET = "bench-web-pages-session-secret-5d1f"
USER, TEAM = "UBENCH001", "TBENCH001"
START = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
SERVICES = ("checkout", "payments", "search", "auth", "catalog", "shipping", "inventory", "billing", "email", "api")
PROBLEMS = ("error rate high", "latency p99 over SLO", "pods crash-looping", "disk filling", "5xx from the edge")
PEOPLE = ("U0AAA0001", "U0BBB0002", "U0CCC0003", "U0DDD0004", "U0EEE0005", "U0FFF0006")
SEVERITIES = ("sev1", "sev2", "sev3")
LIST_QUERIES = (("incidents list", ""), ("incidents list, title search", "?q=checkout"),
                ("incidents list, severity filter", "?severity=sev1"))


# ---------------------------------------------------------------------------------------
# Filling the database
# ---------------------------------------------------------------------------------------

def _policy() -> dict[str, object]:
    from bot.domain.policy import policy_snapshot
    from bot.playbook import RouteMatch, load_playbooks

    playbook = load_playbooks(REPO / "playbooks").playbooks[0]
    return policy_snapshot(RouteMatch(playbook, playbook.routes[0]))


def _incident(number: int, opened: datetime, policy: dict[str, object], *, title: str | None = None,
              severity: str | None = None, storm: bool = False) -> dict[str, Any]:
    rng = random.Random(number)
    service = SERVICES[number % len(SERVICES)]
    resolved = opened + timedelta(minutes=rng.randint(20, 400)) if number % 7 else None
    return {
        "id": number, "title": title or f"{service}: {PROBLEMS[number % len(PROBLEMS)]}",
        "status": "resolved" if resolved else "investigating",
        "severity": severity or SEVERITIES[number % len(SEVERITIES)], "playbook": "default",
        "route": "storm" if storm else ("critical" if number % 3 == 0 else "catch-all"),
        "source": "storm" if storm else "alertmanager", "declared_by": None,
        "commander": PEOPLE[number % len(PEOPLE)], "channel_name": f"inc-{number}-{service}",
        "channel_id": f"C{number:08d}", "header_ts": f"{number}.000100", "roles": {}, "storm_key": None,
        "policy": policy, "opened_at": opened, "acknowledged_at": opened + timedelta(minutes=rng.randint(1, 15)),
        "mitigated_at": None, "resolved_at": resolved, "all_alerts_resolved_at": resolved, "updated_at": opened,
    }


def _small_history(incident_id: int, opened: datetime, group_id: int) -> tuple[list[dict[str, Any]],
                                                                                 list[dict[str, Any]]]:
    """A few events and two alerts, as an ordinary incident has."""
    name = SERVICES[incident_id % len(SERVICES)].title() + "ErrorRate"
    alerts, events = [], []
    for i in range(2):
        fingerprint = f"{incident_id:08x}{i:08x}"
        labels = {"alertname": name, "instance": f"10.1.{incident_id % 250}.{i}:8080", "severity": "critical"}
        alerts.append({"fingerprint": fingerprint, "starts_at": opened, "group_id": group_id,
                       "incident_id": incident_id, "status": "resolved", "ends_at": opened + timedelta(minutes=30),
                       "labels": labels, "annotations": {"summary": f"{name} on {labels['instance']}"},
                       "generator_url": None, "first_seen_at": opened,
                       "resolved_seen_at": opened + timedelta(minutes=30), "stale_since": None})
        events.append(_event(incident_id, opened, "alert.fired", "alertmanager", fingerprint=fingerprint,
                             alertname=name, detail=labels["instance"], starts_at=opened.isoformat()))
    events.append(_event(incident_id, opened, "incident.opened", "alertmanager", severity="sev2",
                         route="default/catch-all"))
    events.append(_event(incident_id, opened + timedelta(minutes=3), "note.added", PEOPLE[0],
                         text="looking at the dashboards"))
    events.append(_event(incident_id, opened + timedelta(minutes=9), "update.posted", PEOPLE[0],
                         text="Mitigating; next update in 30 minutes."))
    return events, alerts


def _event(incident_id: int, at: datetime, kind: str, actor: str, **data: object) -> dict[str, Any]:
    return {"incident_id": incident_id, "occurred_at": at, "recorded_at": at, "kind": kind, "actor": actor,
            "data": data}


def _storm(incident_id: int, events: int, group_id: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]],
                                                                    datetime]:
    record, stored_events, stored_alerts = storm(events, max(5, min(100, events // 10)), False)
    rows = [_event(incident_id, e.occurred_at, e.kind, e.actor, **e.data) for e in stored_events]
    alerts = [{"fingerprint": f"{incident_id:x}-{a.fingerprint}", "starts_at": a.starts_at,
               "group_id": group_id, "incident_id": incident_id, "status": a.status, "ends_at": a.ends_at,
               "labels": dict(a.labels), "annotations": dict(a.annotations), "generator_url": a.generator_url,
               "first_seen_at": a.starts_at, "resolved_seen_at": a.ends_at, "stale_since": None}
              for a in stored_alerts]
    return rows, alerts, record.opened_at


def fill(session: Any, incidents: int, storms: dict[int, int]) -> dict[int, int]:
    """``incidents`` incidents, numbered from 1, one every 37 minutes from START; those in
    ``storms`` (id -> events) are alert storms of about that many events. One transaction.
    Returns the events each storm got."""
    from sqlalchemy import insert

    from storage.models import Alert, AlertGroup, Incident, IncidentEvent, table_of

    policy = _policy()
    session.execute(insert(table_of(AlertGroup)), [{
        "id": 1, "group_key": '{}:{alertname="Bench"}', "receiver": "incident-bot",
        "group_labels": {"alertname": "Bench"}, "route": "default/catch-all", "incident_id": None,
        "last_status": "resolved", "first_seen_at": START, "last_seen_at": START, "last_body_sha256": None,
        "triage_channel_id": None, "triage_ts": None}])
    incident_rows, event_rows, alert_rows = [], [], []
    got: dict[int, int] = {}
    for number in range(1, incidents + 1):
        opened = START + timedelta(minutes=37 * number)
        if number in storms:
            events, alerts, opened = _storm(number, storms[number], 1)
            got[number] = len(events)
            incident_rows.append(_incident(number, opened, policy, title=f"Node storm ({storms[number]:,} events)",
                                           severity="sev1", storm=True))
        else:
            events, alerts = _small_history(number, opened, 1)
            incident_rows.append(_incident(number, opened, policy))
        event_rows += events
        alert_rows += alerts
    session.execute(insert(table_of(Incident)), incident_rows)
    for start in range(0, len(alert_rows), 5000):
        session.execute(insert(table_of(Alert)), alert_rows[start:start + 5000])
    for start in range(0, len(event_rows), 5000):
        session.execute(insert(table_of(IncidentEvent)), event_rows[start:start + 5000])
    return got


@dataclass
class Filled:
    url: str
    cookies: dict[str, str]
    seconds: float
    storm_events: dict[int, int]  # incident id -> events


async def make_database(path: Path, incidents: int, storms: dict[int, int]) -> Filled:
    """A migrated SQLite file filled as :func:`fill` says, and a session's cookie; the seconds the fill took."""
    from storage.database import Database
    from storage.migrate import upgrade
    from tests.support.web_session import signed_in

    url = f"sqlite+aiosqlite:///{path}"
    db = Database(url)
    try:
        await upgrade(db)
        started = time.monotonic()
        got = await db.write(fill, incidents, storms)
        took = time.monotonic() - started
        browser = await signed_in(db, user_id=USER, team_id=TEAM, name="Bench Reader", secret=SESSION_SECRET,
                                  now=datetime.now(UTC), hours=6)
    finally:
        await db.dispose()
    return Filled(url, browser.cookies, took, got)


# ---------------------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------------------

@dataclass
class Timing:
    wall_ms: float  # median at the client
    server_ms: float  # median of Server-Timing app;dur (nan when absent)
    bytes: int
    failures: list[str]


SERVER_TIMING = re.compile(r"app;dur=([\d.]+)")


async def measure(http: aiohttp.ClientSession, url: str, requests: int, warmup: int) -> Timing:
    walls, servers, failures, size = [], [], [], 0
    for i in range(warmup + requests):
        started = time.perf_counter()
        async with http.get(url, allow_redirects=False) as response:
            body = await response.read()
            wall = time.perf_counter() - started
            timing = SERVER_TIMING.search(response.headers.get("Server-Timing", ""))
            if response.status != 200 or b"<html" not in body[:200]:
                title = re.search(rb"<title>(.*?)</title>", body)
                said = re.search(rb'<p class="problem">(.*?)</p>', body)
                failures.append(f"GET {url}: {response.status} "
                                + " ".join(m.group(1).decode(errors="replace") for m in (title, said) if m)
                                if title else f"GET {url}: {response.status} {body[:200]!r}")
                break
        size = len(body)
        if i >= warmup:
            walls.append(wall * 1000)
            servers.append(float(timing.group(1)) if timing else float("nan"))
    if failures:
        return Timing(float("nan"), float("nan"), size, failures)
    server = statistics.median(servers) if not any(math.isnan(s) for s in servers) else float("nan")
    return Timing(statistics.median(walls), server, size, [])


def bot_env(workdir: Path, database_url: str, port: int) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir), "PYTHONUNBUFFERED": "1",
            "DATABASE_URL": database_url, "PLAYBOOKS_DIR": str(REPO / "playbooks"), "HOST": HOST,
            "PORT": str(port), "SESSION_SECRET": SESSION_SECRET, "PUBLIC_URL": f"http://{HOST}:{port}",
            "ALERTMANAGER_WEBHOOK_TOKEN": "bench-web-pages-token", "LOG_LEVEL": "WARNING", "LOG_FORMAT": "console"}


async def against_bot(workdir: Path, name: str, database_url: str, cookies: dict[str, str], cpu: int | None,
                      paths: list[tuple[str, str]], requests: int, warmup: int) -> dict[str, Timing]:
    port = free_port()
    log = workdir / f"{name}.log"
    proc = start_bot(bot_env(workdir, database_url, port), log, cpu)
    base = f"http://{HOST}:{port}"
    try:
        await wait_healthy(base, proc, log)
        jar = aiohttp.CookieJar(unsafe=True)
        jar.update_cookies(cookies, response_url=URL(f"{base}/ui/"))
        connector = aiohttp.TCPConnector(limit=1)
        async with aiohttp.ClientSession(connector=connector, cookie_jar=jar,
                                         timeout=aiohttp.ClientTimeout(total=60)) as http:
            found = {label: await measure(http, base + path, requests, warmup) for label, path in paths}
        if proc.poll() is not None:
            raise RuntimeError(f"the bot on {name} exited with {proc.returncode}:\n{log_tail(log)}")
        return found
    finally:
        stop_process(proc)


# ---------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------

def _ms(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.1f}"


async def run(args: argparse.Namespace, workdir: Path) -> int:
    started = Started.now()
    own_cpu, bot_cpu = pick_cpus(not args.no_pin)
    pin_to(own_cpu)
    big_id, small_id = 2, 3  # the storms, among the large database's oldest incidents
    print(f"web pages benchmark: filling SQLite files in {workdir} (removed at the end)", flush=True)
    filled = await make_database(workdir / "large.db", args.incidents, {big_id: args.events,
                                                                        small_id: args.small_events})
    baseline_db = await make_database(workdir / "small.db", args.small_incidents, {})
    events, small_events = filled.storm_events[big_id], filled.storm_events[small_id]
    print(f"filled {args.incidents:,} incidents (two of them storms of {events:,} and {small_events:,} events) in "
          f"{filled.seconds:.1f} s, {args.small_incidents:,} incidents in {baseline_db.seconds:.1f} s", flush=True)

    large = await against_bot(workdir, "large", filled.url, filled.cookies, bot_cpu, [
        ("big", f"/ui/incidents/{big_id}"), ("small", f"/ui/incidents/{small_id}"),
        *[(label, f"/ui/{query}") for label, query in LIST_QUERIES]], args.requests, args.warmup)
    small = await against_bot(workdir, "small", baseline_db.url, baseline_db.cookies, bot_cpu,
                              [(label, f"/ui/{query}") for label, query in LIST_QUERIES], args.requests, args.warmup)

    print_header("Web workspace pages (bench/web_pages.py)", started,
                 f"bot on cpu {bot_cpu}, this process on cpu {own_cpu}" if bot_cpu is not None else None)
    print(f"setup: median of {args.requests} sequential requests after {args.warmup} warm-up, one keep-alive "
          "connection, signed in; SQLite files; no Slack token")
    print()
    print(f"{'page':<58}{'wall ms':>9}{'server ms':>11}{'KiB':>8}   baseline (wall / server ms)")
    results = Results("web_pages", f"median of {args.requests} requests after {args.warmup} warm-up, one keep-alive "
                      f"connection, signed in, the bot on a SQLite file{', pinned' if bot_cpu is not None else ''}")
    failures = [f for timing in (*large.values(), *small.values()) for f in timing.failures]

    big, little = large["big"], large["small"]
    growth = big.wall_ms / little.wall_ms if little.wall_ms > 0 else float("nan")
    rows = [(f"incident page, {events:,} events", big, little, f"{small_events:,} events"),
            (f"incident page, {small_events:,} events", little, None, "")]
    rows += [(f"{label}, {args.incidents:,} incidents", large[label], small[label], f"{args.small_incidents:,}")
             for label, _ in LIST_QUERIES]
    rows += [(f"{label}, {args.small_incidents:,} incidents", small[label], None, "") for label, _ in LIST_QUERIES]
    for label, timing, baseline, against in rows:
        versus = f"   {against}: {_ms(baseline.wall_ms)} / {_ms(baseline.server_ms)}" if baseline else ""
        print(f"{label:<58}{_ms(timing.wall_ms):>9}{_ms(timing.server_ms):>11}{timing.bytes / 1024:>8.1f}{versus}")

    first_page_met = big.wall_ms <= TARGET_FIRST_PAGE_MS
    results.add(f"incident page (first page), {events:,} events, wall", big.wall_ms, "ms",
                baseline=f"the same page of an incident with {small_events:,} events",
                baseline_value=little.wall_ms, target=f"<= {TARGET_FIRST_PAGE_MS:.0f} ms", met=first_page_met)
    results.add(f"incident page (first page), {events:,} events, server", big.server_ms, "ms",
                baseline=f"the same page of an incident with {small_events:,} events",
                baseline_value=little.server_ms)
    growth_met = not math.isnan(growth) and growth <= TARGET_GROWTH
    results.add(f"incident page growth, {events:,} vs {small_events:,} events", growth, "x",
                target=f"<= {TARGET_GROWTH}", met=growth_met)
    for label, _ in LIST_QUERIES:
        for side in ("wall", "server"):
            value = large[label].wall_ms if side == "wall" else large[label].server_ms
            base = small[label].wall_ms if side == "wall" else small[label].server_ms
            results.add(f"{label}, {args.incidents:,} incidents, {side}", value, "ms",
                        baseline=f"the same request with {args.small_incidents:,} incidents", baseline_value=base)
    print()
    print(f"target: incident page first page <= {TARGET_FIRST_PAGE_MS:.0f} ms with {events:,} events: "
          f"{_ms(big.wall_ms)} ms, {'met' if first_page_met else 'NOT MET'}")
    print(f"target: growth from {small_events:,} to {events:,} events <= {TARGET_GROWTH}: "
          f"{growth:.2f}, {'met' if growth_met else 'NOT MET'}")
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
        results.failures.append(failure)
    results.write(args.json)
    return 1 if failures or not (first_page_met and growth_met) else 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50_000, help="events of the big incident (default 50,000)")
    parser.add_argument("--small-events", type=int, default=500, help="events of the baseline incident (default 500)")
    parser.add_argument("--incidents", type=int, default=10_000, help="incidents in the large database (default 10,000)")
    parser.add_argument("--small-incidents", type=int, default=100, help="incidents in the baseline database (100)")
    parser.add_argument("--requests", type=int, default=30, help="measured requests per page (default 30)")
    parser.add_argument("--warmup", type=int, default=5, help="requests per page before measuring (default 5)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the processes to CPUs")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures to FILE (for run_all.py)")
    args = parser.parse_args(argv)
    if args.incidents < 3 or args.small_incidents < 1 or args.requests < 1 or args.warmup < 0:
        parser.error("--incidents must be >= 3, --small-incidents and --requests >= 1, --warmup >= 0")
    if args.events < 10 or args.small_events < 10:
        parser.error("--events and --small-events must be >= 10")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_in_temporary_directory(lambda tmp: run(args, tmp), "bench-web-pages-",
                                      "processes stopped, temporary files removed", stop_all)


if __name__ == "__main__":
    sys.exit(main())
