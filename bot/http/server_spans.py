"""A server span for every request the bot answers (but probes and scrapes), named and
described by OpenTelemetry's stable HTTP semantic conventions, continuing the caller's W3C
``traceparent``.

The contrib ``opentelemetry-instrumentation-aiohttp-server`` does the same job, but spent
about 0.1 ms of the event loop per request (twelve attributes of two generations of the
conventions, the environment read several times, four URL parses, its metrics), a third of
the loop's whole share of a webhook delivery; this costs about 40 µs (a request through a bare
aiohttp app; bench/README.md, "Profiles: Tracing"). This
records the same request with the attributes the conventions require or recommend, less
the free text a caller controls (the query string, the user agent).
"""

from __future__ import annotations

from functools import lru_cache

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.propagate import extract, get_global_textmap
from opentelemetry.semconv.attributes.client_attributes import CLIENT_ADDRESS
from opentelemetry.semconv.attributes.error_attributes import ERROR_TYPE
from opentelemetry.semconv.attributes.http_attributes import (
    HTTP_REQUEST_METHOD,
    HTTP_RESPONSE_STATUS_CODE,
    HTTP_ROUTE,
)
from opentelemetry.semconv.attributes.network_attributes import NETWORK_PROTOCOL_VERSION
from opentelemetry.semconv.attributes.server_attributes import SERVER_ADDRESS, SERVER_PORT
from opentelemetry.semconv.attributes.url_attributes import URL_PATH, URL_SCHEME
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.util.http import ExcludeList
from opentelemetry.util.types import AttributeValue

from bot.http.middleware import route_template

# RFC 9110's methods and PATCH; any other is "_OTHER" (the conventions' bound on cardinality).
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})
OTHER_METHOD = "_OTHER"
# What extract() gives for a request without trace headers: a new trace, never a child of
# whatever context the server's task happens to run in.
_NO_PARENT = Context()


def server_spans(tracer: trace.Tracer, excluded: ExcludeList) -> Middleware:
    """The middleware; it must come first, so that everything after it runs in the span."""

    # Alertmanager sends no trace context: without any of the propagators' headers there is
    # nothing to continue, and extracting from nothing cost 5-6 µs a request.
    fields = tuple(get_global_textmap().fields)

    @web.middleware
    async def traced(request: web.Request, handler: Handler) -> web.StreamResponse:
        if excluded.url_disabled(request.path):
            return await handler(request)
        method = request.method if request.method in _KNOWN_METHODS else OTHER_METHOD
        route = route_template(request)
        attributes = dict(_connection_attributes(request.scheme, request.host, request.version, request.remote))
        attributes[HTTP_REQUEST_METHOD] = method
        attributes[URL_PATH] = request.path
        if route is not None:
            attributes[HTTP_ROUTE] = route
        headers = request.headers
        parent = extract(headers) if any(name in headers for name in fields) else _NO_PARENT
        name = "HTTP" if method == OTHER_METHOD else method
        with tracer.start_as_current_span(f"{name} {route}" if route is not None else name,
                                          context=parent, kind=SpanKind.SERVER,
                                          attributes=attributes, record_exception=False,
                                          set_status_on_exception=False) as span:
            try:
                response = await handler(request)
            except web.HTTPException as exc:  # a response raised rather than returned
                _answered(span, exc.status)
                raise
            except Exception as exc:
                span.set_attribute(ERROR_TYPE, type(exc).__qualname__)
                span.set_status(Status(StatusCode.ERROR))
                raise
            _answered(span, response.status)
            return response

    return traced


def _answered(span: trace.Span, status: int) -> None:
    span.set_attribute(HTTP_RESPONSE_STATUS_CODE, status)
    # A 4xx is the caller's error, not the server's (the conventions for server spans). A
    # handler that marked the span failed itself said why ("database unavailable"): kept.
    if status >= 500 and not _failed(span):
        span.set_attribute(ERROR_TYPE, str(status))
        span.set_status(Status(StatusCode.ERROR))


def _failed(span: trace.Span) -> bool:
    status = getattr(span, "status", None)  # the SDK's recording span has one; the API's has none
    return isinstance(status, Status) and status.status_code is StatusCode.ERROR


@lru_cache(maxsize=256)  # a few names the server is reached by, times its clients' addresses
def _connection_attributes(scheme: str, host: str, version: tuple[int, int],
                           remote: str | None) -> tuple[tuple[str, AttributeValue], ...]:
    """What a request's span says of where it came from and how: the same for every request
    of a connection, so worked out once rather than per request."""
    attributes: list[tuple[str, AttributeValue]] = [(URL_SCHEME, scheme),
                                                    (NETWORK_PROTOCOL_VERSION, f"{version[0]}.{version[1]}")]
    address, port = _server_address(host)
    if address:
        attributes.append((SERVER_ADDRESS, address))
    if port is not None:
        attributes.append((SERVER_PORT, port))
    if remote:
        attributes.append((CLIENT_ADDRESS, remote))
    return tuple(attributes)


def _server_address(host: str) -> tuple[str, int | None]:
    """``Host`` split into address and port: ``[::1]:8080``, ``bot.example:443``, ``bot``."""
    if host.startswith("["):
        address, _, rest = host[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    else:
        address, _, port_text = host.rpartition(":") if host.count(":") == 1 else (host, "", "")
    return address, int(port_text) if port_text.isdigit() and len(port_text) <= 5 else None
