"""``incident-bot check`` on the playbook's ``followups:`` key: a wrong tracker, repository
or project is an error naming file and field; a tracker whose credentials are missing from
the environment is a warning saying which variables to set."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.playbook import Playbook
from tests.support.cli import cli_env, run_cli

PLAYBOOK = """\
name: trackers
severities:
  - {{name: sev1, description: Critical, update_every: 30m, ack_timeout: 5m}}
routes:
  - name: all
    severity: {{default: sev1}}
followups: {followups}
"""


def _write(tmp_path: Path, followups: str) -> Path:
    directory = tmp_path / "playbooks"
    directory.mkdir(exist_ok=True)
    (directory / "trackers.yml").write_text(PLAYBOOK.format(followups=followups))
    return directory


@pytest.mark.parametrize("followups,expected", [
    ("{tracker: gitlab}", "followups.tracker: expected 'github', 'jira' or 'none', got \"gitlab\""),
    ("{tracker: github, github_repo: not-a-repo}",
     'followups.github_repo: expected a GitHub repository as owner/name, like acme/ops; got "not-a-repo"'),
    ("{tracker: github}", "followups: tracker github needs github_repo: owner/name"),
    ("{tracker: jira, jira_project: ops}", "followups.jira_project: expected a Jira project key"),
    ("{tracker: jira}", "followups: tracker jira needs jira_project: KEY"),
    ("{tracker: jira, jira_project: OPS, labels: [needs triage]}", "Jira labels cannot contain spaces"),
    ("{tracker: github, github_repo: acme/ops, labels: [1]}", "followups.labels[0]: expected a valid string, got a number"),
    ("{tracker: github, github_repo: acme/ops, project: X}", "followups.project"),
])
def test_a_wrong_followups_key_is_an_error_naming_file_and_field(tmp_path: Path, followups: str,
                                                                 expected: str) -> None:
    directory = _write(tmp_path, followups)
    result = run_cli(["check", str(directory)], cli_env(tmp_path), tmp_path)
    assert result.returncode == 1, result.stdout
    [line] = result.stdout.splitlines()
    assert line.startswith(f"{directory / 'trackers.yml'}: ") and expected in line, line


def test_missing_credentials_are_a_warning_naming_the_variables(tmp_path: Path) -> None:
    directory = _write(tmp_path, "{tracker: jira, jira_project: OPS}")
    result = run_cli(["check", str(directory)], cli_env(tmp_path, JIRA_URL="https://acme.atlassian.net"), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{directory / 'trackers.yml'}: followups.tracker: warning: tracker jira needs JIRA_USER, " \
           "JIRA_API_TOKEN in the environment" in result.stderr
    result = run_cli(["check", str(directory)], cli_env(tmp_path, JIRA_URL="https://acme.atlassian.net",
                                                        JIRA_USER="bot@acme.com", JIRA_API_TOKEN="t"), tmp_path)
    assert result.returncode == 0 and "warning" not in result.stderr


def test_github_without_a_token_is_a_warning(tmp_path: Path) -> None:
    directory = _write(tmp_path, "{tracker: github, github_repo: acme/ops, labels: [incident follow-up]}")
    result = run_cli(["check", str(directory)], cli_env(tmp_path), tmp_path)
    assert result.returncode == 0
    assert "followups.tracker: warning: tracker github needs GITHUB_TOKEN" in result.stderr


def test_the_shipped_default_exports_nothing() -> None:
    assert Playbook.model_fields["followups"].default.tracker == "none"
