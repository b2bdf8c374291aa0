"""``incident-bot simulate`` shows which workflows would run for a payload and what each
action would send, naming secrets only by their variable."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import cli_env, run_cli
from tests.support.payloads import CAPTURED
from tests.workflows.support import ROUTING_KEY, workflow_playbooks


def test_simulate_prints_each_workflow_action_without_secrets(tmp_path: Path) -> None:
    playbooks = workflow_playbooks(tmp_path, "https://hooks.example.com/incidents")
    env = cli_env(tmp_path, PLAYBOOKS_DIR=str(playbooks), TEST_PAGERDUTY_ROUTING_KEY=ROUTING_KEY,
                  TEST_HOOK_SECRET="hook-secret")
    result = run_cli(["simulate", str(CAPTURED / "1-firing.json")], env, tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    start = lines.index("workflows:")
    shown = lines[start + 1:]
    assert [line.split("] ", 1)[1].split(" ", 1)[0] for line in shown] == ["PagerDuty", "Grafana", "POST", "post",
                                                                           "invite"]
    assert "(routing key from $TEST_PAGERDUTY_ROUTING_KEY)" in shown[0] and "severity=critical" in shown[0]
    assert shown[2] == "  [page-payments] POST https://hooks.example.com/incidents event=incident.opened " \
                       "(signed with $TEST_HOOK_SECRET)"
    assert shown[3] == "  [page-payments] post to #payments-leads: 'HighErrorRate in checkout is SEV1'"
    assert shown[4] == "  [page-payments] invite UCAROL, members of SLEADS"
    assert ROUTING_KEY not in result.stdout and "hook-secret" not in result.stdout

    as_json = run_cli(["simulate", "--json", str(CAPTURED / "1-firing.json")], env, tmp_path)
    assert [a["kind"] for a in json.loads(as_json.stdout)["workflows"]] == [
        "pagerduty.event", "grafana.annotate", "webhook.send", "workflow.post", "workflow.invite"]
