"""The playbook format: frozen pydantic models that reject unknown keys.

A playbook file is one :class:`Playbook`. Sequences are tuples so a loaded playbook is
immutable all the way down. Cross-references inside a playbook (severity names, rotation
names, unique names) are checked by :class:`Playbook` itself and reported at the exact
location, e.g. ``routes[1].severity.map.critical``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from bot.playbook.fieldtypes import (
    Duration,
    LabelName,
    MatcherField,
    Name,
    NonEmpty,
    PositiveDuration,
    SeverityName,
    SlackChannel,
    SlackUserId,
    TemplateText,
    quote,
)
from bot.playbook.matchers import matches_all
from bot.playbook.references import reference_errors
from bot.playbook.trackers import FollowUpTracker
from bot.playbook.workflows import Workflow

__all__ = [
    "DEFAULT_CHANNEL_TEMPLATE",
    "DEFAULT_TITLE_TEMPLATE",
    "AutoDeclare",
    "CommanderSource",
    "FollowUpTracker",
    "LinkKind",
    "LinkTemplate",
    "Permissions",
    "Playbook",
    "Rotation",
    "Route",
    "Severity",
    "SeverityRule",
    "StormGuard",
]

DEFAULT_TITLE_TEMPLATE = (
    "{{ labels.alertname }}{% if labels.service %} in {{ labels.service }}{% endif %}"
)
DEFAULT_CHANNEL_TEMPLATE = "inc-{{ date }}-{{ number }}-{{ slug }}"

LinkKind = Literal["runbook", "dashboard", "traces", "logs", "link", "prometheus"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Severity(_Model):
    """One severity level; a playbook lists them most severe first."""

    name: SeverityName
    description: str
    update_every: PositiveDuration
    """Stakeholder update cadence while an incident of this severity is open."""
    ack_timeout: PositiveDuration
    """How long the commander has to acknowledge before escalation."""
    stakeholder_channels: tuple[SlackChannel, ...] = ()
    postmortem_due: PositiveDuration | None = None
    """An incident of this severity needs a postmortem, due this long after it resolves."""


def _check_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {quote(name)}: expected an IANA name like Europe/Berlin or UTC"
        ) from None
    return name


def _check_naive(value: datetime) -> datetime:
    if value.tzinfo is not None:
        raise ValueError(
            "expected a local wall-clock time like 2026-01-05T09:00 without a UTC offset "
            "(the rotation's timezone applies)"
        )
    return value


class Rotation(_Model):
    """An on-call rotation: ``users[k % len(users)]`` is on call from handoff ``k``,
    where handoff ``k`` is ``start + k * period`` in local wall-clock time of
    ``timezone`` (see :func:`bot.domain.rotation.commander_at`)."""

    users: Annotated[tuple[SlackUserId, ...], NonEmpty]
    start: Annotated[datetime, AfterValidator(_check_naive)]
    period: PositiveDuration
    timezone: Annotated[str, AfterValidator(_check_zone)]

    @property
    def zone(self) -> ZoneInfo:
        """The rotation's time zone."""
        return ZoneInfo(self.timezone)


class CommanderSource(_Model):
    """Who commands a new incident: the on-call person of a rotation, or a fixed user."""

    rotation: Name | None = None
    user: SlackUserId | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> CommanderSource:
        if (self.rotation is None) == (self.user is None):
            state = "both are set" if self.rotation is not None else "neither is set"
            raise ValueError(f"set exactly one of rotation or user ({state})")
        return self


