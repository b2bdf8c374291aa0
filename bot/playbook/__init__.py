"""Playbooks: the YAML format that tells the bot how to handle alert groups.

Public surface: the models in :mod:`bot.playbook.schema`, matchers, durations, and the
loader (:func:`load_playbooks`, :func:`check_playbooks`).
"""

from __future__ import annotations

from bot.playbook.durations import parse_duration, prometheus_duration
from bot.playbook.loader import PlaybookSet, RouteMatch, check_playbooks, load_playbooks
from bot.playbook.matchers import Matcher, MatchOp, matches_all
from bot.playbook.problems import PlaybookError, PlaybookProblem
from bot.playbook.schema import (
    DEFAULT_CHANNEL_TEMPLATE,
    DEFAULT_TITLE_TEMPLATE,
    AutoDeclare,
    CommanderSource,
    LinkKind,
    LinkTemplate,
    Permissions,
    Playbook,
    Rotation,
    Route,
    Severity,
    SeverityRule,
    StormGuard,
)

__all__ = [
    "DEFAULT_CHANNEL_TEMPLATE",
    "DEFAULT_TITLE_TEMPLATE",
    "AutoDeclare",
    "CommanderSource",
    "LinkKind",
    "LinkTemplate",
    "MatchOp",
    "Matcher",
    "Permissions",
    "Playbook",
    "PlaybookError",
    "PlaybookProblem",
    "PlaybookSet",
    "Rotation",
    "Route",
    "RouteMatch",
    "Severity",
    "SeverityRule",
    "StormGuard",
    "check_playbooks",
    "load_playbooks",
    "matches_all",
    "parse_duration",
    "prometheus_duration",
]
