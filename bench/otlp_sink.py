"""A local OTLP/HTTP trace receiver for the benchmarks: decodes every export (as a Collector's
``otlp`` receiver would) and counts the spans; ``GET /count`` answers the count.

    .venv/bin/python bench/otlp_sink.py --port 4318
"""

from __future__ import annotations

import argparse
import gzip

from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

SPANS = web.AppKey("spans", list)


async def export(request: web.Request) -> web.Response:
    raw = await request.read()
    if request.headers.get("Content-Encoding") == "gzip":
        raw = gzip.decompress(raw)
    decoded = ExportTraceServiceRequest.FromString(raw)
    request.app[SPANS][0] += sum(len(s.spans) for r in decoded.resource_spans for s in r.scope_spans)
    return web.Response(body=ExportTraceServiceResponse().SerializeToString(), content_type="application/x-protobuf")


async def count(request: web.Request) -> web.Response:
    return web.json_response({"spans": request.app[SPANS][0]})


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[SPANS] = [0]
    app.router.add_post("/v1/traces", export)
    app.router.add_get("/count", count)
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