class AutoDeclare(_Model):
    """Whether an alert group matched by a route opens an incident by itself.

    In YAML, ``auto_declare: true`` (the default) always declares and
    ``auto_declare: false`` never does (the group is only recorded, and posted to the
    triage channel if one is set). The mapping form declares only when all its conditions
    hold: every matcher matches the group's labels, and the group's severity is at least as
    severe as ``min_severity``::

        auto_declare:
          matchers: ['env="production"']
          min_severity: sev2
    """

    enabled: bool = True
    matchers: tuple[MatcherField, ...] = ()
    min_severity: SeverityName | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_bool(cls, data: Any) -> Any:
        if isinstance(data, bool):
            return {"enabled": data}
        if not isinstance(data, (Mapping, AutoDeclare)):
            raise ValueError(
                f"expected true, false or a mapping with matchers and/or min_severity, "
                f"got {quote(data)}"
            )
        return data

    @model_validator(mode="after")
    def _conditions_need_enabled(self) -> AutoDeclare:
        if not self.enabled and (self.matchers or self.min_severity is not None):
            raise ValueError("matchers and min_severity have no effect when enabled is false")
        return self


class SeverityRule(_Model):
    """Maps an alert label's value to a severity name."""

    label: LabelName = "severity"
    map: dict[str, SeverityName] = {}
    default: SeverityName
    """Severity used when the label is missing or its value is not in ``map``."""

    def severity_for(self, labels: Mapping[str, str]) -> str:
        """The severity name for one label set."""
        return self.map.get(labels.get(self.label, ""), self.default)


class StormGuard(_Model):
    """Past ``max_incidents`` new incidents within ``window`` for one route (and the same
    values of the ``by`` labels, e.g. one cluster), further groups join a single storm
    incident instead of each opening a channel. Every alert is still recorded."""

    max_incidents: int = Field(ge=1)
    window: PositiveDuration
    by: tuple[LabelName, ...] = ()


Who = Literal["commander", "responders", "anyone"]


def _check_regex(pattern: str) -> str:
    import re

    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {quote(pattern)}: {exc}") from None
    return pattern


def _check_emoji(name: str) -> str:
    if not name or any(c in name for c in ": \t"):
        raise ValueError(f"expected an emoji name without colons, like pushpin, got {quote(name)}")
    return name


class Permissions(_Model):
    """Who may do the privileged things. ``responders`` means the commander, the route's
    responders, anyone holding a role, and members of ``responders_group``."""

    resolve: Who = "responders"
    lower_severity: Who = "responders"
    change_commander: Who = "anyone"
    responders_group: str | None = None
    """A Slack user group id (S0123ABCD) whose members count as responders."""


class LinkTemplate(_Model):
    """A link posted in the incident channel; ``title`` and ``url`` are Jinja2 templates
    with ``labels``, ``annotations`` and ``alert`` in scope. A URL that renders empty is
    skipped."""

    title: TemplateText
    url: TemplateText
    kind: LinkKind = "link"


class Route(_Model):
    """Which alert groups a route takes, and what an incident for them looks like.

    Routes are tried in order and the first whose matchers all match wins, like
    Alertmanager routes; a route without matchers is a catch-all.
    """

    name: Name
    matchers: tuple[MatcherField, ...] = ()
    auto_declare: AutoDeclare = AutoDeclare()
    severity: SeverityRule
    commander: CommanderSource | None = None
    responders: tuple[SlackUserId, ...] = ()
    title: TemplateText = DEFAULT_TITLE_TEMPLATE
    channel: TemplateText = DEFAULT_CHANNEL_TEMPLATE
    reopen_window: Duration = timedelta(hours=1)
    """A group that fires again within this long after resolution reopens the incident."""
    links: tuple[LinkTemplate, ...] = ()
    trace_url: TemplateText | None = None
    """Template for a trace link; ``trace_id`` and ``labels`` are in scope."""
    triage_channel: SlackChannel | None = None
    """Where groups that are only recorded are posted with a Declare button."""
    storm_guard: StormGuard | None = None
    auto_resolve: PositiveDuration | None = None
    """Resolve an alert-driven incident by itself this long after all its alerts resolved,
    unless an alert fires again or a person acts. Never applies to declared incidents."""
    archive_after: PositiveDuration | None = None
    """Archive the incident channel this long after resolution, with a last message."""

    @property
    def is_catch_all(self) -> bool:
        """True when the route has no matchers and so takes every group."""
        return not self.matchers

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether all of the route's matchers match the label set."""
        return matches_all(self.matchers, labels)


