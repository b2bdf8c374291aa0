"""Render an incident's stored timeline as a Markdown postmortem draft.

Pure: :func:`render_postmortem` reads only its arguments (and, when no template is given,
the shipped template file), never the clock, so the same stored incident always renders
the same bytes. All times are shown in UTC and every duration is a plain difference of
aware UTC instants, so daylight-saving changes do not affect them.

The template is Jinja2 in an immutable sandbox (``trim_blocks`` and ``lstrip_blocks``
on, so a line holding only a ``{% ... %}`` tag leaves nothing behind). A playbook can
ship its own; it receives the same context as the default
(``playbooks/templates/postmortem.md.j2``), all of it already escaped for Markdown:

``incident``         id, title, severity (upper case), status (label), source, playbook,
                     route, commander (mention or ""), channel, opened (full UTC time),
                     resolved (full UTC time or "")
``summary``          one paragraph: severity, status, who opened it, how long it lasted
``durations``        list of ``name``, ``value``, ``detail`` (detect, acknowledge,
                     mitigate, resolve)
``resolution_history``  lines (open/resolved intervals), only when the incident was reopened
``severity``         ``initial``, ``final``, ``changes`` (rows)
``commanders``       rows (assigned, acknowledged, changed, escalated, roles assigned);
``commander`` the last one; ``roles`` list of ``role``, ``user``
``participants``     sorted mentions of everyone who acted or joined the channel
``timeline``         rows: ``time``, ``offset`` (``T+4m 12s``), ``text``, ``quote``
                     (an indented block quote of Slack text, or "")
``timeline_origin``  what T+ counts from; ``times_with_date`` whether times show a date
``alert_groups``     by alert name: ``name``, ``count``, ``firing``, ``summary``, ``links``,
                     ``alerts`` (lines), ``more`` (how many are not listed), ``more_text``
``alert_count``, ``event_count``
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from operator import attrgetter
from pathlib import Path
from typing import Any

from jinja2 import Template

from bot.domain.decide import alert_detail
from bot.playbook.templates import compile_document_template
from bot.postmortem import text as tx
from bot.postmortem.model import AlertRecord, EventRecord, IncidentRecord
from bot.postmortem.timeline import Row, Scan, scan, sorted_events, status_label

__all__ = [
    "DEFAULT_TEMPLATE_PATH",
    "PostmortemTemplateError",
    "compile_postmortem_template",
    "default_template",
    "render_postmortem",
]

DEFAULT_TEMPLATE_PATH = Path(__file__).resolve().parents[2] / "playbooks" / "templates" / "postmortem.md.j2"
ALERTS_LISTED = 20  # alerts listed per alert name; the rest are counted

LinksFor = Callable[[AlertRecord], Iterable[Any]]


class PostmortemTemplateError(ValueError):
    """The postmortem template does not compile or fails while rendering."""


def compile_postmortem_template(source: str) -> Template:
    """Compile a postmortem template (cached by source); use it to validate a playbook's.

    Raises:
        PostmortemTemplateError: on a syntax error, with Jinja's message and line number.
    """
    try:
        return compile_document_template(source)
    except ValueError as exc:
        raise PostmortemTemplateError(str(exc).replace("invalid template", "invalid postmortem template", 1)) from None


@lru_cache(maxsize=1)
def default_template() -> str:
    """The shipped template's source."""
    return DEFAULT_TEMPLATE_PATH.read_text(encoding="utf-8")


# -- the context handed to the template ----------------------------------------------

@dataclass(frozen=True, slots=True)
class Line:
    time: str
    offset: str
    text: str
    quote: str = ""


@dataclass(frozen=True, slots=True)
class Measure:
    name: str
    value: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class RoleView:
    role: str
    user: str


@dataclass(frozen=True, slots=True)
class SeverityView:
    initial: str
    final: str
    changes: list[Line]


@dataclass(frozen=True, slots=True)
class IncidentView:
    id: int
    title: str
    severity: str
    status: str
    source: str
    playbook: str
    route: str
    commander: str
    channel: str
    opened: str
    resolved: str


@dataclass(frozen=True, slots=True)
class AlertGroupView:
    name: str
    count: int
    firing: int
    summary: str
    links: str
    alerts: list[str]
    more: int
    more_text: str


@dataclass(slots=True)
class _Group:
    name: str
    alerts: list[AlertRecord]
    first: datetime
    listed: list[AlertRecord]
    last: datetime  # the latest start
    firing: int = 0


