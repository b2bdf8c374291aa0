"""``GET /ui/incidents/<id>/stream``: the incident's new timeline entries as server-sent
events, each ``event: entry``, ``id: <event id>`` and the entry's HTML as the page shows it.

It polls the database every second (so entries written by any replica arrive) and looks at
once when this process commits. It resumes after the browser's ``Last-Event-ID`` (or
``?after=<id>``), so an entry is neither sent twice nor skipped across a reconnection.

Event ids are taken at INSERT, not at commit: on PostgreSQL a writer that does not hold the
incident's lock can commit an event after a higher id is already visible. So each poll asks
again from the newest id sent ``LOOKBACK`` earlier and leaves out the ids it has sent; such a
late entry goes out with the id of the newest entry sent before it (a browser's
``Last-Event-ID`` only ever moves forward). An entry a timeline edit changes is sent again
as ``event: update`` without an id, and the page replaces it where it shows it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from dataclasses import dataclass, field

import structlog
from aiohttp import web

from bot.domain.timeline_edits import EDIT_KINDS, TimelineEdits, fold
from bot.web.guard import SECURITY_HEADERS
from bot.web.incident_reads import events_by_ids, incident_id_of, read_edits
from bot.web.keys import WORKSPACE
from bot.web.render import csrf_input, render
from bot.web.sessions import Viewer, load_viewer, viewer_of
from bot.web.timeline_view import entry_of, people_in, shown
from bot.web.workspace import Workspace
from storage import alerting, workspace_queries
from storage.errors import StorageError
from storage.rows import EventRow

log = structlog.get_logger(__name__)
POLL_SECONDS = 1.0
HEARTBEAT_SECONDS = 15.0
SESSION_CHECK_SECONDS = 60.0
LOOKBACK_SECONDS = 10.0
BATCH = 500
RETRY_MS = 3000
MAX_ID = 2**62


@dataclass(slots=True)
class Cursor:
    """Where the stream is: the newest id sent, and the ids sent in the last
    ``LOOKBACK_SECONDS`` (it asks again from before them and leaves them out)."""

    newest: int
    base: int = -1  # ask for events after this id: the newest sent LOOKBACK_SECONDS ago
    sent: set[int] = field(default_factory=set)
    marks: deque[tuple[float, int]] = field(default_factory=deque)  # (when, the newest id sent then)

    def __post_init__(self) -> None:
        if self.base < 0:
            self.base = self.newest

    def floor(self, now: float) -> int:
        while self.marks and self.marks[0][0] <= now - LOOKBACK_SECONDS:
            self.base = self.marks.popleft()[1]
        self.sent = {i for i in self.sent if i > self.base}
        return self.base

    def record(self, event_id: int, now: float) -> int:
        """Remember the event as sent; the id the browser should resume after."""
        self.sent.add(event_id)
        self.newest = max(self.newest, event_id)
        self.marks.append((now, self.newest))
        return self.newest


def resume_point(request: web.Request) -> int | None:
    """The id to resume after, from ``Last-Event-ID`` or ``?after=``; 400 if it is not one."""
    raw = request.headers.get("Last-Event-ID") or request.query.get("after")
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or int(raw) > MAX_ID:
        raise web.HTTPBadRequest(text=f"Last-Event-ID (or after) must be an event id, not {raw[:20]!r}.")
    return int(raw)


def message(html: str, kind: str, event_id: int | None) -> bytes:
    """One server-sent event; every line of the HTML is a data line."""
    lines = [f"event: {kind}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines += [f"data: {line}" for line in html.strip().splitlines()] or ["data: "]
    return ("\n".join(lines) + "\n\n").encode()


async def stream(request: web.Request) -> web.StreamResponse:
    workspace = request.app[WORKSPACE]
    viewer = viewer_of(request)
    incident_id = incident_id_of(request)
    incident = await workspace.db.read(alerting.get_incident, incident_id)
    if incident is None:
        raise web.HTTPNotFound(text=f"There is no incident #{incident_id}.")
    after = resume_point(request)
    if after is None:
        after = await workspace.db.read(workspace_queries.latest_event_id, incident_id) or 0
    response = web.StreamResponse(headers={**SECURITY_HEADERS, "Content-Type": "text/event-stream",
                                           "Cache-Control": "no-store", "X-Accel-Buffering": "no"})
    await response.prepare(request)
    wake = workspace.wakeups.register()
    try:
        await response.write(f"retry: {RETRY_MS}\n\n".encode())
        await _follow(request, response, workspace, viewer, incident_id, Cursor(after), wake)
    except ConnectionResetError:
        pass  # the page was closed
    except Exception:  # the answer has begun: it can only end; the browser reconnects
        log.exception("live timeline failed", incident=incident_id)
    finally:
        workspace.wakeups.unregister(wake)
    return response


async def _follow(request: web.Request, response: web.StreamResponse, workspace: Workspace, viewer: Viewer,
                  incident_id: int, cursor: Cursor, wake: asyncio.Event) -> None:
    edits: TimelineEdits | None = None
    beat = checked = time.monotonic()
    while not workspace.wakeups.closed and _connected(request):
        wake.clear()
        try:
            batch, edits = await _new_events(workspace, incident_id, cursor, edits)
        except StorageError as exc:
            log.warning("live timeline: database unavailable", incident=incident_id, error=str(exc))
            batch = []
        for html, kind, event_id in await _messages(workspace, viewer, incident_id, batch, edits, cursor):
            await response.write(message(html, kind, event_id))
            beat = time.monotonic()
        now = time.monotonic()
        if now - beat >= HEARTBEAT_SECONDS:
            await response.write(b": still here\n\n")
            beat = now
        if now - checked >= SESSION_CHECK_SECONDS:
            checked = now
            if await load_viewer(request, workspace) is None:
                return  # signed out or expired: the browser's reconnection gets a 401
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), POLL_SECONDS)


def _connected(request: web.Request) -> bool:
    transport = request.transport
    return transport is not None and not transport.is_closing()


async def _new_events(workspace: Workspace, incident_id: int, cursor: Cursor,
                      edits: TimelineEdits | None) -> tuple[list[EventRow], TimelineEdits | None]:
    """Events not yet sent, oldest first, and the fold they are shown with (read again
    when one of them is an edit)."""
    floor = cursor.floor(time.monotonic())
    found: list[EventRow] = []
    async with workspace.db.reading() as session:
        while True:
            page = await session.run_sync(workspace_queries.events_after, incident_id, floor, BATCH)
            found += [e for e in page if e.id not in cursor.sent]
            if len(page) < BATCH:
                break
            floor = page[-1].id
        if found and (edits is None or any(e.kind in EDIT_KINDS for e in found)):
            edits = await session.run_sync(read_edits, incident_id, found)
    return found, edits


async def _messages(workspace: Workspace, viewer: Viewer, incident_id: int, batch: list[EventRow],
                    edits: TimelineEdits | None, cursor: Cursor) -> list[tuple[str, str, int | None]]:
    """(HTML, event type, id) for each new event, and for each entry an edit changed."""
    if not batch:
        return []
    folded = edits if edits is not None else fold(batch)
    targets = [t for e in batch if e.kind in EDIT_KINDS and isinstance(t := e.data.get("event_id"), int)]
    changed = await workspace.db.read(events_by_ids, incident_id, targets) if targets else []
    names = await workspace.people.names(people_in([*batch, *changed], folded))
    context = {"incident_id": incident_id, "csrf": csrf_input(viewer), "before": None, "entry_ids": (),
               "streamed": True}
    out: list[tuple[str, str, int | None]] = []
    now = time.monotonic()
    for event in batch:
        resume = cursor.record(event.id, now)
        if shown(event):
            out.append((render("timeline_entry.html", {**context, "entry": entry_of(event, folded, names)}),
                        "entry", resume))
    out += [(render("timeline_entry.html", {**context, "entry": entry_of(event, folded, names)}), "update", None)
            for event in changed if shown(event)]
    return out
