"""What the issue-tracker adapters share: the issue they return, and how the trackers'
answers become the outbox's failures beyond :mod:`bot.adapters.http_failures` (GitHub's
rate limits answer 403 with a wait; the refusals carry the tracker's own words and a hint)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.adapters.http_failures import sending
from bot.domain.failures import PermanentFailure, RateLimited, TransientFailure

if TYPE_CHECKING:
    import httpx

# When a tracker asks to wait, wait at least this long and at most this long.
MIN_WAIT_SECONDS = 1.0
MAX_WAIT_SECONDS = 900.0


@dataclass(frozen=True, slots=True)
class TrackerIssue:
    tracker: str  # github|jira
    key: str  # owner/name#12 or OPS-12
    url: str  # where a person opens it


def wait_asked(response: httpx.Response) -> float | None:
    """Seconds the service asked to wait (Retry-After, or an exhausted rate limit's reset
    time), or None when it asked nothing."""
    retry_after = response.headers.get("retry-after")
    if retry_after is not None:
        try:
            return _clamp(float(retry_after))
        except ValueError:
            return 60.0  # an HTTP date: rare enough to wait a minute instead of parsing it
    if response.headers.get("x-ratelimit-remaining") == "0":
        reset = response.headers.get("x-ratelimit-reset")
        try:
            # The reset is the server's epoch time, so the wall clock, not the injected one, measures it.
            return _clamp(float(reset) - time.time()) if reset is not None else 60.0
        except ValueError:
            return 60.0
    return None


def _clamp(seconds: float) -> float:
    return min(max(seconds, MIN_WAIT_SECONDS), MAX_WAIT_SECONDS)


def rate_limited(service: str, operation: str, response: httpx.Response) -> RateLimited | None:
    """429 always; 403 only with a wait asked (GitHub's primary and secondary rate limits)."""
    wait = wait_asked(response)
    if response.status_code == 429:
        return RateLimited(operation, wait if wait is not None else 60.0, service=service)
    if response.status_code == 403 and wait is not None:
        return RateLimited(operation, wait, service=service)
    return None


async def tracker_answer(http: httpx.AsyncClient, method: str, url: str, *, service: str, operation: str,
                         timeout: float, refusal: Callable[[httpx.Response], PermanentFailure],
                         **kwargs: Any) -> httpx.Response:
    """A tracker's successful answer; otherwise the failure it means: a wait asked, a server
    that failed (transient), or ``refusal(response)`` for the request's own fault."""
    response = await sending(lambda: http.request(method, url, **kwargs), service=service, operation=operation,
                             timeout=timeout)
    if response.status_code < 400:
        return response
    failure = rate_limited(service, operation, response) or server_failed(service, operation, response)
    if failure is not None:
        raise failure
    raise refusal(response)


def server_failed(service: str, operation: str, response: httpx.Response) -> TransientFailure | None:
    if response.status_code >= 500 or response.status_code == 408:
        return TransientFailure(operation, f"{response.status_code} {response.reason_phrase}".strip(), service=service)
    return None


def json_body(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return None


def one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
