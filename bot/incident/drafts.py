"""Postmortem drafts from stored incidents: load the records, pick the template, render.

The renderer (:mod:`bot.postmortem`, its views and templates) is imported with the first
draft: the API, the outbox's uploads and the CLI hold this module from start-up, and a
restart may render no draft for days (about 9 ms of imports deferred for start-up).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bot.domain.links import render_links
from bot.playbook import PlaybookSet
from storage import followups, postmortems, queries
from storage.database import Database
from storage.rows import FollowUpRow, PostmortemRow

if TYPE_CHECKING:
    from bot.postmortem import FollowUpRecord, PostmortemRecord


class PostmortemError(Exception):
    """The draft cannot be rendered (a playbook's template is missing, say); names why."""


async def postmortem_markdown(db: Database, playbooks: Callable[[], PlaybookSet], playbooks_dir: Path,
                              incident_id: int) -> str | None:
    """The Markdown draft for an incident, or None if there is no such incident."""
    from bot.postmortem import AlertRecord, EventRecord, IncidentRecord, PostmortemTemplateError, render_postmortem

    async with db.reading() as session:  # one snapshot: the timeline, the postmortem and its follow-ups agree
        found = await session.run_sync(queries.incident_detail, incident_id)
        if found is None:
            return None
        tracked = await session.run_sync(postmortems.get, incident_id)
        items = await session.run_sync(followups.of_incident, incident_id)
    incident, alerts, events = found
    route = next((m.route for m in playbooks().routes if m.key == (incident.playbook, incident.route)), None)
    try:
        return render_postmortem(
            IncidentRecord.from_row(incident), [EventRecord.from_row(e) for e in events],
            [AlertRecord.from_row(a) for a in alerts], template=_template(playbooks, playbooks_dir, incident.playbook),
            links_for=(lambda alert: render_links(route, [alert])) if route is not None else None,
            postmortem=_record(tracked), followups=[_followup(f) for f in items],
        )
    except PostmortemTemplateError as exc:
        raise PostmortemError(f"playbook {incident.playbook}: postmortem template: {exc}") from None


def _template(playbooks: Callable[[], PlaybookSet], playbooks_dir: Path, name: str) -> str | None:
    try:
        relative = playbooks().get(name).postmortem_template
    except KeyError:
        return None
    if relative is None:
        return None
    path = playbooks_dir / relative
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PostmortemError(f"playbook {name}: postmortem_template {relative}: {exc.strerror}") from None


def _record(row: PostmortemRow | None) -> PostmortemRecord | None:
    from bot.postmortem import PostmortemRecord

    if row is None:
        return None
    return PostmortemRecord(row.owner, row.status, row.due_at, row.published_at,
                            suspended=row.suspended_remaining_seconds is not None)


def _followup(row: FollowUpRow) -> FollowUpRecord:
    from bot.postmortem import FollowUpRecord

    return FollowUpRecord(row.number, row.text, row.owner, row.due_at, row.status, row.tracker_url, row.tracker_key)


def filename(incident_id: int) -> str:
    return f"incident-{incident_id}-postmortem.md"
