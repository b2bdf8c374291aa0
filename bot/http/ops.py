"""Operations endpoints: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from bot.clock import utcnow
from bot.domain.analytics import by_severity, histogram, seconds_to_ack, seconds_to_resolve
from bot.http.keys import CLOCK, DATABASE, METRICS, SCHEDULER
from storage import followups, outbox, postmortems, queries
from storage.errors import StorageError
from storage.migrate import ensure_current

ANALYTICS_WINDOW = timedelta(days=30)


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Ready when the database answers, its schema is current and the scheduler runs."""
    db = request.app[DATABASE]
    checks: dict[str, str] = {}
    try:
        await db.ping()
        checks["database"] = "ok"
    except StorageError as exc:
        checks["database"] = f"unreachable ({exc})"
    try:
        await ensure_current(db)
        checks["migrations"] = "ok"
    except StorageError as exc:
        checks["migrations"] = str(exc) if checks["database"] == "ok" else "unknown: database unreachable"
    scheduler = request.app.get(SCHEDULER)
    checks["scheduler"] = "ok" if scheduler is not None and scheduler.running else "not running"
    ready = all(value == "ok" for value in checks.values())
    return web.json_response({"ready": ready, "checks": checks}, status=200 if ready else 503)


async def metrics(request: web.Request) -> web.Response:
    registry = request.app[METRICS]
    try:
        async with request.app[DATABASE].reading() as session:
            registry.set_open_incidents(await session.run_sync(queries.open_incidents_by_severity))
            depth, age = await session.run_sync(outbox.backlog, utcnow())
            registry.outbox_depth.set(depth)
            registry.outbox_oldest_age.set(age)
            now = request.app[CLOCK]()
            registry.followups_overdue.set(await session.run_sync(followups.count_overdue, now))
            registry.postmortems_overdue.set(await session.run_sync(postmortems.count_overdue, now))
            timings = await session.run_sync(queries.incident_timings, utcnow() - ANALYTICS_WINDOW)
        registry.set_durations("incident_bot_time_to_acknowledge_seconds",
                               {sev: histogram(v) for sev, v in by_severity(timings, seconds_to_ack).items()})
        registry.set_durations("incident_bot_time_to_resolve_seconds",
                               {sev: histogram(v) for sev, v in by_severity(timings, seconds_to_resolve).items()})
    except StorageError:
        pass  # the scrape still shows everything else; readyz reports the database
    return web.Response(body=registry.render(), headers={"Content-Type": registry.content_type})
