"""A real OTLP/HTTP trace receiver on loopback: it decodes each export with opentelemetry-proto,
as a Collector's ``otlp`` receiver does, and keeps the spans for a test to look at."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tests.support.bot import free_port

PROTOBUF = "application/x-protobuf"


@dataclass(frozen=True)
class ReceivedSpan:
    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    kind: int
    attributes: dict[str, Any]
    status_code: int
    service: str
    scope: str
    events: dict[str, dict[str, Any]]  # by name: their attributes


def _value(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    if which == "array_value":
        return [_value(v) for v in value.array_value.values]
    return getattr(value, which) if which else None


@dataclass
class OtlpReceiver:
    url: str = ""
    spans: list[ReceivedSpan] = field(default_factory=list)
    exports: int = 0
    refused: list[str] = field(default_factory=list)

    @property
    def traces_endpoint(self) -> str:
        return f"{self.url}/v1/traces"

    def trace(self, trace_id: str) -> list[ReceivedSpan]:
        return [s for s in self.spans if s.trace_id == trace_id]

    async def handle(self, request: web.Request) -> web.Response:
        if request.content_type != PROTOBUF:
            self.refused.append(f"Content-Type {request.content_type}")
            return web.Response(status=415)
        raw = await request.read()
        encoding = request.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            raw = gzip.decompress(raw)
        elif encoding == "deflate":
            raw = zlib.decompress(raw)
        export = ExportTraceServiceRequest.FromString(raw)
        self.exports += 1
        for resource_spans in export.resource_spans:
            resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    self.spans.append(_received(span, str(resource.get("service.name", "")), scope_spans.scope.name))
        return web.Response(body=ExportTraceServiceResponse().SerializeToString(), content_type=PROTOBUF)


def _received(span: Span, service: str, scope: str) -> ReceivedSpan:
    return ReceivedSpan(
        trace_id=span.trace_id.hex(), span_id=span.span_id.hex(), parent_span_id=span.parent_span_id.hex(),
        name=span.name, kind=span.kind, attributes={a.key: _value(a.value) for a in span.attributes},
        status_code=span.status.code, service=service, scope=scope,
        events={e.name: {a.key: _value(a.value) for a in e.attributes} for e in span.events},
    )


@asynccontextmanager
async def running_receiver() -> AsyncIterator[OtlpReceiver]:
    receiver = OtlpReceiver()
    app = web.Application()
    app.router.add_post("/v1/traces", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    receiver.url = f"http://127.0.0.1:{port}"
    try:
        yield receiver
    finally:
        await runner.cleanup()
