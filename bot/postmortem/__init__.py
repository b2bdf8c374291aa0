"""Postmortem drafts rendered from an incident's stored timeline (pure: no database, no Slack)."""

from bot.postmortem.model import AlertRecord, EventRecord, IncidentRecord
from bot.postmortem.render import (
    DEFAULT_TEMPLATE_PATH,
    PostmortemTemplateError,
    compile_postmortem_template,
    default_template,
    render_postmortem,
)
from bot.postmortem.text import format_duration

__all__ = [
    "DEFAULT_TEMPLATE_PATH",
    "AlertRecord",
    "EventRecord",
    "IncidentRecord",
    "PostmortemTemplateError",
    "compile_postmortem_template",
    "default_template",
    "format_duration",
    "render_postmortem",
]
