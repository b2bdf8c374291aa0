"""Annotated field types shared by the playbook models (durations, ids, templates)."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, PlainSerializer, PlainValidator

from bot.playbook.durations import parse_duration, prometheus_duration
from bot.playbook.matchers import Matcher
from bot.playbook.templates import compile_template

__all__ = [
    "Duration",
    "LabelName",
    "MatcherField",
    "Name",
    "NonEmpty",
    "PositiveDuration",
    "SeverityName",
    "SlackChannel",
    "SlackUserId",
    "TemplateText",
    "quote",
]

_SEVERITY_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,}")
_SLACK_CHANNEL = re.compile(r"#[a-z0-9][a-z0-9_-]{0,79}|[CG][A-Z0-9]{2,}")


def quote(text: object) -> str:
    """Quote a value for an error message, on one line: ``"sev9"``."""
    return json.dumps(text, ensure_ascii=False, default=str)


def _to_duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, str):
        return parse_duration(value)
    raise ValueError(
        f"expected a duration string like 30s, 5m, 1h30m, 2d, got {quote(value)} "
        "(give the unit, e.g. 30s)"
    )


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError(f"expected a duration greater than zero, got {prometheus_duration(value)}")
    return value


def _non_empty(value: tuple[Any, ...]) -> tuple[Any, ...]:
    if not value:
        raise ValueError("expected at least one entry")
    return value


NonEmpty = AfterValidator(_non_empty)
"""Marks a tuple field that needs at least one entry (reported only if entries are valid)."""


def _pattern_check(pattern: re.Pattern[str], expected: str) -> Any:
    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(f"{expected}, got {quote(value)}")
        return value

    return AfterValidator(check)


def _to_matcher(value: Any) -> Matcher:
    if isinstance(value, Matcher):
        return value
    if isinstance(value, str):
        return Matcher.parse(value)
    raise ValueError(f'expected a matcher string like team="payments", got {quote(value)}')


def _check_template(source: str) -> str:
    compile_template(source)
    return source


Duration = Annotated[
    timedelta, BeforeValidator(_to_duration), PlainSerializer(prometheus_duration, return_type=str)
]
"""A duration written like ``30s``, ``5m``, ``1h30m``, ``2d``, ``1w`` (zero allowed)."""

PositiveDuration = Annotated[Duration, AfterValidator(_positive)]
"""A :data:`Duration` that must be greater than zero."""

SeverityName = Annotated[
    str,
    _pattern_check(_SEVERITY_NAME, "expected a lowercase name like sev1 (a-z, 0-9, - and _)"),
]
Name = Annotated[
    str,
    _pattern_check(_NAME, "expected a name like payments-api (letters, digits, ., - and _)"),
]
LabelName = Annotated[
    str, _pattern_check(_LABEL_NAME, "expected a label name like severity (letters, digits, _)")
]
SlackUserId = Annotated[str, _pattern_check(_SLACK_USER, "expected a Slack user id like U0123ABCD")]
SlackChannel = Annotated[
    str,
    _pattern_check(
        _SLACK_CHANNEL, "expected a Slack channel id like C0123ABCD or a name like #incidents"
    ),
]
TemplateText = Annotated[str, AfterValidator(_check_template)]
"""Jinja2 template source, checked to compile in the sandbox; stored as source text."""

MatcherField = Annotated[
    Matcher, PlainValidator(_to_matcher), PlainSerializer(str, return_type=str)
]
"""A :class:`Matcher`, written in YAML as a string like ``team="payments"``."""
