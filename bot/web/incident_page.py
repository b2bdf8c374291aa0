"""``GET /ui/incidents/<id>``: one incident's facts, people, alerts with their links,
follow-ups, postmortem and timeline (the latest entries, older ones a page back), which
grows live while the page is open."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web

from bot.adapters.prometheus import trace_ids_in
from bot.domain.links import Link, render_links, render_trace_link, slack_channel_url
from bot.domain.timeline_edits import MOMENTS
from bot.playbook.schema import Route
from bot.slack.blocks import STATUS_LABELS
from bot.slack.mrkdwn_text import mrkdwn_to_text
from bot.web.incident_reads import IncidentPage, before_of, incident_id_of, read_page
from bot.web.keys import WORKSPACE
from bot.web.render import page
from bot.web.sessions import viewer_of
from bot.web.timeline_view import MOMENT_LABELS, entry_of, is_person, people_in, shown
from bot.web.workspace import Workspace
from storage.rows import AlertRow, FollowUpRow, IncidentRow

POSTMORTEM_STATUS = {"draft": "Draft", "in_review": "In review", "published": "Published"}


@dataclass(frozen=True, slots=True)
class Milestone:
    label: str
    at: datetime | None
    after: timedelta | None  # since the incident opened


@dataclass(frozen=True, slots=True)
class KeyMoment:
    label: str
    at: datetime
    event_id: int
    href: str  # the entry, on whichever page of the timeline shows it
    by: str
    reason: str


@dataclass(frozen=True, slots=True)
class AlertItem:
    alert: AlertRow
    links: Sequence[Link]


@dataclass(frozen=True, slots=True)
class FollowUpItem:
    followup: FollowUpRow
    text: str
    owner: str
    overdue: bool
    tracker_url: str | None


def _since(opened: datetime, at: datetime | None) -> timedelta | None:
    return at - opened if at is not None else None


def _route(workspace: Workspace, playbook: str, route: str) -> Route | None:
    return next((m.route for m in workspace.playbooks().routes if m.key == (playbook, route)), None)


def alert_links(route: Route | None, alert: AlertRow) -> list[Link]:
    """The links Slack's channel gets for this alert (runbook, the route's templates,
    Prometheus or Grafana) and its traces, each URL once."""
    if route is None:  # the incident's route is gone from the playbooks: the alert's own links
        own = (("Runbook", alert.annotations.get("runbook_url"), "runbook"),
               ("Prometheus query", alert.generator_url, "prometheus"))
        return [Link(title, clean, kind) for title, url, kind in own if (clean := _web_url(url)) is not None]
    links = render_links(route, [alert])
    seen = {link.url for link in links}
    for trace_id in trace_ids_in(alert.labels, alert.annotations):
        trace = render_trace_link(route, trace_id, alert.labels)
        if trace is not None and trace.url not in seen:
            seen.add(trace.url)
            links.append(trace)
    return links


def _web_url(url: str | None) -> str | None:
    """Only http(s) links become hrefs: never ``javascript:`` or ``data:``."""
    if url is None or not url.startswith(("https://", "http://")) or any(c.isspace() for c in url):
        return None
    return url


async def incident(request: web.Request) -> web.Response:
    workspace = request.app[WORKSPACE]
    viewer = viewer_of(request)
    incident_id = incident_id_of(request)
    before = before_of(request.query.get("before"))
    async with workspace.db.reading() as session:
        found = await session.run_sync(read_page, incident_id, before)
    if found is None:
        raise web.HTTPNotFound(text=f"There is no incident #{incident_id}.")
    row = found.incident
    events = [e for e in found.window.events if shown(e)]
    people = {p for p in [row.commander, row.declared_by, *(row.roles or {}).values(),
                          *(f.owner for f in found.followups),
                          found.postmortem.owner if found.postmortem else None,
                          *(m.by for m in found.edits.marks.values())] if p and is_person(p)}
    names = await workspace.people.names(people | people_in(events, found.edits))
    entries = [entry_of(e, found.edits, names) for e in events]
    now = workspace.clock()
    route = _route(workspace, row.playbook, row.route)
    newest = found.window.newest_id
    return page(request, workspace, "incident.html", viewer, {
        "incident": row, "status": STATUS_LABELS.get(row.status, row.status), "names": names,
        "channel_url": slack_channel_url(row.channel_id), "milestones": _milestones(row),
        "open_for": now - row.opened_at if row.resolved_at is None else None,
        "roles": sorted((row.roles or {}).items()),
        "alerts": [AlertItem(a, alert_links(route, a)) for a in found.alerts],
        "alert_counts": found.alert_counts, "alerts_total": sum(found.alert_counts.values()),
        "followups": [_followup(f, names, now) for f in found.followups],
        "postmortem": found.postmortem, "postmortem_status": POSTMORTEM_STATUS,
        "postmortem_overdue": found.postmortem is not None and found.postmortem.status != "published"
        and found.postmortem.due_at is not None and found.postmortem.due_at <= now,
        "moments": _key_moments(found, names),
        "entries": entries, "entry_ids": {e.id for e in entries}, "has_older": found.window.has_older,
        "older_href": f"/ui/incidents/{row.id}?before={found.window.oldest_id}" if found.window.has_older else None,
        "before": before, "incident_id": row.id, "live": before is None,
        "stream_url": f"/ui/incidents/{row.id}/stream?after={newest or 0}" if before is None else None,
        "streamed": False,
    })


def _milestones(row: IncidentRow) -> list[Milestone]:
    opened = row.opened_at
    return [Milestone("Opened", opened, None),
            Milestone("Acknowledged", row.acknowledged_at, _since(opened, row.acknowledged_at)),
            Milestone("Mitigated", row.mitigated_at, _since(opened, row.mitigated_at)),
            Milestone("Resolved", row.resolved_at, _since(opened, row.resolved_at))]


def _key_moments(found: IncidentPage, names: Mapping[str, str]) -> list[KeyMoment]:
    shown_ids = {e.id for e in found.window.events}
    moments = []
    for moment in MOMENTS:
        mark = found.edits.marks.get(moment)
        event = found.events.get(mark.event_id) if mark is not None else None
        if mark is None or event is None:
            continue
        on_page = "" if mark.event_id in shown_ids else f"?before={mark.event_id + 1}"
        moments.append(KeyMoment(MOMENT_LABELS[moment], found.edits.time_of(event), mark.event_id,
                                 f"/ui/incidents/{found.incident.id}{on_page}#e{mark.event_id}",
                                 names.get(mark.by, mark.by), mark.reason))
    return moments


def _followup(item: FollowUpRow, names: Mapping[str, str], now: datetime) -> FollowUpItem:
    return FollowUpItem(
        followup=item, text=mrkdwn_to_text(item.text, lambda user: names.get(user, user)),
        owner=names.get(item.owner, item.owner) if item.owner else "",
        overdue=item.status == "open" and item.due_at is not None and item.due_at <= now,
        tracker_url=_web_url(item.tracker_url))

