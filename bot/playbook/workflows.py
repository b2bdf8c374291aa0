"""The ``workflows:`` section of a playbook: what runs on which incident events.

Each workflow names the events it runs ``on``, the conditions (``if``) that must all hold,
and the actions it does, in order::

    workflows:
      - name: page-payments
        on: [incident.opened, severity.changed]
        if: {severity: [sev1, sev2], labels: ['team="payments"']}
        do:
          - page: {routing_key_env: PAGERDUTY_ROUTING_KEY}
          - webhook: {url: "https://hooks.example.com/incidents", secret_env: HOOK_SECRET}

Secrets are never written here: an action names the environment variable that holds one,
and the bot reads it when it sends.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from bot.playbook.fieldtypes import MatcherField, Name, NonEmpty, SeverityName, SlackChannel, SlackUserId, TemplateText, quote
from bot.playbook.matchers import matches_all

__all__ = [
    "TRIGGERS", "Action", "GrafanaAnnotationAction", "InviteAction", "PageAction", "PostAction", "Trigger",
    "WebhookAction", "Workflow", "WorkflowCondition", "action_name", "environment_names",
]

Trigger = Literal[
    "incident.opened", "severity.changed", "commander.acknowledged", "status.changed", "incident.resolved",
    "incident.reopened", "followup.overdue", "postmortem.overdue",
]
TRIGGERS: tuple[str, ...] = Trigger.__args__  # type: ignore[attr-defined]

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_USERGROUP = re.compile(r"S[A-Z0-9]{2,}")


def _env_name(value: str) -> str:
    if not _ENV_NAME.fullmatch(value):
        raise ValueError(f"expected an environment variable name like PAGERDUTY_ROUTING_KEY, got {quote(value)}")
    return value


def _web_url(value: str) -> str:
    if not re.fullmatch(r"https?://[^\s/]+\S*", value):
        raise ValueError(f"expected an absolute http(s) URL, got {quote(value)}")
    return value


def _usergroup(value: str) -> str:
    if not _USERGROUP.fullmatch(value):
        raise ValueError(f"expected a Slack user group id like S0123ABCD, got {quote(value)}")
    return value


EnvName = Annotated[str, AfterValidator(_env_name)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class PageAction(_Model):
    """Trigger a PagerDuty Events API v2 alert for the incident, and keep it in step."""

    routing_key_env: EnvName
    """The environment variable holding the integration's routing key."""
    summary: TemplateText | None = None
    """The alert's summary; default ``[SEV1] <title> (incident #<id>)``."""
    source: TemplateText | None = None
    """The alert's source; default ``incident-bot``."""


class GrafanaAnnotationAction(_Model):
    """Add an annotation when the workflow runs; it becomes a region when the incident resolves."""

    tags: tuple[str, ...] = ()
    text: TemplateText | None = None
    dashboard_uid: str | None = None
    panel_id: int | None = None


class WebhookAction(_Model):
    """POST the event as JSON, signed with HMAC-SHA256 of the body."""

    url: Annotated[str, AfterValidator(_web_url)]
    secret_env: EnvName


class PostAction(_Model):
    """Post a message to another channel."""

    channel: SlackChannel
    text: TemplateText


class InviteAction(_Model):
    """Invite people to the incident channel."""

    users: tuple[SlackUserId, ...] = ()
    usergroup: Annotated[str, AfterValidator(_usergroup)] | None = None

    @model_validator(mode="after")
    def _someone(self) -> InviteAction:
        if not self.users and self.usergroup is None:
            raise ValueError("set users, usergroup or both")
        return self


