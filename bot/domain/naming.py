"""Names of incidents: the title and the Slack channel name, rendered from playbook templates."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date as Date
from typing import Any

from bot.playbook.templates import render_or_none, slugify

__all__ = ["CHANNEL_NAME_MAX", "TITLE_MAX", "UNTITLED", "channel_name", "one_line", "render_title"]

CHANNEL_NAME_MAX = 80
TITLE_MAX = 150
UNTITLED = "Untitled incident"

_NOT_CHANNEL = re.compile(r"[^a-z0-9_-]+")
_DASHES = re.compile(r"-{2,}")
_WHITESPACE = re.compile(r"\s+")


def one_line(text: str) -> str:
    """Whitespace runs (newlines included) collapsed to one space, ends stripped."""
    return _WHITESPACE.sub(" ", text).strip()


def render_title(template: str, labels: Mapping[str, str], annotations: Mapping[str, str]) -> str:
    """Render an incident title: one line, at most 150 characters.

    Falls back to the ``alertname`` label, then to ``"Untitled incident"``, when the
    template renders empty or fails.
    """
    rendered = render_or_none(template, {"labels": dict(labels), "annotations": dict(annotations)})
    title = one_line(rendered or "") or one_line(labels.get("alertname", "")) or UNTITLED
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
        rendered = render_or_none(template, {**context, "slug": slug})
        if rendered is None:
            return fallback
        name = _sanitize_channel(rendered)
        overflow = len(name) - CHANNEL_NAME_MAX
        if overflow <= 0:
            return name or fallback
        if not slug:
            return fallback
        slug = slug[: max(len(slug) - overflow, 0)].rstrip("-")
