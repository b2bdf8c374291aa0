"""How an HTTP answer or a transport error from another service becomes a delivery failure
(:mod:`bot.domain.failures`): 5xx, 408 and timeouts may succeed later, 429 waits as long as
the service says, any other 4xx is the request's own fault and is never repeated."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from bot.domain.failures import PermanentFailure, RateLimited, TransientFailure

if TYPE_CHECKING:
    import httpx  # imported with the first client (bot/adapters/peer.py)

DEFAULT_RETRY_AFTER = 30.0
MAX_RETRY_AFTER = 3600.0
DETAIL_LIMIT = 200


def retry_after(response: httpx.Response) -> float:
    try:
        seconds = float(response.headers.get("Retry-After", DEFAULT_RETRY_AFTER))
    except ValueError:  # an HTTP date: rare, and the default is close enough
        seconds = DEFAULT_RETRY_AFTER
    return min(max(seconds, 1.0), MAX_RETRY_AFTER)


def check_status(response: httpx.Response, *, service: str, operation: str, detail: str,
                 hint: str | None = None) -> None:
    """Raise the failure a non-2xx answer means; ``detail`` is what the service said, briefly."""
    status = response.status_code
    if status < 300:
        return
    error = f"{status} {detail[:DETAIL_LIMIT] or response.reason_phrase}".strip()
    if status == 429:
        raise RateLimited(operation, retry_after(response), service=service)
    if status >= 500 or status == 408:
        raise TransientFailure(operation, error, service=service, hint=hint)
    raise PermanentFailure(operation, error, service=service, hint=hint)


async def sending(send: Callable[[], Awaitable[httpx.Response]], *, service: str, operation: str,
                  timeout: float) -> httpx.Response:
    """The answer to ``send()``; a timeout or a connection that failed is transient."""
    import httpx

    try:
        return await send()
    except httpx.TimeoutException:
        raise TransientFailure(operation, f"no answer within {timeout:g}s", service=service) from None
    except httpx.HTTPError as exc:
        raise TransientFailure(operation, f"cannot connect ({type(exc).__name__})", service=service) from None