def render_postmortem(incident: IncidentRecord, events: Iterable[EventRecord], alerts: Iterable[AlertRecord],
                      template: str | None = None, links_for: LinksFor | None = None) -> str:
    """The postmortem draft as Markdown, ending in one newline.

    ``events`` are the incident's timeline (any order; ordered here by ``occurred_at``
    then ``id``), ``alerts`` its alerts. ``template`` is a Jinja2 template's source (the
    shipped one when None). ``links_for(alert)`` returns the links to show for an alert,
    as objects with ``title`` and ``url`` (like :class:`bot.domain.links.Link`) or
    ``(title, url)`` pairs; by default its ``runbook_url`` annotation and Prometheus
    ``generatorURL``. Only absolute http(s) URLs are shown.

    Raises:
        ValueError: a datetime is naive.
        PostmortemTemplateError: the template does not compile or fails to render.
    """
    compiled = compile_postmortem_template(default_template() if template is None else template)
    context = build_context(incident, events, alerts, links_for)
    try:
        text = compiled.render(context)
    except Exception as exc:  # a template error, whatever Jinja raises for it
        raise PostmortemTemplateError(f"postmortem template failed: {type(exc).__name__}: {exc}") from exc
    if text.endswith("\n") and not text[-2:-1].isspace():
        return text  # already ends in exactly one newline: no copy of a large draft
    return text.rstrip() + "\n"


def build_context(incident: IncidentRecord, events: Iterable[EventRecord], alerts: Iterable[AlertRecord],
                  links_for: LinksFor | None = None) -> dict[str, Any]:
    """Everything the template gets, as plain immutable values."""
    opened = tx.to_utc(incident.opened_at, "incident opened_at")
    ordered = sorted_events(events)
    found = scan(ordered, incident.source)
    alert_list = alerts if isinstance(alerts, (list, tuple)) else list(alerts)
    groups = _group_alerts(alert_list)

    first_alert = found.first_fired
    if groups:
        earliest = min(g.first for g in groups)
        first_alert = earliest if first_alert is None else min(first_alert, earliest)
    origin = opened if first_alert is None else min(first_alert, opened)

    ack = found.first_ack
    if incident.acknowledged_at is not None:
        acked = tx.to_utc(incident.acknowledged_at, "incident acknowledged_at")
        if ack is None or acked < ack[0]:
            ack = (acked, incident.commander or "")
    mitigated = (tx.to_utc(incident.mitigated_at, "incident mitigated_at") if incident.mitigated_at is not None
                 else found.first_mitigation)
    resolved = _final_resolution(incident, found)

    # Show dates when anything shown falls on another UTC day than the rest.
    instants = [opened, origin, *(x for x in (found.first_at, found.last_at, mitigated, resolved) if x)]
    if ack is not None:
        instants.append(ack[0])
    for group in groups:
        for alert in group.listed:
            instants.append(alert.starts_at)
            if alert.status == "resolved" and alert.ends_at is not None:
                instants.append(alert.ends_at)
    days = {tx.to_utc(i).date() for i in instants}
    with_date = len(days) > 1

    def line(row: Row) -> Line:
        return Line(tx.clock(row.at, with_date), tx.offset(row.at - origin), row.text, row.quote)

    cache: dict[int, Line] = {}

    def lines(rows: list[Row]) -> list[Line]:
        out = []
        for row in rows:
            done = cache.get(id(row))
            if done is None:
                done = cache[id(row)] = line(row)
            out.append(done)
        return out

    def at(value: datetime) -> str:
        return tx.clock(value, with_date)

    history, open_total = _resolution_history(opened, found, at)
    commander = tx.user(incident.commander) if incident.commander else ""
    final_severity = tx.one_line(incident.severity).upper()
    view = IncidentView(
        id=incident.id, title=tx.one_line(incident.title), severity=final_severity,
        status=status_label(incident.status), source=incident.source, playbook=tx.one_line(incident.playbook),
        route=tx.one_line(incident.route), commander=commander, channel=tx.one_line(incident.channel_name),
        opened=tx.full_time(opened), resolved=tx.full_time(resolved) if resolved else "",
    )
    participants = sorted({a for a in found.actors if tx.is_slack_user(a)}
                          | {u for u in (incident.declared_by,) if tx.is_slack_user(u)})
    return {
        "incident": view,
        "summary": _summary(incident, view, opened, resolved, found, len(alert_list)),
        "durations": _durations(opened, first_alert, ack, mitigated, resolved, found, open_total, at),
        "resolution_history": history,
        "severity": SeverityView(
            initial=(found.initial_severity or incident.severity).upper(), final=final_severity,
            changes=lines(found.severity_rows)),
        "commanders": lines(found.command_rows),
        "commander": commander,
        "roles": [RoleView(tx.one_line(role), tx.user(who)) for role, who in sorted((incident.roles or {}).items())],
        "participants": [tx.user(p) for p in participants],
        "timeline": lines(found.rows),
        "timeline_origin": (f"the first alert's start ({at(origin)})"
                            if first_alert is not None and first_alert <= opened
                            else f"the incident's opening ({at(origin)})"),
        "times_with_date": with_date,
        "alert_groups": [_group_view(g, at, links_for) for g in groups],
        "alert_count": len(alert_list),
        "event_count": found.events,
    }


