"""What a postmortem template receives, built from the stored incident.

The template is Jinja2 in an immutable sandbox (``trim_blocks`` and ``lstrip_blocks``
on, so a line holding only a ``{% ... %}`` tag leaves nothing behind). A playbook can
ship its own; it receives the same context as the default
(``playbooks/templates/postmortem.md.j2``), all of it already escaped for Markdown:

``incident``         id, title, severity (upper case), status (label), source, playbook,
                     route, commander (mention or ""), channel, opened (full UTC time),
                     resolved (full UTC time or "")
``summary``          one paragraph: severity, status, who opened it, how long it lasted
``durations``        list of ``name``, ``value``, ``detail`` (detect, identify when
                     known, acknowledge, mitigate, resolve), from the key moments people
                     marked where they did
``resolution_history``  lines (open/resolved intervals), only when the incident was reopened
``severity``         ``initial``, ``final``, ``changes`` (rows)
``commanders``       rows (assigned, acknowledged, changed, escalated, roles assigned);
``commander`` the last one; ``roles`` list of ``role``, ``user``
``participants``     sorted mentions of everyone who acted or joined the channel
``timeline``         rows: ``time``, ``offset`` (``T+4m 12s``), ``text``, ``quote``
                     (an indented block quote of Slack text, or ""); hidden events left
                     out, corrections applied and marked "(corrected)", key moments
                     leading their row (``**[Mitigated]**``)
``timeline_origin``  what T+ counts from; ``times_with_date`` whether times show a date
``alert_groups``     by alert name: ``name``, ``count``, ``firing``, ``summary``, ``links``,
                     ``alerts`` (lines), ``more`` (how many are not listed), ``more_text``
``alert_count``, ``event_count``
``postmortem``       ``owner`` (mention), ``due`` (full UTC time, or "" or why it is on hold),
                     ``status`` (draft, in review, published), ``published``; None when the
                     incident has no postmortem to track
``followups``        rows: ``number``, ``text`` (fit for a table cell), ``owner``, ``due``
                     (YYYY-MM-DD or ""), ``status``, ``link`` (to the tracker issue, or "")
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from bot.domain.timeline_edits import TimelineEdits, fold
from bot.postmortem import text as tx
from bot.postmortem.aftercare import followup_views, postmortem_view
from bot.postmortem.alert_listing import AlertGroup, LinksFor, alert_group_view, group_alerts
from bot.postmortem.edited_rows import corrected_times
from bot.postmortem.key_facts import KeyTimes, MarkedTime, key_times, measures, resolution_history, summary
from bot.postmortem.model import AlertRecord, EventRecord, FollowUpRecord, IncidentRecord, PostmortemRecord
from bot.postmortem.timeline import Scan, scan, sorted_events
from bot.postmortem.timeline_rows import Row, status_label
from bot.postmortem.views import IncidentView, Line, PostmortemContext, RoleView, SeverityView

__all__ = ["build_context"]


def build_context(incident: IncidentRecord, events: Iterable[EventRecord], alerts: Iterable[AlertRecord],
                  links_for: LinksFor | None = None, postmortem: PostmortemRecord | None = None,
                  followups: Sequence[FollowUpRecord] = ()) -> PostmortemContext:
    """Everything the template gets, as plain immutable values."""
    opened = tx.to_utc(incident.opened_at, "incident opened_at")
    stored = events if isinstance(events, (list, tuple)) else list(events)
    edits = fold(stored)
    ordered = sorted_events(corrected_times(stored, edits))
    found = scan(ordered, incident.source, edits)
    history = found.history
    alert_list = alerts if isinstance(alerts, (list, tuple)) else list(alerts)
    groups = group_alerts(alert_list)

    first_alert = found.first_fired
    if groups:
        earliest = min(g.first for g in groups)
        first_alert = earliest if first_alert is None else min(first_alert, earliest)
    times = key_times(incident, opened, history, first_alert, _marked_times(ordered, edits))
    with_date = _shows_dates(times, found, groups)
    origin = times.origin

    def at(value: datetime) -> str:
        return tx.clock(value, with_date)

    shown: dict[int, Line] = {}  # by id(row): the history's rows are also timeline rows

    def lines(rows: list[Row]) -> list[Line]:
        out = []
        for row in rows:
            line = shown.get(id(row))
            if line is None:
                line = shown[id(row)] = Line(at(row.at), tx.offset(row.at - origin), row.text, row.quote)
            out.append(line)
        return out

    intervals, open_total = resolution_history(opened, history, at)
    commander = tx.user(incident.commander) if incident.commander else ""
    final_severity = tx.one_line(incident.severity).upper()
    resolved = times.resolved
    view = IncidentView(
        id=incident.id, title=tx.one_line(incident.title), severity=final_severity,
        status=status_label(incident.status), source=incident.source, playbook=tx.one_line(incident.playbook),
        route=tx.one_line(incident.route), commander=commander, channel=tx.one_line(incident.channel_name),
        opened=tx.full_time(opened), resolved=tx.full_time(resolved) if resolved else "",
    )
    reopens = history.reopens
    return {
        "incident": view,
        "summary": summary(incident, view, times, reopens, len(alert_list), found.events),
        "durations": measures(times, reopens, open_total, at),
        "resolution_history": intervals,
        "severity": SeverityView(
            initial=(history.initial_severity or incident.severity).upper(), final=final_severity,
            changes=lines(history.severity_rows)),
        "commanders": lines(history.command_rows),
        "commander": commander,
        "roles": [RoleView(tx.one_line(role), tx.user(who)) for role, who in sorted((incident.roles or {}).items())],
        "participants": [tx.user(p) for p in _participants(found, incident)],
        "timeline": lines(found.rows),
        "timeline_origin": (f"the first alert's start ({at(origin)})" if times.detected_by_alert
                            else f"the incident's opening ({at(origin)})"),
        "times_with_date": with_date,
        "alert_groups": [alert_group_view(g, at, links_for) for g in groups],
        "alert_count": len(alert_list),
        "event_count": found.events,
        "postmortem": postmortem_view(postmortem),
        "followups": followup_views(followups),
    }


def _shows_dates(times: KeyTimes, found: Scan, groups: Sequence[AlertGroup]) -> bool:
    """Whether anything shown falls on another UTC day than the rest (then times show dates)."""
    candidates = (found.first_at, found.last_at, times.mitigated, times.resolved, times.identified,
                  *(mark.at for mark in times.marks.values()))
    instants = [times.opened, times.origin, *(x for x in candidates if x)]
    if times.acknowledged is not None:
        instants.append(times.acknowledged.at)
    for group in groups:
        for alert in group.listed:
            instants.append(alert.starts_at)
            if alert.status == "resolved" and alert.ends_at is not None:
                instants.append(alert.ends_at)
    return len({tx.to_utc(i).date() for i in instants}) > 1


def _marked_times(events: Sequence[EventRecord], edits: TimelineEdits) -> dict[str, MarkedTime]:
    if not edits.marks:
        return {}
    at = {event.id: event.occurred_at for event in events if event.id in edits.events}
    return {moment: MarkedTime(at[mark.event_id], mark.by, mark.reason)
            for moment, mark in edits.marks.items() if mark.event_id in at}


def _participants(found: Scan, incident: IncidentRecord) -> list[str]:
    """Slack users who acted, joined the channel or declared the incident, sorted by id."""
    people = {a for a in found.actors if tx.is_slack_user(a)}
    if tx.is_slack_user(incident.declared_by):
        people.add(incident.declared_by)
    return sorted(people)
