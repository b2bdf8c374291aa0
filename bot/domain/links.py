"""Links for an incident's channel: runbooks, dashboards, Prometheus queries and traces,
rendered from the route's templates and the alerts' annotations."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from bot.domain.naming import one_line
from bot.playbook.templates import render_or_none

if TYPE_CHECKING:
    from bot.playbook.schema import Route

__all__ = ["AlertView", "Link", "incident_page_url", "render_links", "render_trace_link", "slack_channel_url"]

_WHITESPACE = re.compile(r"\s+")


def incident_page_url(public_url: str, incident_id: int) -> str:
    """The incident's page in the web workspace (``PUBLIC_URL`` + ``/ui/incidents/<id>``):
    where Slack's header, tracker issues, pages and webhooks point people."""
    return f"{public_url.rstrip('/')}/ui/incidents/{incident_id}"


def slack_channel_url(channel_id: str | None) -> str | None:
    """A link that opens the Slack channel in the app or the browser, None without an id."""
    return f"https://slack.com/app_redirect?channel={channel_id}" if channel_id else None


class AlertView(Protocol):
    """What link rendering needs from an alert (a stored alert or a webhook alert)."""

    @property
    def labels(self) -> Mapping[str, str]: ...

    @property
    def annotations(self) -> Mapping[str, str]: ...

    @property
    def generator_url(self) -> str | None: ...


@dataclass(frozen=True)
class Link:
    """A rendered link to post in the incident channel."""

    title: str
    url: str
    kind: str


def _web_url(url: str | None) -> str | None:
    """The URL stripped, if it is an absolute http(s) URL; otherwise None."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    if _WHITESPACE.search(url):
        return None
    # Percent-encoded, they mean the same to the server and cannot end a Slack <url|title> early.
    return url.replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")


def _alert_context(alert: AlertView) -> dict[str, Any]:
    # A plain dict, not the object itself: templates must not call methods on ORM rows.
    view: dict[str, Any] = {
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "generator_url": alert.generator_url or "",
    }
    for optional in ("fingerprint", "status", "starts_at", "ends_at"):
        view[optional] = getattr(alert, optional, None)
    return {"labels": view["labels"], "annotations": view["annotations"], "alert": view}


def render_links(route: Route, alerts: Sequence[AlertView]) -> list[Link]:
    """Links for the alerts of an incident, deduplicated by URL in first-seen order.

    For each alert: its ``runbook_url`` annotation (kind ``runbook``), then each of the
    route's link templates rendered with ``labels``, ``annotations`` and ``alert`` in
    scope, then its Prometheus ``generator_url`` (kind ``prometheus``). Only absolute
    http(s) URLs are kept; a link whose URL renders empty, or whose template fails, is
    skipped.
    """
    links: list[Link] = []
    seen: set[str] = set()

    def add(title: str, url: str | None, kind: str) -> None:
        clean = _web_url(url)
        if clean is not None and clean not in seen:
            seen.add(clean)
            links.append(Link(title=one_line(title) or kind.capitalize(), url=clean, kind=kind))

    for alert in alerts:
        context = _alert_context(alert)
        add("Runbook", alert.annotations.get("runbook_url"), "runbook")
        for template in route.links:
            url = render_or_none(template.url, context)
            title = render_or_none(template.title, context)
            if url and title is not None:
                add(title, url, template.kind)
        add("Prometheus query" if not _from_grafana(alert) else "Grafana alert rule", alert.generator_url,
            "prometheus" if not _from_grafana(alert) else "link")
        for title, attribute, kind in GRAFANA_LINKS:
            add(title, getattr(alert, attribute, None), kind)
    return links


# Links a Grafana Alerting webhook carries per alert (a stored alert has none).
GRAFANA_LINKS = (("Grafana dashboard", "dashboard_url", "dashboard"), ("Grafana panel", "panel_url", "dashboard"),
                 ("Silence in Grafana", "silence_url", "link"))


def _from_grafana(alert: AlertView) -> bool:
    return getattr(alert, "silence_url", None) is not None


def render_trace_link(
    route: Route, trace_id: str, labels: Mapping[str, str] | None = None
) -> Link | None:
    """The route's ``trace_url`` rendered for one trace id, or None if it has none or the
    rendered URL is not an http(s) URL."""
    if route.trace_url is None:
        return None
    url = _web_url(render_or_none(route.trace_url, {"trace_id": trace_id, "labels": dict(labels or {})}))
    if url is None:
        return None
    return Link(title=f"Trace {trace_id}", url=url, kind="traces")
