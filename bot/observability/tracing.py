"""The bot traces itself with OpenTelemetry, exported over OTLP/HTTP.

Configured by the standard ``OTEL_*`` variables, read by the SDK itself (endpoint, service
name, sampler and its ratio). With no endpoint, or ``OTEL_SDK_DISABLED=true``, nothing is set
up: the API's no-op tracer answers every span and the outbox stores no trace context.

One trace follows an alert: the webhook request (continuing an incoming W3C ``traceparent``),
its transaction and, across the outbox, every Slack call made for the actions it enqueued.
The outbox stores the W3C context with each action (``outbox_context``); the worker starts
the action's span as a child of it (``action_context``), in whichever process delivers it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.propagate import extract, inject
from sqlalchemy.engine import Engine
from yarl import URL

from storage import alerting

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.util.http import ExcludeList

TRACER_NAME = "incident_bot"
HTTP_TRACER_NAME = "incident_bot.http"
# Probes and scrapes are not worth a trace each: the aiohttp server instrumentation's own
# variable (or the generic OTEL_PYTHON_EXCLUDED_URLS) when the operator set one, these if not.
EXCLUDED_URLS_VARIABLE = "OTEL_PYTHON_AIOHTTP_SERVER_EXCLUDED_URLS"
UNTRACED_PATHS = "^/healthz$,^/readyz$,^/metrics$"


# A proxy: a no-op until tracing is started, the SDK's tracer after.
_TRACER = trace.get_tracer(TRACER_NAME)


class _Untraced(trace.NoOpTracer):
    """What :func:`tracer` gives while tracing is off: the API's no-op tracer still builds a
    context manager and sets the invalid span as current for every span asked for (3% of a
    webhook delivery's CPU); this hands out one shared context manager that does nothing."""

    def start_as_current_span(self, *_args: object, **_kwargs: object) -> AbstractContextManager[trace.Span]:  # type: ignore[override]  # the same use, fewer parameters
        return _NO_SPAN


_NO_SPAN = nullcontext(trace.INVALID_SPAN)
_UNTRACED = _Untraced()


def tracer() -> trace.Tracer:
    """The bot's own tracer, for the domain steps (ingest, deliver an action, fire a timer)."""
    return _TRACER if _started is not None else _UNTRACED


def request_span_or_own(name: str, kind: trace.SpanKind = trace.SpanKind.INTERNAL) -> AbstractContextManager[trace.Span]:
    """The span of the request being answered (bot.http.server_spans), for a unit of work to
    record itself on; a span ``name`` of its own where the request has none (the server spans
    left off, or a Slack request over Socket Mode). One span per webhook delivery, not a child
    for its transaction: a second span cost 0.03-0.07 ms of CPU per delivery, its start, end and
    export (bench/README.md), and the request's span lasts the transaction and a little parsing."""
    current = trace.get_current_span()
    if current.get_span_context().is_valid:
        return nullcontext(current)
    return tracer().start_as_current_span(name, kind=kind)


def tracing_wanted(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the environment asks for traces: an OTLP endpoint, and the SDK not disabled."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return bool(environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"))


def disabled_instrumentations(environ: Mapping[str, str] = os.environ) -> frozenset[str]:
    """``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS`` (as for auto-instrumentation): of
    ``aiohttp-server``, ``aiohttp-client``, ``sqlalchemy``, ``httpx``, those to leave off."""
    listed = environ.get("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", "")
    return frozenset(name.strip() for name in listed.split(",") if name.strip())


def untraced_paths(environ: Mapping[str, str] = os.environ) -> ExcludeList:
    """The request paths that get no server span (regular expressions, comma-separated)."""
    from opentelemetry.util.http import parse_excluded_urls  # only a bot that traces needs it

    listed = environ.get(EXCLUDED_URLS_VARIABLE) or environ.get("OTEL_PYTHON_EXCLUDED_URLS") or UNTRACED_PATHS
    return parse_excluded_urls(listed)


def outbox_context() -> dict[str, str] | None:
    """The current W3C trace context as plain strings, for an outbox row; None outside a span.
    The last one is kept: a delivery or a command enqueues several actions in one span."""
    global _last_context  # noqa: PLW0603 - one entry, replaced whole (threads share it)
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return None
    key = (span_context.trace_id, span_context.span_id, id(otel_context.get_current()))
    last = _last_context
    if last is None or last[0] != key:
        carrier: dict[str, str] = {}
        inject(carrier)
        last = _last_context = (key, carrier)
    return dict(last[1]) or None


_last_context: tuple[tuple[int, int, int], dict[str, str]] | None = None


def action_context(stored: Mapping[str, str] | None) -> otel_context.Context | None:
    """The context to start an outbox action's span in: the stored one, or a new trace."""
    return extract(dict(stored)) if stored else None


