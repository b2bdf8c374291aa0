"""The memoised attribute encoding sends exactly what the library's own encoder sends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.exporter.otlp.proto.common._internal import trace_encoder
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util.types import AnyValue

from bot.observability.attribute_encoding import AttributeCache, install


def _spans(attribute_sets: list[dict[str, AnyValue]]) -> list[ReadableSpan]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    for attributes in attribute_sets:
        with tracer.start_as_current_span("POST /alertmanager", attributes=attributes) as span:
            span.add_event("decide", {"incident_bot.outcome": "opened"})
    provider.shutdown()
    return list(exporter.get_finished_spans())


# Values that are equal in Python but of different types in OTLP, sequences, a mapping (an
# extended attribute: unhashable), a NaN (never equal to itself), and values that repeat.
SPANS: list[dict[str, AnyValue]] = [
    {"flag": True, "count": 1, "ratio": 1.0, "route": "/alertmanager", "codes": (200, 503)},
    {"flag": 1, "count": True, "ratio": 1, "route": "/alertmanager", "codes": ("a", "b")},
    {"flag": 1.0, "count": 1, "ratio": float("nan"), "nested": {"k": "v"}, "route": "/readyz"},
    {"route": "/alertmanager", "incident_bot.incident.id": "INC-7", "bytes": b"\x00\x01"},
]


@pytest.fixture
def installed() -> Iterator[AttributeCache]:
    library = trace_encoder._encode_attributes
    uninstall = install()
    assert uninstall is not None
    cache = trace_encoder._encode_attributes.__self__  # type: ignore[attr-defined]  # the bound method's cache
    assert isinstance(cache, AttributeCache)
    yield cache
    uninstall()
    assert trace_encoder._encode_attributes is library


def _decoded(spans: list[ReadableSpan]) -> ExportTraceServiceRequest:
    return ExportTraceServiceRequest.FromString(encode_spans(spans).SerializeToString())


def test_the_same_request_as_the_librarys_encoder_every_time(installed: AttributeCache) -> None:
    spans = _spans(SPANS)
    memoised = trace_encoder._encode_attributes
    trace_encoder._encode_attributes = installed._library_encode  # type: ignore[attr-defined]
    expected = _decoded(spans)
    trace_encoder._encode_attributes = memoised  # type: ignore[attr-defined]
    first, again = _decoded(spans), _decoded(spans)  # the second from the cache
    # NaN != NaN, so compare the bytes of what would be sent, not the messages.
    assert first.SerializeToString(deterministic=True) == expected.SerializeToString(deterministic=True)
    assert again.SerializeToString(deterministic=True) == expected.SerializeToString(deterministic=True)
    sent = first.resource_spans[0].scope_spans[0].spans
    flags = [next(a.value for a in span.attributes if a.key == "flag") for span in sent[:3]]
    assert [flag.WhichOneof("value") for flag in flags] == ["bool_value", "int_value", "double_value"]


def test_a_repeated_value_is_encoded_once_and_the_cache_is_bounded() -> None:
    calls: list[str] = []

    def library(attributes: dict[str, AnyValue] | None) -> list:  # type: ignore[type-arg]
        calls.extend(attributes or {})
        return trace_encoder._encode_attributes(attributes)

    cache = AttributeCache(library, max_entries=3)
    for _ in range(5):
        cache.encode({"http.route": "/alertmanager", "url.scheme": "http"})
    assert calls == ["http.route", "url.scheme"]
    for number in range(10):
        cache.encode({"incident_bot.incident.id": f"INC-{number}"})
    assert len(cache) <= 3


def test_install_changes_nothing_where_the_library_has_no_such_function() -> None:
    class Elsewhere:
        pass

    assert install(Elsewhere) is None  # type: ignore[arg-type]  # a module without the function
