"""The bot's own Prometheus metrics, on a registry per application instance."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import HistogramMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.openmetrics.exposition import CONTENT_TYPE_LATEST as OPENMETRICS_CONTENT_TYPE
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics

from bot.domain.analytics import Histogram as DurationHistogram
from bot.domain.kinds import ACTION_SERVICES

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """RED metrics for HTTP endpoints plus the bot's domain counters."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.http_requests = Counter(
            "incident_bot_http_requests", "HTTP requests served, by endpoint, method and status.",
            ["endpoint", "method", "status"], registry=self.registry,
        )
        self.http_latency = Histogram(
            "incident_bot_http_request_duration_seconds", "Time to answer an HTTP request, by endpoint.",
            ["endpoint", "method"], buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.webhook_deliveries = Counter(
            "incident_bot_webhook_deliveries", "Alertmanager deliveries, by outcome "
            "(open, join, reopen, record, duplicate, rejected, unavailable).",
            ["outcome"], registry=self.registry,
        )
        self.webhook_alerts = Counter(
            "incident_bot_webhook_alerts", "Alerts received in accepted deliveries.", registry=self.registry,
        )
        self.open_incidents = Gauge(
            "incident_bot_open_incidents", "Incidents not yet resolved, by severity.",
            ["severity"], registry=self.registry,
        )

        self.slack_calls = Counter(
            "incident_bot_slack_api_calls", "Slack Web API calls, by method and outcome.",
            ["method", "outcome"], registry=self.registry,
        )
        self.slack_latency = Histogram(
            "incident_bot_slack_api_call_duration_seconds", "Slack Web API call latency, by method.",
            ["method"], buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.outbox_actions = Counter(
            "incident_bot_outbox_actions",
            "Outbox action attempts, by kind and result (done, failed, retried, rate_limited, waiting).",
            ["kind", "result"], registry=self.registry,
        )
        self.postmortems_overdue = Gauge(
            "incident_bot_postmortems_overdue", "Unpublished postmortems past their due time (computed at scrape time).",
            registry=self.registry)
        self.followups_overdue = Gauge(
            "incident_bot_followups_overdue", "Open follow-ups past their due time (computed at scrape time).",
            registry=self.registry)
        for kind in ACTION_SERVICES:  # other services' kinds (workflows) show on /metrics before their first action
            for result in ("done", "failed", "retried", "rate_limited"):
                self.outbox_actions.labels(kind, result)
        self.outbox_depth = Gauge(
            "incident_bot_outbox_pending", "Outbox actions waiting to be delivered.", registry=self.registry,
        )
        self.outbox_oldest_age = Gauge(
            "incident_bot_outbox_oldest_pending_age_seconds", "Age of the oldest undelivered outbox action.",
            registry=self.registry,
        )

        self.tracker_checks = Counter(
            "incident_bot_tracker_checks", "Follow-up issues read from their tracker, by tracker and result "
            "(open, closed, error).", ["tracker", "result"], registry=self.registry,
        )

        self.scheduler_lag = Histogram(
            "incident_bot_scheduler_lag_seconds", "How late a due timer fired, by kind.",
            ["kind"], buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300), registry=self.registry,
        )

        self._durations: dict[str, dict[str, DurationHistogram]] = {}
        self.registry.register(_DurationCollector(self))

    def set_durations(self, name: str, by_severity: dict[str, DurationHistogram]) -> None:
        """Replace a duration histogram family, computed from the database at scrape time."""
        self._durations[name] = by_severity

    def set_open_incidents(self, counts: dict[str, int]) -> None:
        self.open_incidents.clear()
        for severity, count in counts.items():
            self.open_incidents.labels(severity=severity).set(count)

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def render_for(self, accept: str) -> tuple[bytes, str]:
        """The exposition Prometheus asked for, and its content type: OpenMetrics (with the
        latency histograms' ``trace_id`` exemplars) when ``Accept`` names it, plain text otherwise."""
        if "application/openmetrics-text" in accept:
            return generate_openmetrics(self.registry), OPENMETRICS_CONTENT_TYPE  # type: ignore[no-untyped-call]
        return generate_latest(self.registry), self.content_type


class _DurationCollector:
    """MTTA/MTTR as histograms computed from stored incidents, so every replica reports
    the same truth and a restart forgets nothing."""

    HELP: ClassVar[dict[str, str]] = {
        "incident_bot_time_to_acknowledge_seconds":
            "Time from open to acknowledgement of incidents opened in the last 30 days, by severity.",
        "incident_bot_time_to_resolve_seconds":
            "Time from open to resolution of incidents opened in the last 30 days, by severity.",
    }

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        for name, help_text in self.HELP.items():
            family = HistogramMetricFamily(name, help_text, labels=["severity"])
            for severity, hist in sorted(self._metrics._durations.get(name, {}).items()):
                buckets = [("+Inf" if bound == float("inf") else f"{bound:g}", float(count))
                           for bound, count in hist.buckets]
                family.add_metric([severity], buckets, sum_value=hist.total)
            yield family

    def describe(self) -> Iterator[Metric]:
        return iter(())