def current_exemplar() -> dict[str, str] | None:
    """``{"trace_id": ...}`` of the sampled span in progress, for a histogram observation."""
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid or not span_context.trace_flags.sampled:
        return None
    return {"trace_id": format(span_context.trace_id, "032x")}


# slack_sdk sends form methods' arguments (a topic, a link) in the query string, and PromQL
# travels there too: a client span's URL keeps scheme, host and path only.
_URL_ATTRIBUTES = ("http.url", "url.full")


def _without_query(url: URL) -> str:
    return str(url.with_query(None).with_fragment(None))


def _strip_query(span: trace.Span, request: object) -> None:
    recorded = getattr(span, "attributes", None) or {}
    for key in _URL_ATTRIBUTES:
        if key in recorded:
            span.set_attribute(key, str(recorded[key]).split("?", 1)[0])


async def _strip_query_async(span: trace.Span, request: object) -> None:
    _strip_query(span, request)


@dataclass
class Tracing:
    """The SDK's provider and the instrumentations it started; :meth:`shutdown` flushes."""

    provider: TracerProvider
    database_spans: bool = True
    server_spans: bool = True  # bot.http.server_spans, added to the app by its factory
    _stops: list[Callable[[], object]] = field(default_factory=list)

    def instrument_database(self, engines: Sequence[Engine]) -> None:
        """A client span per statement (semantic conventions for databases) on PostgreSQL,
        where each is a round trip to a server that may be slow or hold a lock.

        Not on SQLite: it runs in the process, a statement takes microseconds, and every
        write goes through its one writer thread, so a span per statement would cost more
        than the statement and slow every write (bench/tracing_overhead.py, every trace
        sampled: 0.65 of the untraced ingest throughput with them, 0.79-0.92 without). The span of the unit
        of work (ingest, deliver, fire timer) stands for its transaction there."""
        if not self.database_spans:
            return
        engines = [engine for engine in engines if engine.dialect.name != "sqlite"]
        if not engines:
            return
        from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
        from opentelemetry.metrics import NoOpMeter

        usage = NoOpMeter("incident_bot").create_up_down_counter("db.client.connections.usage")
        instrumentation_tracer = trace.get_tracer("opentelemetry.instrumentation.sqlalchemy")
        for engine in engines:
            EngineTracer(instrumentation_tracer, engine, usage)  # type: ignore[no-untyped-call]  # untyped upstream
        self._stops.append(EngineTracer.remove_all_event_listeners)

    def shutdown(self) -> None:
        """Export what is still queued, then stop."""
        alerting.set_trace_context_source(None)
        for stop in reversed(self._stops):
            stop()
        self._stops.clear()
        self.provider.shutdown()


_started: Tracing | None = None


def start_tracing(service_version: str, environ: Mapping[str, str] = os.environ) -> Tracing | None:
    """Start the SDK (once per process) if the environment asks for traces; None otherwise."""
    global _started  # noqa: PLW0603 - OpenTelemetry's provider is process-wide and can be set once
    if not tracing_wanted(environ):
        return None
    if _started is not None:
        return _started
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import _get_from_env_or_default

    from bot.observability import attribute_encoding  # the SDK and the exporter: only with tracing on
    from bot.observability.resource import hashed_once
    from bot.observability.sampling import NoBareClientSpans

    resource = hashed_once(Resource.create({SERVICE_NAME: environ.get("OTEL_SERVICE_NAME") or "incident-bot",
                                            SERVICE_VERSION: service_version}))
    provider = TracerProvider(resource=resource, sampler=NoBareClientSpans(_get_from_env_or_default()))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    started = Tracing(provider)
    uninstall_encoding = attribute_encoding.install()
    if uninstall_encoding is not None:
        started._stops.append(uninstall_encoding)
    # Slack calls (slack_sdk opens an aiohttp session per call) and the Alertmanager and
    # Prometheus clients (httpx): client spans under what made the call. The requests the bot
    # answers get theirs from bot.http.server_spans.
    off = disabled_instrumentations(environ)
    started.server_spans = "aiohttp-server" not in off
    if "aiohttp-client" not in off:
        AioHttpClientInstrumentor().instrument(url_filter=_without_query)
        started._stops.append(AioHttpClientInstrumentor().uninstrument)
    if "httpx" not in off:
        HTTPXClientInstrumentor().instrument(request_hook=_strip_query, async_request_hook=_strip_query_async)
        started._stops.append(HTTPXClientInstrumentor().uninstrument)
    started.database_spans = "sqlalchemy" not in off
    alerting.set_trace_context_source(outbox_context)
    _started = started
    return started
