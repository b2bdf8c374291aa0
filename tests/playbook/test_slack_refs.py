"""Which channels and users playbooks name, which of them Slack lacks, and how a failure to
ask Slack is told: plain values, no Slack."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli.slack_check import explain_slack_error
from bot.playbook.loader import load_playbooks
from bot.playbook.slack_refs import (
    SlackReference,
    WorkspaceView,
    reference_problems,
    slack_references,
    user_ids,
)
from bot.slack.gateway import (
    SlackError,
    SlackPermanentError,
    SlackRateLimited,
    SlackTransientError,
)

PLAYBOOK = """\
name: payments
severities:
  - {name: sev1, description: critical, update_every: 30m, ack_timeout: 5m,
     stakeholder_channels: ["#incidents", C0EXEC01]}
  - {name: sev2, description: major, update_every: 1h, ack_timeout: 15m}
rotations:
  primary: {users: [UALICE, UBOB], start: "2026-01-05T09:00", period: 1w, timezone: UTC}
routes:
  - name: critical
    matchers: ['severity="critical"']
    severity: {default: sev1}
    commander: {rotation: primary}
    responders: [UDAVE, UALICE]
  - name: db
    matchers: ['team="db"']
    severity: {default: sev2}
    commander: {user: UCAROL}
  - name: rest
    auto_declare: false
    severity: {default: sev2}
    triage_channel: "#alerts-triage"
"""


@pytest.fixture
def references(tmp_path: Path) -> list[SlackReference]:
    (tmp_path / "payments.yml").write_text(PLAYBOOK)
    return slack_references(load_playbooks(tmp_path))


def test_every_channel_and_user_a_playbook_names_is_found_at_its_field(
        references: list[SlackReference], tmp_path: Path) -> None:
    file = str(tmp_path / "payments.yml")
    assert {r.file for r in references} == {file}
    assert [(r.path, r.kind, r.value) for r in references] == [
        ("severities[0].stakeholder_channels[0]", "channel", "#incidents"),
        ("severities[0].stakeholder_channels[1]", "channel", "C0EXEC01"),
        ("rotations.primary.users[0]", "user", "UALICE"),
        ("rotations.primary.users[1]", "user", "UBOB"),
        ("routes[0].responders[0]", "user", "UDAVE"),
        ("routes[0].responders[1]", "user", "UALICE"),
        ("routes[1].commander.user", "user", "UCAROL"),
        ("routes[2].triage_channel", "channel", "#alerts-triage"),
    ]
    assert user_ids(references) == ["UALICE", "UBOB", "UDAVE", "UCAROL"]  # each asked about once


def test_nothing_is_a_problem_when_slack_has_everything(references: list[SlackReference]) -> None:
    everything = WorkspaceView(frozenset({"C0EXEC01"}), frozenset({"incidents", "alerts-triage"}),
                               dict.fromkeys(["UALICE", "UBOB", "UDAVE", "UCAROL"], "active"))
    assert reference_problems(references, everything) == []


def test_each_miss_is_one_problem_at_the_field_that_names_it(references: list[SlackReference]) -> None:
    workspace = WorkspaceView(frozenset({"C0OTHER1"}), frozenset({"alerts-triage", "#incidents"}),
                              {"UALICE": "active", "UBOB": "deactivated", "UDAVE": "missing"})
    lines = [f"{p.path}: {p.message}" for p in reference_problems(references, workspace)]
    hidden = ("that the bot can see: it does not exist, is archived, or is private and the bot is not in it "
              "(create it, or /invite @incident-bot there)")
    assert lines == [
        f'severities[0].stakeholder_channels[0]: Slack has no channel "#incidents" {hidden}',
        f'severities[0].stakeholder_channels[1]: Slack has no channel "C0EXEC01" {hidden}',
        'rotations.primary.users[1]: Slack user "UBOB" is deactivated',
        'routes[0].responders[0]: Slack has no user "UDAVE" in this workspace',
        'routes[1].commander.user: Slack has no user "UCAROL" in this workspace',  # never asked about: missing
    ]


@pytest.mark.parametrize(("error", "line"), [
    (SlackTransientError("auth.test", "ClientConnectorError"),
     ("cannot reach Slack at http://slack.test/api/ (auth.test: ClientConnectorError); check SLACK_API_URL and the "
     "network")),
    (SlackTransientError("conversations.list", "HTTP 503"),
     ("cannot reach Slack at http://slack.test/api/ (conversations.list: HTTP 503); check SLACK_API_URL and the "
     "network")),
    (SlackRateLimited("users.info", 30), ("Slack kept rate-limiting users.info (ratelimited, retry after 30s); "
     "try again in a minute")),
    (SlackPermanentError("auth.test", "invalid_auth"),
     "Slack refused SLACK_BOT_TOKEN (invalid_auth); use the app's Bot User OAuth Token (xoxb-...)"),
    (SlackPermanentError("users.info", "missing_scope"),
     ("Slack refused users.info: missing_scope; the app lacks a scope that check --slack needs: reinstall it with "
     "the scopes in slack-app-manifest.yml")),
    (SlackPermanentError("auth.test", "HTTP 404"),
     ("http://slack.test/api/ answered auth.test with HTTP 404, not as Slack's Web API does; check SLACK_API_URL "
     "(a base URL ending in /api/)")),
    (SlackPermanentError("conversations.list", "invalid_cursor"), "Slack refused conversations.list: invalid_cursor"),
])
def test_a_failure_to_ask_slack_is_one_line_that_says_what_to_do(error: SlackError, line: str) -> None:
    assert explain_slack_error(error, "http://slack.test/api/") == line
