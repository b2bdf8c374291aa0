"""The pieces of tracing that need no process: when it is on, which spans are recorded, the ids
on log lines and the exemplars on /metrics (the whole journey: test_tracing_process.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON
from opentelemetry.trace import SpanKind, Tracer

from bot.observability.logs import add_trace_ids
from bot.observability.metrics import Metrics
from bot.observability.sampling import NoBareClientSpans
from bot.observability.tracing import (
    action_context,
    current_exemplar,
    disabled_instrumentations,
    outbox_context,
    tracing_wanted,
)


@pytest.fixture
def exported() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracer(exported: InMemorySpanExporter) -> Iterator[Tracer]:
    provider = TracerProvider(sampler=NoBareClientSpans(ALWAYS_ON))
    provider.add_span_processor(SimpleSpanProcessor(exported))
    yield provider.get_tracer("test")
    provider.shutdown()


@pytest.mark.parametrize(("environ", "wanted"), [
    ({}, False),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
    ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_SDK_DISABLED": "TRUE"}, False),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_SDK_DISABLED": "false"}, True),
    ({"OTEL_SERVICE_NAME": "bot"}, False),
])
def test_traces_are_wanted_only_with_an_endpoint_and_the_sdk_not_disabled(environ: dict[str, str], wanted: bool) -> None:
    assert tracing_wanted(environ) is wanted


def test_instrumentations_are_left_off_as_the_standard_variable_lists_them() -> None:
    assert disabled_instrumentations({"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": " sqlalchemy, httpx ,"}) == {"sqlalchemy", "httpx"}
    assert disabled_instrumentations({}) == frozenset()


def test_a_client_call_outside_any_trace_is_not_recorded_but_one_inside_is(
        tracer: Tracer, exported: InMemorySpanExporter) -> None:
    with tracer.start_as_current_span("SELECT outbox", kind=SpanKind.CLIENT) as polling:
        assert not polling.is_recording()
    with tracer.start_as_current_span("fire timer ack_timeout"), \
            tracer.start_as_current_span("POST", kind=SpanKind.CLIENT) as call:
        assert call.is_recording()
    assert [s.name for s in exported.get_finished_spans()] == ["POST", "fire timer ack_timeout"]


def test_the_stored_context_makes_the_delivery_a_child_in_the_same_trace(
        tracer: Tracer, exported: InMemorySpanExporter) -> None:
    assert outbox_context() is None  # outside a span: nothing to store
    with tracer.start_as_current_span("POST /alertmanager") as request:
        stored = outbox_context()
    assert stored is not None and set(stored) <= {"traceparent", "tracestate"}
    with tracer.start_as_current_span("deliver channel.create", context=action_context(stored)) as delivery:
        pass
    assert delivery.get_span_context().trace_id == request.get_span_context().trace_id
    assert delivery.parent is not None and delivery.parent.span_id == request.get_span_context().span_id
    assert action_context(None) is None  # an action stored without tracing starts a trace of its own


def test_a_log_line_inside_a_span_carries_its_trace_and_span_ids(tracer: Tracer) -> None:
    assert add_trace_ids(None, "info", {"event": "outside"}) == {"event": "outside"}
    with tracer.start_as_current_span("ingest") as span:
        line = add_trace_ids(None, "info", {"event": "webhook stored"})
    context = span.get_span_context()
    assert line == {"event": "webhook stored", "trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"}


def test_latency_exemplars_are_served_in_openmetrics_only(tracer: Tracer) -> None:
    metrics = Metrics()
    with tracer.start_as_current_span("POST /alertmanager") as span:
        metrics.http_latency.labels("/alertmanager", "POST").observe(0.012, current_exemplar())
    metrics.http_latency.labels("/alertmanager", "POST").observe(0.3, current_exemplar())  # no span: no exemplar
    trace_id = f"{span.get_span_context().trace_id:032x}"

    body, content_type = metrics.render_for("application/openmetrics-text;version=1.0.0,text/plain;q=0.5")
    assert content_type.startswith("application/openmetrics-text")
    text = body.decode()
    assert f'incident_bot_http_request_duration_seconds_bucket{{endpoint="/alertmanager",le="0.025",method="POST"}} 1.0 # {{trace_id="{trace_id}"}} 0.012' in text
    assert text.count("trace_id=") == 1 and text.endswith("# EOF\n")

    plain, plain_type = metrics.render_for("text/plain")
    assert plain_type.startswith("text/plain") and b"trace_id" not in plain
