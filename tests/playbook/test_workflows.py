"""The ``workflows:`` section: what loads, what is refused (naming file and field), and what
``incident-bot check`` says about the environment a workflow needs."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.playbook import load_playbooks
from bot.playbook.workflows import PageAction, workflow_problems
from tests.playbook.test_loader import CATCH_ALL, lines, playbook, write
from tests.support.cli import cli_env, run_cli

GOOD = """\
workflows:
  - name: page-payments
    on: [incident.opened, severity.changed]
    if: {severity: [sev1, sev2], labels: ['team="payments"'], route: catch-all}
    do:
      - page: {routing_key_env: PAGERDUTY_ROUTING_KEY}
      - grafana_annotation: {tags: [incident, payments]}
      - webhook: {url: "https://hooks.example.com/incidents", secret_env: HOOK_SECRET}
      - post: {channel: "#payments-leads", text: "{{ incident.title }} is {{ incident.severity }}"}
      - invite: {users: ["U0123"], usergroup: S0001}
  - name: overdue
    on: [followup.overdue, postmortem.overdue]
    do:
      - post: {channel: "#leads", text: "{{ event.kind }} on {{ incident.title }}"}
"""


def with_workflows(tmp_path: Path, workflows: str) -> Path:
    return write(tmp_path, "p.yml", playbook("p", CATCH_ALL, extra=workflows))


def test_every_trigger_condition_and_action_loads(tmp_path: Path) -> None:
    with_workflows(tmp_path, GOOD)
    [first, second] = load_playbooks(tmp_path).get("p").workflows
    assert first.on == ("incident.opened", "severity.changed")  # a bare YAML `on:` is read as true, and still works
    assert [step.name for step in first.do] == ["page", "grafana_annotation", "webhook", "post", "invite"]
    assert isinstance(first.do[0].spec, PageAction) and first.do[0].spec.routing_key_env == "PAGERDUTY_ROUTING_KEY"
    assert first.when.holds("sev1", "catch-all", {"team": "payments"})
    assert not first.when.holds("sev3", "catch-all", {"team": "payments"})
    assert not first.when.holds("sev1", "catch-all", {"team": "search"})
    assert second.on == ("followup.overdue", "postmortem.overdue")


@pytest.mark.parametrize(("workflow", "field", "message"), [
    ("on: [incident.exploded]\n    do: [{post: {channel: '#x', text: hi}}]", "workflows[0].on[0]", "incident.opened"),
    ("on: [incident.opened]\n    do: [{pager: {routing_key_env: X}}]", "workflows[0].do[0]", 'unknown action "pager"'),
    ("on: [incident.opened]\n    if: {labels: ['team=~\"(\"']}\n    do: [{post: {channel: '#x', text: hi}}]",
     "workflows[0].if.labels[0]", "regular expression"),
    ("on: [incident.opened]\n    do: [{page: {routing_key: abc}}]", "workflows[0].do[0].page.routing_key", "unknown key"),
    ("on: [incident.opened]\n    do: [{webhook: {url: 'ftp://x', secret_env: S}}]", "workflows[0].do[0].webhook.url",
     "http(s) URL"),
    ("on: [incident.opened]\n    do: [{invite: {}}]", "workflows[0].do[0].invite", "users, usergroup or both"),
    ("on: [incident.opened]\n    do: [{post: {channel: '#x', text: '{{ oops'}}]", "workflows[0].do[0].post.text",
     "template"),
    ("on: []\n    do: [{post: {channel: '#x', text: hi}}]", "workflows[0].on", "at least one"),
])
def test_a_wrong_workflow_is_refused_naming_the_field(tmp_path: Path, workflow: str, field: str, message: str) -> None:
    with_workflows(tmp_path, f"workflows:\n  - name: w\n    {workflow}\n")
    problems = lines(tmp_path)
    assert any(p.startswith(f"{tmp_path / 'p.yml'}: {field}:") and message in p for p in problems), problems


def test_check_names_each_missing_environment_variable_and_unknown_severity(tmp_path: Path) -> None:
    with_workflows(tmp_path, GOOD.replace("[sev1, sev2]", "[sev1, sev9]"))
    workflows = load_playbooks(tmp_path).get("p")
    problems = workflow_problems(workflows.severity_names, workflows.workflows, {"HOOK_SECRET": "x"})
    assert problems == [
        ("workflows[0].do[0].page.routing_key_env", "environment variable PAGERDUTY_ROUTING_KEY is not set"),
        ("workflows[0].do[1].grafana_annotation", "environment variable GRAFANA_URL and GRAFANA_TOKEN is not set"),
        ("workflows[0].if.severity[1]", 'unknown severity "sev9" (known: sev1, sev2, sev3)'),
    ]


def test_the_check_command_reports_the_environment_a_workflow_needs(tmp_path: Path) -> None:
    directory = tmp_path / "playbooks"
    directory.mkdir()
    with_workflows(directory, GOOD)
    result = run_cli(["check", str(directory)], cli_env(tmp_path, HOOK_SECRET="s", GRAFANA_URL="http://g",
                                                        GRAFANA_TOKEN="t"), tmp_path)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{directory / 'p.yml'}: workflows[0].do[0].page.routing_key_env: "
        "environment variable PAGERDUTY_ROUTING_KEY is not set"]
    ok = run_cli(["check", str(directory)], cli_env(tmp_path, HOOK_SECRET="s", GRAFANA_URL="http://g",
                                                    GRAFANA_TOKEN="t", PAGERDUTY_ROUTING_KEY="k"), tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
