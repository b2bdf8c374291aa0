"""One pass over the sorted event log: the timeline rows (alert bursts folded) and the
facts the other sections need (severity and commander history, participants, the
first alert, acknowledgement, mitigation and every resolve/reopen).

Linear in the number of events: each event is looked at once, alert events only
update a running burst, and row text is built only for the rows that are shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from typing import Any

from bot.postmortem import text as tx
from bot.postmortem.model import EventRecord

__all__ = ["FOLD_SAMPLE", "FOLD_WINDOW", "HIDDEN_KINDS", "Row", "Scan", "scan", "sorted_events"]

# Bookkeeping, not history: left out of the timeline (their actors still count as participants).
HIDDEN_KINDS = frozenset({"command", "update.reminded", "slack.action_failed"})
# Events of one of these kinds at most FOLD_WINDOW apart become one row. They do not end
# each other's bursts; any other event shown on the timeline ends them all, so what people
# did stays visible between the alerts.
FOLDED_KINDS = frozenset({"alert.fired", "alert.resolved", "storm.group_joined", "participant.joined"})
FOLD_WINDOW = timedelta(seconds=60)
FOLD_SAMPLE = 5  # alerts named in a folded row
FOLD_PEOPLE = 10  # people named in a folded "joined the channel" row
FOLD_NAMES = 5  # alert names counted in a folded row's breakdown

_EMPTY: Mapping[str, Any] = {}
_BY_ID = attrgetter("id")
_BY_TIME = attrgetter("occurred_at")


@dataclass(slots=True)
class Row:
    """A timestamped line: ``text`` is Markdown for one line, ``quote`` an optional block
    quote (already indented to sit inside the list item) with text from Slack."""

    at: datetime
    kind: str
    text: str = ""
    quote: str = ""
    count: int = 1  # events folded into this row


@dataclass(slots=True)
class _Burst:
    row: Row
    last: datetime
    sample: list[Mapping[str, Any]]
    names: dict[str, int] = field(default_factory=dict)
    people: list[str] = field(default_factory=list)
    alerts: int = 0  # storm.group_joined: alerts the groups brought
    count: int = 0


@dataclass(slots=True)
class Resolution:
    """A resolve or a reopen, in order."""

    at: datetime
    resolved: bool  # False for a reopen
    actor: str
    automatic: bool = False


@dataclass(slots=True)
class Scan:
    rows: list[Row] = field(default_factory=list)
    severity_rows: list[Row] = field(default_factory=list)
    command_rows: list[Row] = field(default_factory=list)
    actors: set[str] = field(default_factory=set)
    first_fired: datetime | None = None
    first_ack: tuple[datetime, str] | None = None
    first_mitigation: datetime | None = None
    initial_severity: str | None = None
    resolutions: list[Resolution] = field(default_factory=list)
    events: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None


def sorted_events(events: Iterable[EventRecord]) -> Sequence[EventRecord]:
    """Events by ``(occurred_at, id)`` with ``occurred_at`` in UTC.

    A list already in that order and in UTC (as the storage query returns it) is checked
    in one pass and used as it is. Other zones are converted first: Python compares and
    subtracts two datetimes of the *same* zone by wall clock, which is wrong across a
    daylight-saving change.
    """
    items = events if isinstance(events, (list, tuple)) else list(events)
    utc = UTC
    prev_t: datetime | None = None
    prev_id = 0
    in_order = True
    for event in items:
        t = event.occurred_at
        if t.tzinfo is not utc:
            if t.tzinfo is None or t.utcoffset() is None:
                raise ValueError(f"event {event.id}: occurred_at is a naive datetime; expected a timezone-aware one")
            items = [e if e.occurred_at.tzinfo is utc
                     else replace(e, occurred_at=tx.to_utc(e.occurred_at, f"event {e.id}: occurred_at"))
                     for e in items]
            in_order = False
            break
        if prev_t is not None and (t < prev_t or (t == prev_t and event.id < prev_id)):
            in_order = False
        prev_t, prev_id = t, event.id
    if in_order:
        return items
    # Two stable sorts on one attribute each: about 4x faster than one sort on
    # (occurred_at, id) tuples, which compare slowly.
    ordered = sorted(items, key=_BY_ID)
    ordered.sort(key=_BY_TIME)
    return ordered


def scan(events: Sequence[EventRecord], source: str) -> Scan:
    """Walk events once; they must come from :func:`sorted_events` (ordered, in UTC)."""
    out = Scan()
    rows = out.rows
    actors = out.actors
    bursts: dict[str, _Burst] = {}
    pinned: dict[str, Mapping[str, Any]] = {}
    hidden, folded, window, sample_size = HIDDEN_KINDS, FOLDED_KINDS, FOLD_WINDOW, FOLD_SAMPLE
    for event in events:
        kind = event.kind
        if kind == "alert.fired" or kind == "alert.resolved":  # the hot path: most events in a storm
            t = event.occurred_at
            burst = bursts.get(kind)
            if burst is None or t - burst.last > window:
                if burst is not None:
                    _finish(kind, burst)
                elif kind == "alert.fired" and out.first_fired is None:
                    out.first_fired = t
                burst = bursts[kind] = _Burst(Row(t, kind, count=0), t, [])
                rows.append(burst.row)
            burst.last = t
            burst.count += 1
            data = event.data or _EMPTY
            name = data.get("alertname") or "?"
            names = burst.names
            names[name] = names.get(name, 0) + 1
            if burst.count <= sample_size:
                burst.sample.append(data)
            continue
        actors.add(event.actor)
        if kind in hidden:
            continue
        t = event.occurred_at
        if kind in folded:
            data = event.data or _EMPTY
            burst = bursts.get(kind)
            if burst is None or t - burst.last > window:
                if burst is not None:
                    _finish(kind, burst)
                burst = bursts[kind] = _Burst(Row(t, kind, count=0), t, [])
                rows.append(burst.row)
            burst.last = t
            burst.count += 1
            if kind == "participant.joined":
                person = data.get("user") or event.actor
                actors.add(person)
                if len(burst.people) < FOLD_PEOPLE:
                    burst.people.append(person)
            else:  # storm.group_joined
                alerts = data.get("alerts")
                burst.alerts += alerts if isinstance(alerts, int) else 0
            continue
        if bursts:
            _close(bursts)
        rows.append(_row(event, source, pinned, out))
    _close(bursts)
    out.events = len(events)
    if events:
        out.first_at, out.last_at = events[0].occurred_at, events[-1].occurred_at
    return out


def _finish(kind: str, burst: _Burst) -> None:
    burst.row.count = burst.count
    burst.row.text = _burst_text(kind, burst)


def _close(bursts: dict[str, _Burst]) -> None:
    for kind, burst in bursts.items():
        _finish(kind, burst)
    bursts.clear()


def _alert(data: Mapping[str, Any]) -> str:
    name = str(data.get("alertname") or "?")
    detail = data.get("detail")
    return tx.code(f"{name} {detail}" if detail else name)


def _burst_text(kind: str, burst: _Burst) -> str:
    row = burst.row
    n = row.count
    span = burst.last - row.at
    within = f" within {tx.format_duration(span)}" if span >= timedelta(seconds=1) else ""
    if kind == "participant.joined":
        people = [tx.user(p) for p in burst.people]
        more = n - len(people)
        if more:
            who = f"{', '.join(people)} and {more} more"
        elif len(people) > 1:
            who = f"{', '.join(people[:-1])} and {people[-1]}"
        else:
            who = people[0]
        return f"{who} joined the channel"
    if kind == "storm.group_joined":
        groups = "An alert group" if n == 1 else f"{n} alert groups"
        alerts = f" with {burst.alerts} alert{'s' if burst.alerts != 1 else ''}" if burst.alerts else ""
        return f"{groups} joined the storm incident{alerts}{within}"
    verb = "fired" if kind == "alert.fired" else "resolved"
    if n == 1:
        return f"Alert {verb}: {_alert(burst.sample[0])}"
    listed = ", ".join(_alert(d) for d in burst.sample)
    more = n - len(burst.sample)
    if not more:
        return f"{n} alerts {verb}{within}: {listed}"
    counts: dict[str, int] = {}
    for name, count in burst.names.items():
        counts[str(name)] = counts.get(str(name), 0) + count
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    breakdown = ", ".join(f"{tx.code(name)} ×{count}" for name, count in ranked[:FOLD_NAMES])
    if len(ranked) > FOLD_NAMES:
        breakdown += f", {len(ranked) - FOLD_NAMES} more names"
    return f"{n} alerts {verb}{within} ({breakdown}): {listed} and {more} more"


def _sev(name: object) -> str:
    return f"**{tx.one_line(name).upper()}**" if name else "**?**"


_STATUS = {"investigating": "Investigating", "identified": "Identified", "monitoring": "Monitoring",
           "resolved": "Resolved"}


def status_label(status: object) -> str:
    return _STATUS.get(str(status), tx.one_line(status))


def _window(value: object) -> str:
    """``str(timedelta)`` (``0:10:00``, ``1 day, 2:00:00``) as ``10m 00s``; else as given."""
    text = str(value)
    try:
        days = 0
        if "day" in text:
            head, text = text.split(",", 1)
            days = int(head.split()[0])
        h, m, s = text.strip().split(":")
        return tx.format_duration(timedelta(days=days, hours=int(h), minutes=int(m), seconds=float(s)))
    except ValueError:
        return tx.one_line(value)


def _row(event: EventRecord, source: str, pinned: dict[str, Mapping[str, Any]], out: Scan) -> Row:
    """The row for one non-folded event, noting what the other sections need."""
    kind, t, actor = event.kind, event.occurred_at, event.actor
    data = event.data or {}
    who = tx.user(actor)
    by_person = tx.is_slack_user(actor)
    row = Row(t, kind)
    if kind == "incident.opened":
        severity = data.get("severity")
        if out.initial_severity is None and severity:
            out.initial_severity = str(severity)
        route = f" (route {tx.code(data['route'])})" if data.get("route") else ""
        if by_person:
            row.text = f"{who} declared the incident as {_sev(severity)}{route}"
        else:
            what = "Storm incident" if data.get("storm") or source == "storm" else "Incident"
            row.text = f"{what} opened by {who} as {_sev(severity)}{route}"
    elif kind == "commander.assigned":
        source_text = str(data.get("source") or "")
        if source_text.startswith("rotation:"):
            how = f" from rotation {tx.code(source_text.split(':', 1)[1])}"
        elif source_text == "static":
            how = " (set in the playbook)"
        elif source_text == "declared":
            how = " (declared the incident)"
        else:
            how = ""
        row.text = f"{tx.user(data.get('commander'))} assigned as commander{how}"
        out.command_rows.append(row)
    elif kind == "commander.acknowledged":
        commander = data.get("commander") or actor
        row.text = f"{tx.user(commander)} acknowledged as commander"
        if out.first_ack is None:
            out.first_ack = (t, str(commander))
        out.command_rows.append(row)
    elif kind == "commander.changed":
        new, old = data.get("to"), data.get("from")
        was = f" (was {tx.user(old)})" if old else " (there was no commander)"
        if new and new == actor:
            row.text = f"{who} took command{was}"
            if out.first_ack is None:
                out.first_ack = (t, str(new))
        else:
            row.text = f"{who} made {tx.user(new)} the commander{was}"
        out.command_rows.append(row)
    elif kind == "commander.escalated":
        reason = tx.one_line(data.get("reason") or "")
        seconds = data.get("timeout_seconds")
        if reason and isinstance(seconds, (int, float)):
            reason += f" within {tx.format_duration(timedelta(seconds=seconds))}"
        row.text = (f"Command escalated from {tx.user(data.get('from'))} to {tx.user(data.get('to'))}"
                    + (f": {reason}" if reason else ""))
        out.command_rows.append(row)
    elif kind == "escalation.exhausted":
        row.text = (f"{tx.user(data.get('commander'))} did not acknowledge and nobody was left in the rotation "
                    "to escalate to")
        out.command_rows.append(row)
    elif kind == "role.assigned":
        row.text = f"{who} made {tx.user(data.get('user'))} **{tx.one_line(data.get('role') or '?')}**"
        out.command_rows.append(row)
    elif kind == "severity.changed":
        if out.initial_severity is None and data.get("from"):
            out.initial_severity = str(data["from"])
        change = f"{_sev(data.get('from'))} → {_sev(data.get('to'))}"
        reason = tx.one_line(data.get("reason") or "")
        if data.get("automatic") or not by_person:
            row.text = f"Severity changed automatically {change}"
        else:
            row.text = f"{who} changed the severity {change}"
        if reason:
            row.text += f": {reason}"
        out.severity_rows.append(row)
    elif kind == "status.changed":
        old, new = data.get("from"), data.get("to")
        row.text = f"{who} set the status {status_label(old)} → {status_label(new)}"
        if new == "monitoring" and out.first_mitigation is None:
            out.first_mitigation = t
        if old == "resolved" and new != "resolved":
            out.resolutions.append(Resolution(t, False, actor))
    elif kind == "update.posted":
        row.text = f"Stakeholder update by {who}:"
        row.quote = tx.quote(data.get("text") or "")
    elif kind == "note.added":
        row.text = f"Note by {who}:"
        row.quote = tx.quote(data.get("text") or "")
    elif kind == "message.pinned":
        ts = str(data.get("ts") or "")
        pinned[ts] = data
        author = data.get("author")
        pinner = data.get("pinned_by") or actor
        row.text = f"Pinned message from {tx.user(author)}"
        if pinner and pinner != author:
            row.text += f", pinned by {tx.user(pinner)}"
        permalink = tx.link("permalink", data.get("permalink"))
        row.text += f" · {permalink}:" if permalink else ":"
        row.quote = tx.quote(data.get("text") or "")
    elif kind == "message.unpinned":
        original = pinned.get(str(data.get("ts") or ""), {})
        remover = data.get("unpinned_by") or actor
        author = f" from {tx.user(original['author'])}" if original.get("author") else ""
        permalink = tx.link("permalink", original.get("permalink"))
        row.text = f"{tx.user(remover)} unpinned the message{author}" + (f" · {permalink}" if permalink else "")
    elif kind == "alerts.all_resolved":
        row.text = "All alerts resolved"
    elif kind == "incident.resolved":
        summary = tx.one_line(data.get("summary") or "")
        automatic = bool(data.get("automatic")) or not by_person
        row.text = "Resolved automatically" if automatic else f"{who} resolved the incident"
        if summary:
            row.text += f": {summary}"
        if out.first_mitigation is None:
            out.first_mitigation = t
        out.resolutions.append(Resolution(t, True, actor, automatic))
    elif kind == "incident.reopened":
        if by_person:
            row.text = f"{who} reopened the incident"
        else:
            row.text = "Reopened: an alert fired again within the reopen window"
        out.resolutions.append(Resolution(t, False, actor))
    elif kind == "storm.started":
        opens, window = data.get("recent_opens"), data.get("window")
        detail = f": {opens} incidents within {_window(window)} on this route" if opens is not None and window else ""
        row.text = f"Storm guard tripped{detail}; further alert groups join this incident"
    elif kind == "update.overdue":
        people = [tx.user(p) for p in (data.get("commander"), data.get("backup")) if p]
        row.text = "Stakeholder update overdue" + (f"; reminded {' and '.join(people)}" if people else "")
    elif kind == "channel.archived":
        row.text = "Channel archived"
    elif kind in ("silence.created", "silence.expired"):
        row.text = _silence(kind, who, data)
    else:
        row.text = f"{tx.code(kind)} by {who}"
    return row


def _silence(kind: str, who: str, data: Mapping[str, Any]) -> str:
    silence_id = data.get("id") or data.get("silence_id")
    name = f" {tx.code(silence_id)}" if silence_id else ""
    if kind == "silence.expired":
        return f"Silence{name} expired" + (f" (by {who})" if who not in ("Alertmanager", "incident-bot") else "")
    text = f"{who} created silence{name}"
    matchers = data.get("matchers")
    if isinstance(matchers, Mapping) and matchers:  # label -> value, as the bot records them
        text += " for " + ", ".join(tx.code(f'{name}="{matchers[name]}"') for name in sorted(matchers))
    elif isinstance(matchers, (list, tuple)) and matchers:  # Alertmanager's own matcher objects or strings
        text += " for " + ", ".join(tx.code(_matcher(m)) for m in matchers)
    until = data.get("ends_at") or data.get("until")
    if until:
        text += f" until {_when(until)}"
    comment = tx.one_line(data.get("comment") or "")
    return text + (f": {comment}" if comment else "")


def _matcher(m: object) -> str:
    if isinstance(m, Mapping):
        op = ("=~" if m.get("isRegex") else "=") if m.get("isEqual", True) else ("!~" if m.get("isRegex") else "!=")
        return f'{m.get("name", "?")}{op}"{m.get("value", "")}"'
    return str(m)


def _when(value: object) -> str:
    if isinstance(value, datetime):
        return tx.full_time(value)
    try:
        return tx.full_time(datetime.fromisoformat(str(value)))
    except ValueError:
        return tx.one_line(value)
