"""Postmortem drafts rendered from an incident's stored timeline (pure: no database, no Slack)."""

from bot.postmortem.document import render_postmortem
from bot.postmortem.model import AlertRecord, EventRecord, FollowUpRecord, IncidentRecord, PostmortemRecord
from bot.postmortem.template import (
    DEFAULT_TEMPLATE_PATH,
    PostmortemTemplateError,
    compile_postmortem_template,
    default_template,
)
from bot.postmortem.text import human_duration

__all__ = [
    "DEFAULT_TEMPLATE_PATH",
    "AlertRecord",
    "EventRecord",
    "FollowUpRecord",
    "IncidentRecord",
    "PostmortemRecord",
    "PostmortemTemplateError",
    "compile_postmortem_template",
    "default_template",
    "human_duration",
    "render_postmortem",
]
