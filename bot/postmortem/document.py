"""The postmortem draft: an incident's stored timeline rendered as Markdown.

Pure: :func:`render_postmortem` reads only its arguments (and, when no template is given,
the shipped template file), never the clock, so the same stored incident always renders
the same bytes. All times are shown in UTC. What the template receives is described in
:mod:`bot.postmortem.context`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.postmortem.alert_listing import LinksFor
from bot.postmortem.context import build_context
from bot.postmortem.model import AlertRecord, EventRecord, FollowUpRecord, IncidentRecord, PostmortemRecord
from bot.postmortem.template import PostmortemTemplateError, compile_postmortem_template, default_template

__all__ = ["render_postmortem"]


def render_postmortem(incident: IncidentRecord, events: Iterable[EventRecord], alerts: Iterable[AlertRecord],
                      template: str | None = None, links_for: LinksFor | None = None,
                      postmortem: PostmortemRecord | None = None, followups: Sequence[FollowUpRecord] = ()) -> str:
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
    context = build_context(incident, events, alerts, links_for, postmortem, followups)
    try:
        text = compiled.render(context)
    except Exception as exc:  # a template error, whatever Jinja raises for it
        raise PostmortemTemplateError(f"postmortem template failed: {type(exc).__name__}: {exc}") from exc
    if text.endswith("\n") and not text[-2:-1].isspace():
        return text  # already ends in exactly one newline: no copy of a large draft
    return text.rstrip() + "\n"