class Playbook(_Model):
    """One playbook file."""

    name: Name
    description: str = ""
    priority: int = 100
    """Playbooks are evaluated in ascending priority, then by file name."""
    severities: Annotated[tuple[Severity, ...], NonEmpty]
    """Most severe first."""
    rotations: dict[Name, Rotation] = {}
    routes: Annotated[tuple[Route, ...], NonEmpty]
    permissions: Permissions = Permissions()
    postmortem_template: str | None = None
    """A Jinja2 Markdown template for postmortem drafts, relative to the playbooks
    directory (default: the shipped playbooks/templates/postmortem.md.j2)."""
    expire_silences_on_resolve: bool = True
    """Resolving an incident expires the Alertmanager silences /incident silence created."""
    redact_patterns: tuple[Annotated[str, AfterValidator(_check_regex)], ...] = ()
    """Extra regular expressions whose matches are redacted from notes, updates and pinned
    messages before they are stored (e-mail addresses, tokens, API keys and card numbers
    are always redacted)."""
    pin_emoji: Annotated[str, AfterValidator(_check_emoji)] = "pushpin"
    """A reaction with this emoji on a message in an incident channel puts it on the timeline."""
    postmortem_channel: SlackChannel | None = None
    """An overdue postmortem is escalated here too (besides its incident's commander)."""
    workflows: tuple[Workflow, ...] = ()
    """What runs on incident events: pages, annotations, webhooks, posts (see :mod:`bot.playbook.workflows`)."""
    followups: FollowUpTracker = FollowUpTracker()
    """The issue tracker every follow-up becomes an issue in (default none)."""

    @model_validator(mode="wrap")
    @classmethod
    def _check_references(cls, data: Any, handler: ModelWrapValidatorHandler[Playbook]) -> Playbook:
        references = reference_errors(data)
        try:
            playbook = handler(data)
        except ValidationError as exc:
            # Re-raised together so one run reports field and reference problems alike.
            fields: list[InitErrorDetails] = [
                {
                    "type": PydanticCustomError(e["type"], e["msg"]),
                    "loc": e["loc"],
                    "input": e["input"],
                }
                for e in exc.errors()
            ]
            raise ValidationError.from_exception_data(
                cls.__name__, [*fields, *references]
            ) from None
        if references:
            raise ValidationError.from_exception_data(cls.__name__, references)
        return playbook

    @property
    def severity_names(self) -> tuple[str, ...]:
        """Severity names, most severe first."""
        return tuple(severity.name for severity in self.severities)

    def severity(self, name: str) -> Severity:
        """The severity called ``name``; KeyError if there is none."""
        for severity in self.severities:
            if severity.name == name:
                return severity
        raise KeyError(f"unknown severity {quote(name)} (known: {', '.join(self.severity_names)})")

    def severity_rank(self, name: str) -> int:
        """0 for the most severe level, 1 for the next, ...; KeyError if unknown."""
        return self.severity_names.index(self.severity(name).name)

    def more_severe(self, a: str, b: str) -> str:
        """The more severe of two severity names (``a`` when equal)."""
        return b if self.severity_rank(b) < self.severity_rank(a) else a

    def should_auto_declare(self, route: Route, labels: Mapping[str, str], severity: str) -> bool:
        """Whether a group with these labels and this severity opens an incident on
        ``route`` (a route of this playbook) without a human declaring it."""
        rule = route.auto_declare
        if not rule.enabled or not matches_all(rule.matchers, labels):
            return False
        if rule.min_severity is None:
            return True
        return self.severity_rank(severity) <= self.severity_rank(rule.min_severity)
