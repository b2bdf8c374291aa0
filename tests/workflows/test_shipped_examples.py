"""The shipped examples stay true: the default playbook's commented workflow loads when
uncommented, Grafana's contact point points at the webhook endpoint, and the annotation
query the README tells people to add is the one the shipped dashboard has."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from bot.playbook import load_playbooks
from tests.conftest import REPO

DEFAULT = REPO / "playbooks" / "default.yml"
GRAFANA = REPO / "deploy" / "grafana"


def test_the_commented_workflow_of_the_default_playbook_loads(tmp_path: Path) -> None:
    text = DEFAULT.read_text()
    start = text.index("# workflows:")
    end = text.index("\n\n", start)
    uncommented = re.sub(r"^# ?", "", text[start:end], flags=re.MULTILINE)
    (tmp_path / "default.yml").write_text(text[:start] + uncommented + text[end:])
    [workflow] = load_playbooks(tmp_path).get("default").workflows
    assert [step.name for step in workflow.do] == ["page", "grafana_annotation", "webhook", "post", "invite"]


def test_grafana_contact_point_and_annotation_query() -> None:
    provisioning = yaml.safe_load((GRAFANA / "contact-point.yml").read_text())
    [receiver] = provisioning["contactPoints"][0]["receivers"]
    assert receiver["type"] == "webhook" and receiver["settings"]["url"].endswith("/alertmanager")
    [query] = json.loads((GRAFANA / "annotations.json").read_text())["annotations"]["list"]
    assert query["target"] == {"type": "tags", "tags": ["incident"], "limit": 100, "matchAny": False}
    dashboard = json.loads((GRAFANA / "incident-bot-dashboard.json").read_text())
    assert query in dashboard["annotations"]["list"]