def _final_resolution(incident: IncidentRecord, found: Scan) -> datetime | None:
    """When the incident was last resolved, if it is resolved now."""
    if incident.status != "resolved":
        return None
    if incident.resolved_at is not None:
        return tx.to_utc(incident.resolved_at, "incident resolved_at")
    last = found.resolutions[-1] if found.resolutions else None
    return last.at if last is not None and last.resolved else None


def _resolution_history(opened: datetime, found: Scan,
                        at: Callable[[datetime], str]) -> tuple[list[str], timedelta | None]:
    """Open and resolved intervals, listed only when the incident was reopened; and the
    total time open when it ended resolved."""
    items: list[str] = []
    since, is_open, total, reopened = opened, True, timedelta(0), False
    for r in found.resolutions:
        who = "automatically" if r.automatic else f"by {tx.user(r.actor)}"
        if r.resolved and is_open:
            total += r.at - since
            items.append(f"Open {at(since)} → {at(r.at)} ({tx.format_duration(r.at - since)}), resolved {who}")
            since, is_open = r.at, False
        elif not r.resolved and not is_open:
            reopened = True
            why = " (an alert fired again)" if r.actor == "alertmanager" else ""
            items.append(f"Resolved {at(since)} → {at(r.at)} ({tx.format_duration(r.at - since)}), "
                         f"reopened {who}{why}")
            since, is_open = r.at, True
    if not reopened:
        return [], None
    if is_open:
        items.append(f"Open since {at(since)}, not resolved")
        return items, None
    return items, total


def _durations(opened: datetime, first_alert: datetime | None, ack: tuple[datetime, str] | None,
               mitigated: datetime | None, resolved: datetime | None, found: Scan, open_total: timedelta | None,
               at: Callable[[datetime], str]) -> list[Measure]:
    out = []
    if first_alert is None:
        out.append(Measure("Time to detect", "n/a", "no alert is attached to this incident"))
    elif first_alert <= opened:
        out.append(Measure("Time to detect", tx.format_duration(opened - first_alert),
                           f"first alert started {at(first_alert)}, incident opened {at(opened)}"))
    else:
        out.append(Measure("Time to detect", "n/a",
                           f"declared {tx.format_duration(first_alert - opened)} before the first alert started"))
    if ack is None:
        out.append(Measure("Time to acknowledge", "not acknowledged"))
    else:
        by = f" by {tx.user(ack[1])}" if ack[1] else ""
        out.append(Measure("Time to acknowledge", tx.format_duration(ack[0] - opened),
                           f"acknowledged {at(ack[0])}{by}"))
    if mitigated is None:
        out.append(Measure("Time to mitigate", "not mitigated"))
    else:
        out.append(Measure("Time to mitigate", tx.format_duration(mitigated - opened), f"mitigated {at(mitigated)}"))
    if resolved is None:
        out.append(Measure("Time to resolve", "not resolved"))
    else:
        detail = f"resolved {at(resolved)}"
        reopens = sum(1 for r in found.resolutions if not r.resolved)
        if reopens:
            times = "once" if reopens == 1 else f"{reopens} times"
            detail = f"finally resolved {at(resolved)}, after being reopened {times}"
            if open_total is not None:
                detail += f"; open for {tx.format_duration(open_total)} in total"
        out.append(Measure("Time to resolve", tx.format_duration(resolved - opened), detail))
    return out


