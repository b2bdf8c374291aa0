"""The shipped tracing examples: the OpenTelemetry Collector configuration is complete and keeps
what the README says (every error, a tenth of the rest), and the dashboard's latency panels ask
for the exemplars that link to traces. (No Collector binary on this machine: the configuration is
checked for structure, not by otelcol validate.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
COLLECTOR = DEPLOY / "otel-collector" / "otel-collector.yaml"
DASHBOARD = DEPLOY / "grafana" / "incident-bot-dashboard.json"


def collector() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(COLLECTOR.read_text())
    return config


def test_every_component_of_the_collectors_trace_pipeline_is_defined() -> None:
    config = collector()
    pipeline = config["service"]["pipelines"]["traces"]
    for section in ("receivers", "processors", "exporters"):
        assert pipeline[section], section
        assert set(pipeline[section]) <= set(config[section]), f"{section} used but not defined"
    assert set(config["service"]["extensions"]) <= set(config["extensions"])
    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(":4318")  # where the bot sends


def test_the_collector_keeps_every_error_and_a_tenth_of_the_rest() -> None:
    config = collector()
    processors = config["service"]["pipelines"]["traces"]["processors"]
    assert processors.index("tail_sampling") < processors.index("batch")
    policies = {p["type"]: p for p in config["processors"]["tail_sampling"]["policies"]}
    assert policies["status_code"]["status_code"]["status_codes"] == ["ERROR"]
    assert policies["probabilistic"]["probabilistic"]["sampling_percentage"] == 10
    assert config["processors"]["tail_sampling"]["decision_cache"]["sampled_cache_size"] > 0  # late Slack spans


def test_the_latency_panels_show_exemplars() -> None:
    panels = [p for p in json.loads(DASHBOARD.read_text())["panels"] if p["type"] != "row"]
    latency = [t for p in panels for t in p["targets"]
               if "_duration_seconds_bucket" in t["expr"] and ("http_request" in t["expr"] or "slack_api" in t["expr"])]
    assert latency and all(t.get("exemplar") is True for t in latency)
