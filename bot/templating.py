"""Jinja2 rendering for playbook templates: titles, channel names and links.

Every playbook template is rendered in one immutable sandbox: templates may read the
values they are given (labels, annotations, ...) but cannot reach Python internals or
mutate their arguments. Autoescaping is off because the output is Slack text and URLs,
not HTML. A missing label renders as the empty string (``ChainableUndefined`` also lets
``labels.missing.anything`` render empty), so a template only fails at load time, when
its *syntax* is wrong. The sandbox does not bound CPU or memory: playbooks are trusted
configuration, alert label values are only ever data.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date as Date
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from jinja2 import ChainableUndefined, Template, TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment

if TYPE_CHECKING:
    from bot.playbook.schema import Route

__all__ = [
    "AlertView",
    "Link",
    "channel_name",
    "compile_template",
    "render_links",
    "render_title",
    "render_trace_link",
    "slugify",
]

log = logging.getLogger(__name__)

CHANNEL_NAME_MAX = 80
TITLE_MAX = 150
UNTITLED = "Untitled incident"

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_NOT_CHANNEL = re.compile(r"[^a-z0-9_-]+")
_DASHES = re.compile(r"-{2,}")
_WHITESPACE = re.compile(r"\s+")


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


def slugify(text: str) -> str:
    """Lowercase ASCII words joined by dashes: ``"HighErrorRate in checkout"`` gives
    ``"high-error-rate-in-checkout"``. CamelCase and acronyms (``HTTPServerDown``) are
    split, accents are folded (``é`` -> ``e``), anything else becomes a single dash."""
    spaced = _CAMEL_BOUNDARY.sub("-", text)
    ascii_text = unicodedata.normalize("NFKD", spaced).encode("ascii", "ignore").decode()
    return _NOT_SLUG.sub("-", ascii_text.lower()).strip("-")


def _finalize(value: Any) -> Any:
    # ``{{ labels.get("x") }}`` would otherwise print "None".
    return "" if value is None else value


def sandbox(**options: Any) -> ImmutableSandboxedEnvironment:
    """A Jinja2 sandbox for playbook templates: no autoescaping (the output is Slack text,
    URLs or Markdown), missing values render empty, None renders as nothing."""
    return ImmutableSandboxedEnvironment(autoescape=False, undefined=ChainableUndefined, finalize=_finalize, **options)


_ENV = sandbox(keep_trailing_newline=False)
_ENV.filters["slugify"] = slugify


@lru_cache(maxsize=1024)
def compile_template(source: str) -> Template:
    """Compile a template in the shared sandbox (cached by source text).

    Raises:
        ValueError: on a syntax error, with Jinja's message and line number.
    """
    try:
        return _ENV.from_string(source)
    except TemplateSyntaxError as exc:
        raise ValueError(f"invalid template: {exc.message} (template line {exc.lineno})") from None


def _render(source: str, context: Mapping[str, Any]) -> str | None:
    """Render, or return None when the template fails at render time (never raises)."""
    try:
        return compile_template(source).render(context)
    except Exception as exc:
        log.warning("template failed to render: %s: %s", type(exc).__name__, exc)
        return None


def _one_line(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


def render_title(template: str, labels: Mapping[str, str], annotations: Mapping[str, str]) -> str:
    """Render an incident title: one line, at most 150 characters.

    Falls back to the ``alertname`` label, then to ``"Untitled incident"``, when the
    template renders empty or fails.
    """
    rendered = _render(template, {"labels": dict(labels), "annotations": dict(annotations)})
    title = _one_line(rendered or "") or _one_line(labels.get("alertname", "")) or UNTITLED
    if len(title) > TITLE_MAX:
        title = title[: TITLE_MAX - 1].rstrip() + "…"
    return title


def _sanitize_channel(text: str) -> str:
    cleaned = _NOT_CHANNEL.sub("-", text.lower())
    return _DASHES.sub("-", cleaned).strip("-_")


def channel_name(
    template: str, *, date: Date, number: int, title: str, labels: Mapping[str, str]
) -> str:
    """Render a Slack channel name for an incident.

    Context: ``date`` (``YYYYMMDD``), ``number``, ``title``, ``slug`` (``slugify(title)``)
    and ``labels``. The result is lowercase, uses only ``a-z 0-9 - _``, has no leading or
    trailing dash and is at most 80 characters: when too long, the slug is shortened
    (never the number). If the result is empty, fails to render, or cannot fit even with
    an empty slug, the name is ``inc-<number>``.
    """
    fallback = f"inc-{number}"
    context: dict[str, Any] = {
        "date": date.strftime("%Y%m%d"),
        "number": number,
        "title": title,
        "labels": dict(labels),
    }
    slug = slugify(title)
    while True:
        rendered = _render(template, {**context, "slug": slug})
        if rendered is None:
            return fallback
        name = _sanitize_channel(rendered)
        overflow = len(name) - CHANNEL_NAME_MAX
        if overflow <= 0:
            return name or fallback
        if not slug:
            return fallback
        slug = slug[: max(len(slug) - overflow, 0)].rstrip("-")


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
            links.append(Link(title=_one_line(title) or kind.capitalize(), url=clean, kind=kind))

    for alert in alerts:
        context = _alert_context(alert)
        add("Runbook", alert.annotations.get("runbook_url"), "runbook")
        for template in route.links:
            url = _render(template.url, context)
            title = _render(template.title, context)
            if url and title is not None:
                add(title, url, template.kind)
        add("Prometheus query", alert.generator_url, "prometheus")
    return links


def render_trace_link(
    route: Route, trace_id: str, labels: Mapping[str, str] | None = None
) -> Link | None:
    """The route's ``trace_url`` rendered for one trace id, or None if it has none or the
    rendered URL is not an http(s) URL."""
    if route.trace_url is None:
        return None
    url = _web_url(_render(route.trace_url, {"trace_id": trace_id, "labels": dict(labels or {})}))
    if url is None:
        return None
    return Link(title=f"Trace {trace_id}", url=url, kind="traces")
