"""The deployment examples under deploy/ are checked by the real tools and against the code.

Alertmanager's configuration goes through ``amtool``, the alert rules and the Prometheus
configuration through ``promtool`` (including the rules' unit tests), the systemd unit
through ``systemd-analyze verify``. Every metric the rules and the Grafana dashboard query
must be one the bot exports (bot/observability/metrics.py), with labels it really has.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.parser import text_string_to_metric_families

from bot.cli.main import build_parser
from bot.domain.analytics import histogram
from bot.observability.metrics import Metrics
from bot.settings import Settings
from tests.support.integration import unavailable

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
ALERTMANAGER_CONFIG = DEPLOY / "alertmanager" / "alertmanager.yml"
RULES = DEPLOY / "prometheus" / "incident-bot-rules.yml"
RULE_TESTS = DEPLOY / "prometheus" / "incident-bot-rules.test.yml"
PROMETHEUS_CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
DASHBOARD = DEPLOY / "grafana" / "incident-bot-dashboard.json"
UNIT = DEPLOY / "systemd" / "incident-bot.service"
CONTAINERFILE = DEPLOY / "Containerfile"
RUNBOOK = DEPLOY / "RUNBOOK.md"

BOT_METRIC = re.compile(r"\bincident_bot_[a-z0-9_]+\b")
RECORDED = re.compile(r"\bincident_bot:[a-z0-9_:]+")
SELECTOR = re.compile(r"\b(incident_bot_[a-z0-9_]+)\s*\{([^}]*)\}")
LABEL_MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")
# Labels Prometheus adds at scrape time.
TARGET_LABELS = {"job", "instance"}
# Series that are not the bot's but that the shipped rules and dashboard rely on.
FOREIGN_SERIES = {"up", "probe_success"}
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__range": "1h", "$job": "incident-bot", "$instance": ".*"}


def tool(name: str, package: str) -> str:
    found = shutil.which(name)
    if found is None:
        unavailable(f"{name} is not installed (Debian package {package})")
    assert found is not None
    return found


def run(*command: str, cwd: Path = REPO) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{' '.join(command)} exited {done.returncode}:\n{output}"
    return output


@cache
def exported_series() -> dict[str, frozenset[str] | None]:
    """Every series name /metrics can expose, with its label names (None: not known)."""
    metrics = Metrics()
    wrappers = [value for value in vars(metrics).values() if isinstance(value, MetricWrapperBase)]
    for metric in wrappers:
        names = metric._labelnames
        child = metric.labels(*["x"] * len(names)) if names else metric
        {"counter": lambda c: c.inc(), "gauge": lambda c: c.set(1),
         "histogram": lambda c: c.observe(1), "summary": lambda c: c.observe(1)}[metric._type](child)
    suffixes = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum", "_created"),
                "summary": ("", "_count", "_sum", "_created"), "gauge": ("",)}
    series: dict[str, frozenset[str] | None] = {}
    for family in metrics.registry.collect():
        for suffix in suffixes.get(family.type, ("",)):
            series.setdefault(family.name + suffix, None)
        if family.type == "histogram" and not family.samples:
            metrics.set_durations(family.name, {"x": histogram([1.0])})  # collected from the database
    for family in text_string_to_metric_families(metrics.render().decode()):
        for sample in family.samples:
            series[sample.name] = frozenset(series.get(sample.name) or ()) | frozenset(sample.labels)
    return series


def check_query(expr: str, where: str, recorded: set[str] = frozenset()) -> list[str]:
    """Problems with one PromQL expression: unknown metrics, unknown labels."""
    problems = []
    series = exported_series()
    source = (REPO / "bot" / "observability" / "metrics.py").read_text(encoding="utf-8")
    for name in BOT_METRIC.findall(expr):
        if name not in series:
            problems.append(f"{where}: {name} is not exported by bot/observability/metrics.py")
        elif not any(name.startswith(base) and name[len(base):] in ("", "_total", "_created", "_bucket", "_count", "_sum")
                     for base in re.findall(r'"(incident_bot_[a-z0-9_]+)"', source)):
            problems.append(f"{where}: {name} is not named in bot/observability/metrics.py")
    for name, matchers in SELECTOR.findall(expr):
        known = series.get(name)
        if known is None:
            continue
        for label in LABEL_MATCHER.findall(matchers):
            if label not in known | TARGET_LABELS:
                problems.append(f"{where}: {name} has no label {label!r} (it has {sorted(known)})")
    for name in RECORDED.findall(expr):
        if name not in recorded:
            problems.append(f"{where}: {name} is not recorded by {RULES.name}")
    return problems


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def rules() -> list[dict[str, Any]]:
    return [rule for group in load_yaml(RULES)["groups"] for rule in group["rules"]]


def alerts() -> list[dict[str, Any]]:
    return [rule for rule in rules() if "alert" in rule]


def dashboard() -> dict[str, Any]:
    loaded = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def dashboard_panels() -> list[dict[str, Any]]:
    panels = []
    for panel in dashboard()["panels"]:
        panels.append(panel)
        panels.extend(panel.get("panels", []))  # panels inside collapsed rows
    return panels


def dashboard_queries() -> list[tuple[str, str]]:
    return [(f"panel {panel['title']!r} target {target['refId']}", target["expr"])
            for panel in dashboard_panels() if panel["type"] != "row" for target in panel["targets"]]


def settings_variables() -> set[str]:
    return {name.upper() for name in Settings.model_fields}


# -- Alertmanager -----------------------------------------------------------------------

@pytest.mark.integration
def test_alertmanager_config_passes_amtool() -> None:
    output = run(tool("amtool", "prometheus-alertmanager"), "check-config", str(ALERTMANAGER_CONFIG))
    assert "SUCCESS" in output


@pytest.mark.integration
@pytest.mark.parametrize(("labels", "receiver"), [
    (["alertname=HighErrorRate", "service=checkout", "severity=critical"], "incident-bot"),
    (["alertname=Anything"], "incident-bot"),
    (["alertname=IncidentBotDown", "service=incident-bot", "severity=critical"], "incident-bot-fallback"),
])
def test_alertmanager_routes_the_bots_own_alerts_around_it(labels: list[str], receiver: str) -> None:
    run(tool("amtool", "prometheus-alertmanager"), "config", "routes", "test",
        f"--config.file={ALERTMANAGER_CONFIG}", f"--verify.receivers={receiver}", *labels)


def test_alertmanager_webhook_matches_the_bot() -> None:
    config = load_yaml(ALERTMANAGER_CONFIG)
    receiver = next(r for r in config["receivers"] if r["name"] == config["route"]["receiver"])
    (webhook,) = receiver["webhook_configs"]
    assert webhook["url"].endswith(":8080/alertmanager")
    assert webhook["send_resolved"] is True
    assert webhook["http_config"]["authorization"]["credentials_file"] == "/etc/alertmanager/incident-bot-token"
    fallback = next(r for r in config["receivers"] if r["name"] == "incident-bot-fallback")
    assert "webhook_configs" not in fallback, "the fallback must not depend on the bot"
    for alert in alerts():  # so the route above takes every one of them
        assert alert["labels"]["service"] == "incident-bot", alert["alert"]


# -- Prometheus rules -------------------------------------------------------------------

@pytest.mark.integration
def test_rules_pass_promtool_check() -> None:
    output = run(tool("promtool", "prometheus"), "check", "rules", str(RULES))
    assert "SUCCESS" in output


@pytest.mark.integration
def test_rules_unit_tests_pass() -> None:
    output = run(tool("promtool", "prometheus"), "test", "rules", str(RULE_TESTS))
    assert "SUCCESS" in output


@pytest.mark.integration
def test_prometheus_config_passes_promtool_with_the_rules_resolved() -> None:
    # Run from elsewhere: the rule file path must resolve relative to the config file.
    output = run(tool("promtool", "prometheus"), "check", "config", str(PROMETHEUS_CONFIG), cwd=Path("/"))
    assert "1 rule files found" in output and "SUCCESS" in output
    assert load_yaml(PROMETHEUS_CONFIG)["rule_files"] == [RULES.name]


def test_every_alert_is_tested_firing_and_quiet() -> None:
    cases: dict[str, set[bool]] = {}
    for case in load_yaml(RULE_TESTS)["tests"]:
        for check in case.get("alert_rule_test", []):
            cases.setdefault(check["alertname"], set()).add(bool(check.get("exp_alerts")))
    for alert in alerts():
        assert cases.get(alert["alert"]) == {True, False}, \
            f"{alert['alert']} needs a promtool test where it fires and one where it does not"


def test_rules_query_only_metrics_the_bot_exports() -> None:
    recorded = {rule["record"] for rule in rules() if "record" in rule}
    problems = []
    for rule in rules():
        name = rule.get("alert") or rule["record"]
        problems += check_query(rule["expr"], name, recorded)
        problems += [f"{name}: uses {s}" for s in re.findall(r"\b([a-z_]+)\{", rule["expr"])
                     if not s.startswith("incident_bot_") and s not in FOREIGN_SERIES]
    assert not problems, "\n".join(problems)


def test_every_alert_has_a_severity_and_a_runbook_section() -> None:
    anchors = {_github_anchor(line.lstrip("#").strip())
               for line in RUNBOOK.read_text(encoding="utf-8").splitlines() if line.startswith("## ")}
    for alert in alerts():
        assert alert["labels"]["severity"] in ("critical", "warning"), alert["alert"]
        annotations = alert["annotations"]
        assert annotations["summary"] and annotations["description"]
        url = annotations["runbook_url"]
        assert url.startswith("https://") and "/deploy/RUNBOOK.md#" in url, url
        anchor = url.rsplit("#", 1)[1]
        assert anchor == alert["alert"].lower() and anchor in anchors, f"no RUNBOOK.md section for {url}"


def _github_anchor(heading: str) -> str:
    return re.sub(r"[^a-z0-9 _-]", "", heading.lower()).replace(" ", "-")


# -- Grafana ----------------------------------------------------------------------------

def test_dashboard_is_a_grafana_dashboard() -> None:
    board = dashboard()
    assert 36 <= board["schemaVersion"] <= 41
    assert board["uid"] and board["title"]
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    ids = [panel["id"] for panel in dashboard_panels()]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in dashboard_panels():
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["w"] > 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["type"] in ("timeseries", "stat", "gauge", "bargauge", "table", "heatmap"), panel["type"]
        assert panel["datasource"]["uid"] == "${datasource}"
        assert panel["targets"], f"panel {panel['title']!r} has no query"
        for target in panel["targets"]:
            assert target["expr"].strip() and target["refId"]


def test_dashboard_queries_only_metrics_the_bot_exports() -> None:
    problems = []
    for where, expr in dashboard_queries():
        problems += check_query(expr, where)
        problems += [f"{where}: uses {s}" for s in re.findall(r"\b([a-z_]+)\{", expr)
                     if not s.startswith("incident_bot_") and s not in FOREIGN_SERIES]
    assert not problems, "\n".join(problems)


def test_dashboard_shows_every_metric_the_bot_exports() -> None:
    used = " ".join(expr for _, expr in dashboard_queries())
    families = {re.sub(r"_(total|created|bucket|count|sum)$", "", name) for name in exported_series()}
    missing = sorted(f for f in families if not re.search(rf"\b{f}(_total|_bucket|_count|_sum)?\b", used))
    assert not missing, f"no dashboard panel shows {missing}"


@pytest.mark.integration
def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    # promtool parses every query as a recording rule, with Grafana's variables filled in.
    recording = []
    for index, (_, expr) in enumerate(dashboard_queries()):
        for variable, value in sorted(GRAFANA_VARIABLES.items(), key=lambda kv: -len(kv[0])):
            expr = expr.replace(variable, value)
        assert "$" not in expr, f"unknown Grafana variable in {expr}"
        recording.append({"record": f"dashboard:query:{index}", "expr": expr})
    rule_file = tmp_path / "dashboard-queries.yml"
    rule_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": recording}]}), encoding="utf-8")
    assert "SUCCESS" in run(tool("promtool", "prometheus"), "check", "rules", str(rule_file))


# -- systemd, container, Procfile ---------------------------------------------------------

@pytest.mark.integration
def test_systemd_unit_verifies(tmp_path: Path) -> None:
    analyze = tool("systemd-analyze", "systemd")
    text = UNIT.read_text(encoding="utf-8")
    # The executable does not exist on this machine; everything else is checked as written.
    copy = tmp_path / UNIT.name
    copy.write_text(text.replace("/opt/incident-bot/.venv/bin/incident-bot", "/bin/true"), encoding="utf-8")
    done = subprocess.run([analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and not (done.stdout + done.stderr).strip(), done.stdout + done.stderr


def test_systemd_unit_is_hardened_and_runs_the_bot() -> None:
    directives: dict[str, list[str]] = {}
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", ";")):
            key, value = line.split("=", 1)
            directives.setdefault(key.strip(), []).append(value.strip())
    assert directives["ExecStart"] == ["/opt/incident-bot/.venv/bin/incident-bot serve"]
    assert "ExecStartPre" not in directives, "migrations run once per release, not on every start (see the unit)"
    for key, value in {"User": "incident-bot", "Restart": "on-failure", "NoNewPrivileges": "yes",
                       "ProtectSystem": "strict", "StateDirectory": "incident-bot", "KillSignal": "SIGTERM"}.items():
        assert directives.get(key) == [value], key
    assert directives["EnvironmentFile"] == ["/etc/incident-bot/env"]
    assert "TimeoutStopSec" in directives
    documented = set(re.findall(r"^#\s+([A-Z][A-Z_]+)=", UNIT.read_text(encoding="utf-8"), re.M))
    assert documented and documented <= settings_variables(), documented - settings_variables()


def test_containerfile_is_honest_and_consistent() -> None:
    text = CONTAINERFILE.read_text(encoding="utf-8")
    assert "NOT BUILT HERE" in text.split("FROM", 1)[0], "say at the top that it was never built"
    joined = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    lines = [line.strip() for line in joined.splitlines() if line.strip()]
    assert lines[0] == "FROM python:3.11-slim"
    for line in lines:
        if line.startswith("COPY "):
            *sources, _ = line.split()[1:]
            for source in sources:
                assert (REPO / source).exists(), f"COPY {source}: no such file in the repository"
    (user,) = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert user.split(":")[0] not in ("root", "0")
    entrypoint = json.loads(next(line for line in lines if line.startswith("ENTRYPOINT "))[len("ENTRYPOINT "):])
    command = json.loads(next(line for line in lines if line.startswith("CMD "))[len("CMD "):])
    assert entrypoint + command == ["incident-bot", "serve"]
    env = set(re.findall(r"\b([A-Z][A-Z_]+)=", " ".join(line for line in lines if not line.startswith("RUN "))))
    bot_env = {name for name in env if not name.startswith(("PYTHON", "PIP_"))}
    assert bot_env and bot_env <= settings_variables(), bot_env - settings_variables()


def test_procfile_and_deploy_examples_run_real_subcommands() -> None:
    assert (REPO / "Procfile").read_text(encoding="utf-8").strip() == "web: incident-bot serve"
    parser = build_parser()
    subcommands = next(a for a in parser._actions if a.dest == "command").choices
    assert {"serve", "check", "db"} <= set(subcommands)
