"""Every request Bolt serves is in a span, as a webhook delivery is.

Over HTTP the server span of ``POST /slack/events`` records what Slack asked; over Socket
Mode, where no HTTP request carries it, a span of its own (SERVER: Slack asks, the bot
acknowledges) starts the request's trace. Either way the listener's transaction runs in it,
the outbox actions it enqueues carry its context, and so the Slack calls made for a slash
command or a button, later and perhaps by another process, are in the trace of that command.

What the span records names the kind of request, never its text or who sent it: the slash
command's name (``/incident``) and an event's type, both bounded.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager

from opentelemetry.trace import Span, SpanKind, get_current_span

from bot.observability.tracing import request_span_or_own

SLACK_REQUEST = "incident_bot.slack.request"  # slash_command, block_actions, view_submission, event_callback, ...
SLACK_COMMAND = "incident_bot.slack.command"
SLACK_EVENT = "incident_bot.slack.event"


def request_attributes(body: Mapping[str, object]) -> dict[str, str]:
    """What kind of request a Bolt request body is."""
    command = body.get("command")
    if isinstance(command, str):
        return {SLACK_REQUEST: "slash_command", SLACK_COMMAND: command}
    kind = body.get("type")
    attributes = {SLACK_REQUEST: kind if isinstance(kind, str) else "unknown"}
    event = body.get("event")
    if isinstance(event, Mapping) and isinstance(event.get("type"), str):
        attributes[SLACK_EVENT] = str(event["type"])
    return attributes


def span_name(attributes: Mapping[str, str]) -> str:
    """``slack /incident``, ``slack block_actions``, ``slack event app_mention``."""
    if SLACK_COMMAND in attributes:
        return f"slack {attributes[SLACK_COMMAND]}"
    if SLACK_EVENT in attributes:
        return f"slack event {attributes[SLACK_EVENT]}"
    return f"slack {attributes[SLACK_REQUEST]}"


def slack_request_span(payload: Mapping[str, object]) -> AbstractContextManager[Span]:
    """The span a Slack request runs in: the HTTP request's, or one of its own."""
    attributes = request_attributes(payload)
    span = request_span_or_own(span_name(attributes), kind=SpanKind.SERVER)
    return _recording(span, attributes)


@contextmanager
def _recording(span: AbstractContextManager[Span], attributes: dict[str, str]) -> Iterator[Span]:
    with span as current:
        if current.is_recording():
            current.set_attributes(attributes)
        yield current


async def annotate_request(body: dict[str, object], next_: Callable[[], Awaitable[None]]) -> None:
    """Bolt middleware (its arguments are injected by name): the request's span says what
    Slack asked. Bolt runs the listeners after the whole middleware chain has returned, not
    inside ``next_()``, so a span opened here would end before them: Socket Mode's span is
    opened around the dispatch instead (:mod:`bot.bolt.socket_mode`)."""
    span = get_current_span()
    if span.is_recording():
        span.set_attributes(request_attributes(body))
    await next_()
