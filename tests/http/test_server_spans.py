"""The server span of every request, through real HTTP on a real aiohttp server: the caller's
trace continued, the stable HTTP semantic conventions, errors, and what is never recorded."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from bot.http.server_spans import _server_address, server_spans
from bot.observability.tracing import untraced_paths

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


@pytest.fixture
def exported() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exported: InMemorySpanExporter) -> Iterator[TracerProvider]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    yield provider
    provider.shutdown()


async def _created(request: web.Request) -> web.Response:
    return web.json_response({"id": request.match_info["thing_id"]}, status=201)


async def _unavailable(_request: web.Request) -> web.Response:
    return web.json_response({"error": "database unavailable"}, status=503)


async def _handled(_request: web.Request) -> web.Response:
    span = trace.get_current_span()
    span.set_attribute("error.type", "StorageUnavailable")
    span.set_status(Status(StatusCode.ERROR, "database unavailable"))
    return web.json_response({"error": "database unavailable, retry later"}, status=503)


async def _crash(_request: web.Request) -> web.Response:
    raise RuntimeError("the handler's own bug")


async def _gone(_request: web.Request) -> web.Response:
    raise web.HTTPNotFound(text="no such thing")


async def _ok(_request: web.Request) -> web.Response:
    return web.Response(text="ok")


@pytest.fixture
async def client(provider: TracerProvider) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = web.Application(middlewares=[server_spans(provider.get_tracer("test"), untraced_paths({}))])
    app.router.add_post("/things/{thing_id}", _created)
    app.router.add_get("/unavailable", _unavailable)
    app.router.add_get("/handled", _handled)
    app.router.add_get("/crash", _crash)
    app.router.add_get("/gone", _gone)
    app.router.add_get("/healthz", _ok)
    app.router.add_route("*", "/any", _ok)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


def _only(exported: InMemorySpanExporter) -> ReadableSpan:
    [span] = exported.get_finished_spans()
    return span


async def test_a_request_continues_the_callers_trace_with_the_route_as_its_name(
        client: TestClient[web.Request, web.Application], exported: InMemorySpanExporter) -> None:
    response = await client.post("/things/42?search=free+text", json={},
                                 headers={"traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01",
                                          "User-Agent": "Alertmanager/0.27.0 (anything a caller writes)"})
    assert response.status == 201
    span = _only(exported)
    assert span.name == "POST /things/{thing_id}" and span.kind is SpanKind.SERVER
    assert f"{span.context.trace_id:032x}" == CALLER_TRACE
    assert span.parent is not None and f"{span.parent.span_id:016x}" == CALLER_SPAN
    attributes = dict(span.attributes or {})
    assert attributes == {
        "http.request.method": "POST", "http.route": "/things/{thing_id}", "url.path": "/things/42",
        "url.scheme": "http", "server.address": "127.0.0.1", "server.port": client.port,
        "network.protocol.version": "1.1", "client.address": "127.0.0.1", "http.response.status_code": 201,
    }
    assert span.status.status_code is StatusCode.UNSET


async def test_without_a_traceparent_the_request_starts_a_trace(
        client: TestClient[web.Request, web.Application], exported: InMemorySpanExporter) -> None:
    await client.post("/things/7", json={})
    span = _only(exported)
    assert span.parent is None and span.context.trace_id != int(CALLER_TRACE, 16)


async def test_a_request_without_a_traceparent_is_no_child_of_what_runs_around_the_server(
        provider: TracerProvider, exported: InMemorySpanExporter) -> None:
    # The server's tasks run in the context it was started in; a span current there (the
    # start-up's, a test's) must not become the parent of every request.
    app = web.Application(middlewares=[server_spans(provider.get_tracer("test"), untraced_paths({}))])
    app.router.add_post("/things/{thing_id}", _created)
    with provider.get_tracer("test").start_as_current_span("around the server") as around:
        async with TestClient(TestServer(app)) as test_client:
            assert (await test_client.post("/things/8", json={})).status == 201
    request_span = next(span for span in exported.get_finished_spans() if span.name == "POST /things/{thing_id}")
    assert request_span.parent is None
    assert request_span.context.trace_id != around.get_span_context().trace_id


async def test_a_5xx_marks_the_span_failed_and_a_4xx_does_not(
        client: TestClient[web.Request, web.Application], exported: InMemorySpanExporter) -> None:
    assert (await client.get("/unavailable")).status == 503
    assert (await client.get("/gone")).status == 404
    unavailable, gone = exported.get_finished_spans()
    assert unavailable.status.status_code is StatusCode.ERROR
    assert unavailable.attributes is not None and unavailable.attributes["error.type"] == "503"
    assert gone.attributes is not None and gone.attributes["http.response.status_code"] == 404
    assert gone.status.status_code is StatusCode.UNSET and "error.type" not in gone.attributes


async def test_a_handler_that_said_why_it_failed_keeps_its_reason(
        client: TestClient[web.Request, web.Application], exported: InMemorySpanExporter) -> None:
    assert (await client.get("/handled")).status == 503
    span = _only(exported)
    assert span.status.status_code is StatusCode.ERROR and span.status.description == "database unavailable"
    assert span.attributes is not None and span.attributes["error.type"] == "StorageUnavailable"
    assert span.attributes["http.response.status_code"] == 503


async def test_an_exception_in_the_handler_is_recorded_by_its_type_not_its_message(
        client: TestClient[web.Request, web.Application], exported: InMemorySpanExporter) -> None:
    assert (await client.get("/crash")).status == 500
    span = _only(exported)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None and span.attributes["error.type"] == "RuntimeError"
    assert "bug" not in str(dict(span.attributes)) and not span.events


async def test_probes_get_no_span_and_an_operator_may_choose_other_paths(
        client: TestClient[web.Request, web.Application], exported: InMemorySpanExporter) -> None:
    assert (await client.get("/healthz")).status == 200
    assert exported.get_finished_spans() == ()
    chosen = untraced_paths({"OTEL_PYTHON_AIOHTTP_SERVER_EXCLUDED_URLS": "^/things/"})
    assert chosen.url_disabled("/things/1") and not chosen.url_disabled("/healthz")
    assert untraced_paths({"OTEL_PYTHON_EXCLUDED_URLS": "^/any$"}).url_disabled("/any")


async def test_unknown_methods_and_unmatched_paths_keep_names_and_attributes_bounded(
        client: TestClient[web.Request, web.Application], exported: InMemorySpanExporter) -> None:
    assert (await client.request("PURGE", "/any")).status == 200
    assert (await client.get("/no/such/path/a1b2c3")).status == 404
    other, unmatched = exported.get_finished_spans()
    assert other.name == "HTTP /any" and other.attributes is not None
    assert other.attributes["http.request.method"] == "_OTHER"
    assert unmatched.name == "GET" and unmatched.attributes is not None and "http.route" not in unmatched.attributes


@pytest.mark.parametrize(("host", "split"), [
    ("bot.example:8443", ("bot.example", 8443)),
    ("bot.example", ("bot.example", None)),
    ("[::1]:8080", ("::1", 8080)),
    ("[::1]", ("::1", None)),
    ("bot.example:notaport", ("bot.example", None)),
])
def test_the_host_header_gives_the_server_address_and_port(host: str, split: tuple[str, int | None]) -> None:
    assert _server_address(host) == split