class Action(_Model):
    """One step of ``do``: a mapping with exactly one of the action names."""

    page: PageAction | None = None
    grafana_annotation: GrafanaAnnotationAction | None = None
    webhook: WebhookAction | None = None
    post: PostAction | None = None
    invite: InviteAction | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_action(cls, data: Any) -> Any:
        names = tuple(cls.model_fields)
        if not isinstance(data, Mapping):
            raise ValueError(f"expected a mapping with one action ({', '.join(names)}), got {quote(data)}")
        unknown = [str(k) for k in data if k not in names]
        if unknown:
            raise ValueError(f"unknown action {quote(unknown[0])}: expected one of {', '.join(names)}")
        if len(data) != 1:
            raise ValueError(f"expected exactly one action per step, got {len(data)}")
        if next(iter(data.values())) is None:
            return {next(iter(data)): {}}
        return data

    @property
    def name(self) -> str:
        return action_name(self)

    @property
    def spec(self) -> PageAction | GrafanaAnnotationAction | WebhookAction | PostAction | InviteAction:
        value = getattr(self, self.name)
        assert value is not None
        return value  # type: ignore[no-any-return]


def action_name(action: Action) -> str:
    return next(name for name in Action.model_fields if getattr(action, name) is not None)


class WorkflowCondition(_Model):
    """``if``: every condition given must hold."""

    severity: tuple[SeverityName, ...] = ()
    labels: tuple[MatcherField, ...] = ()
    route: tuple[Name, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _single_values(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            return {k: [v] if isinstance(v, str) else v for k, v in data.items()}
        return data

    def holds(self, severity: str, route: str, labels: Mapping[str, str]) -> bool:
        return ((not self.severity or severity in self.severity) and (not self.route or route in self.route)
                and matches_all(self.labels, labels))


class Workflow(_Model):
    name: Name
    on: Annotated[tuple[Trigger, ...], NonEmpty] = Field(alias="on")
    when: WorkflowCondition = Field(default=WorkflowCondition(), alias="if")
    do: Annotated[tuple[Action, ...], NonEmpty]

    @model_validator(mode="before")
    @classmethod
    def _yaml_on(cls, data: Any) -> Any:
        # YAML 1.1 reads a bare ``on:`` key as the boolean true.
        if isinstance(data, Mapping) and True in data:
            data = {("on" if k is True else k): v for k, v in data.items()}
        if isinstance(data, Mapping) and isinstance(data.get("on"), str):
            data = {**data, "on": [data["on"]]}
        return data


def environment_names(workflow: Workflow) -> list[tuple[str, str]]:
    """(field path inside the workflow, variable name) for every variable its actions name."""
    names = []
    for index, step in enumerate(workflow.do):
        spec = step.spec
        if isinstance(spec, PageAction):
            names.append((f"do[{index}].page.routing_key_env", spec.routing_key_env))
        elif isinstance(spec, WebhookAction):
            names.append((f"do[{index}].webhook.secret_env", spec.secret_env))
    return names


def workflow_problems(playbook_severities: tuple[str, ...], workflows: tuple[Workflow, ...],
                      environ: Mapping[str, str]) -> list[tuple[str, str]]:
    """(field, message) for what a workflow names that is not there: an environment
    variable that is unset, Grafana when GRAFANA_URL/GRAFANA_TOKEN are unset, a severity the
    playbook does not define."""
    problems = []
    for index, workflow in enumerate(workflows):
        for field, name in environment_names(workflow):
            if not environ.get(name):
                problems.append((f"workflows[{index}].{field}", f"environment variable {name} is not set"))
        for step_index, step in enumerate(workflow.do):
            if step.grafana_annotation is not None:
                missing = [n for n in ("GRAFANA_URL", "GRAFANA_TOKEN") if not environ.get(n)]
                if missing:
                    problems.append((f"workflows[{index}].do[{step_index}].grafana_annotation",
                                     f"environment variable {' and '.join(missing)} is not set"))
        for sev_index, severity in enumerate(workflow.when.severity):
            if severity not in playbook_severities:
                problems.append((f"workflows[{index}].if.severity[{sev_index}]",
                                 f"unknown severity {quote(severity)} (known: {', '.join(playbook_severities)})"))
    return problems
