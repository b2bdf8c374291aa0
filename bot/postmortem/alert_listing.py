"""The alerts section: alerts grouped by name, each group with its earliest
``ALERTS_LISTED`` alerts listed and the rest counted, and the links they share."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from operator import attrgetter
from typing import Protocol

from bot.domain.decide import alert_detail
from bot.postmortem import text as tx
from bot.postmortem.model import AlertRecord
from bot.postmortem.views import AlertGroupView

__all__ = ["ALERTS_LISTED", "AlertGroup", "AlertLink", "LinksFor", "alert_group_view", "group_alerts"]

ALERTS_LISTED = 20  # alerts listed per alert name; the rest are counted


class TitledLink(Protocol):
    """A link object such as :class:`bot.domain.links.Link`."""

    @property
    def title(self) -> str: ...
    @property
    def url(self) -> str | None: ...


AlertLink = TitledLink | tuple[str, str | None]  # or a (title, url) pair
LinksFor = Callable[[AlertRecord], Iterable[AlertLink]]


@dataclass(slots=True)
class AlertGroup:
    name: str
    alerts: list[AlertRecord]  # times in UTC
    first: datetime  # the earliest start
    listed: list[AlertRecord]  # the earliest ALERTS_LISTED, by start then fingerprint
    last: datetime  # the latest start
    firing: int = 0


_alert_key = attrgetter("starts_at", "fingerprint")


def group_alerts(alerts: Sequence[AlertRecord]) -> list[AlertGroup]:
    """Alerts by name, in order of each name's first start; each group keeps its
    ``ALERTS_LISTED`` earliest alerts (one bounded heap pass, not a full sort)."""
    by_name: dict[str, AlertGroup] = {}
    utc = UTC
    for given in alerts:
        alert, start, end = given, given.starts_at, given.ends_at
        if start.tzinfo is not utc or (end is not None and end.tzinfo is not utc):
            # In UTC before any arithmetic: same-zone datetimes subtract by wall clock.
            start = tx.to_utc(start, f"alert {given.fingerprint} starts_at")
            end = None if end is None else tx.to_utc(end, f"alert {given.fingerprint} ends_at")
            alert = replace(given, starts_at=start, ends_at=end)
        name = alert.labels.get("alertname") or alert.fingerprint
        group = by_name.get(name)
        if group is None:
            group = by_name[name] = AlertGroup(str(name), [], start, [], start)
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


def alert_group_view(group: AlertGroup, at: Callable[[datetime], str], links_for: LinksFor | None) -> AlertGroupView:
    """One group as the template shows it; ``at`` formats a time like the rest of the draft."""
    listed = group.listed
    links = [_links(a, links_for) for a in listed]
    common = [link for link in links[0] if all(link in other for other in links[1:])]
    summaries = [tx.one_line(a.annotations.get("summary") or "") for a in listed]
    shared_summary = summaries[0] if len(set(summaries)) == 1 else ""
    lines = []
    for alert, own_links, summary in zip(listed, links, summaries, strict=True):
        parts = [tx.code(alert_detail(alert.labels, alert.fingerprint)), f"fired {at(alert.starts_at)}"]
        if alert.status == "resolved" and alert.ends_at is not None:
            parts.append(f"resolved {at(alert.ends_at)} after {tx.human_duration(alert.ends_at - alert.starts_at)}")
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


def _links(alert: AlertRecord, links_for: LinksFor | None) -> list[str]:
    """The alert's links as Markdown, each URL once; only absolute http(s) URLs."""
    found: Iterable[AlertLink]
    if links_for is None:
        found = [("Runbook", alert.annotations.get("runbook_url")), ("Prometheus", alert.generator_url)]
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