def _summary(incident: IncidentRecord, view: IncidentView, opened: datetime, resolved: datetime | None,
             found: Scan, alerts: int) -> str:
    if incident.source == "human":
        how = f"declared by {tx.user(incident.declared_by)}" if incident.declared_by else "declared by hand"
    elif incident.source == "storm":
        how = "opened by the storm guard"
    else:
        how = "opened by Alertmanager"
    route = tx.code(f"{incident.playbook}/{incident.route}")
    text = f"**{view.severity}** incident #{incident.id}, {how} at {view.opened} (route {route})"
    if resolved is not None:
        reopens = sum(1 for r in found.resolutions if not r.resolved)
        again = "" if not reopens else (" after being reopened once" if reopens == 1
                                        else f" after being reopened {reopens} times")
        text += f", resolved {tx.format_duration(resolved - opened)} later{again}."
    else:
        text += f", still open ({view.status})."
    if view.commander:
        text += f" Commander: {view.commander}."
    text += (f" {alerts} alert{'s' if alerts != 1 else ''}, "
             f"{found.events} recorded event{'s' if found.events != 1 else ''}.")
    if view.channel:
        text += f" Channel: #{view.channel}."
    return text


# -- alerts -------------------------------------------------------------------------------

_alert_key = attrgetter("starts_at", "fingerprint")


def _group_alerts(alerts: Sequence[AlertRecord]) -> list[_Group]:
    """Alerts by name, in order of each name's first start; each group keeps its
    ``ALERTS_LISTED`` earliest alerts (one bounded heap pass, not a full sort)."""
    by_name: dict[str, _Group] = {}
    utc = UTC
    for alert in alerts:
        start, end = alert.starts_at, alert.ends_at
        if start.tzinfo is not utc or (end is not None and end.tzinfo is not utc):
            # In UTC before any arithmetic: same-zone datetimes subtract by wall clock.
            start = tx.to_utc(start, f"alert {alert.fingerprint} starts_at")
            end = None if end is None else tx.to_utc(end, f"alert {alert.fingerprint} ends_at")
            alert = replace(alert, starts_at=start, ends_at=end)
        name = alert.labels.get("alertname") or alert.fingerprint
        group = by_name.get(name)
        if group is None:
            group = by_name[name] = _Group(str(name), [], start, [], start)
        group.alerts.append(alert)
        group.last = max(group.last, start)
        if alert.status == "firing":
            group.firing += 1
    groups = list(by_name.values())
    for group in groups:
        members = group.alerts
        group.listed = (sorted(members, key=_alert_key) if len(members) <= ALERTS_LISTED
                        else heapq.nsmallest(ALERTS_LISTED, members, key=_alert_key))
        group.first = group.listed[0].starts_at
    groups.sort(key=lambda g: (g.first, g.name))
    return groups


def _links(alert: AlertRecord, links_for: LinksFor | None) -> list[str]:
    if links_for is None:
        found: Iterable[Any] = [("Runbook", alert.annotations.get("runbook_url")),
                                ("Prometheus", alert.generator_url)]
    else:
        found = links_for(alert)
    out: list[str] = []
    seen: set[str] = set()
    for item in found:
        title, url = item if isinstance(item, tuple) else (getattr(item, "title", ""), getattr(item, "url", None))
        clean = tx.safe_url(url)
        if clean is not None and clean not in seen:
            seen.add(clean)
            rendered = tx.link(str(title or "link"), clean)
            if rendered is not None:
                out.append(rendered)
    return out


def _group_view(group: _Group, at: Callable[[datetime], str], links_for: LinksFor | None) -> AlertGroupView:
    listed = group.listed
    links = [_links(a, links_for) for a in listed]
    common = [link for link in links[0] if all(link in other for other in links[1:])]
    summaries = [tx.one_line(a.annotations.get("summary") or "") for a in listed]
    shared_summary = summaries[0] if len(set(summaries)) == 1 else ""
    lines = []
    for alert, own_links, summary in zip(listed, links, summaries):
        parts = [tx.code(alert_detail(alert.labels, alert.fingerprint)), f"fired {at(alert.starts_at)}"]
        if alert.status == "resolved" and alert.ends_at is not None:
            parts.append(f"resolved {at(alert.ends_at)} after {tx.format_duration(alert.ends_at - alert.starts_at)}")
        elif alert.status == "firing":
            parts.append("still firing")
        if summary and not shared_summary:
            parts.append(summary)
        parts += [link for link in own_links if link not in common]
        lines.append(" · ".join(parts))
    more = len(group.alerts) - len(listed)
    more_text = f"… and {more} more, the last started {at(group.last)}" if more else ""
    return AlertGroupView(
        name=tx.code(group.name), count=len(group.alerts), firing=group.firing,
        summary=shared_summary, links=" · ".join(common), alerts=lines, more=more, more_text=more_text,
    )
