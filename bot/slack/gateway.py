"""The Slack Web API gateway: the one module that imports slack_sdk.

Every call is paced to Slack's limits and its failure classified, so the outbox can
decide: retry later (rate limited, transient) or give up and say so (permanent).

slack_sdk is imported, and its client made, with the first call: a bot is built with its
gateway at start but may make no Slack call for a while, and the import was some 11 ms of
every start.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

import aiohttp
import structlog

from bot.domain.failures import DeliveryError, PermanentFailure, RateLimited, TransientFailure
from bot.observability.metrics import Metrics
from bot.observability.tracing import current_exemplar
from bot.slack.pacing import Pacer

if TYPE_CHECKING:
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web.async_client import AsyncWebClient

log = structlog.get_logger(__name__)

# Slack errors that mean "try again", not "this request is wrong".
TRANSIENT_ERRORS = frozenset({"ratelimited", "internal_error", "fatal_error", "request_timeout",
                              "service_unavailable", "team_added_to_org"})
MAX_INLINE_WAIT = 2.0


class SlackError(DeliveryError):
    def __init__(self, method: str, error: str) -> None:
        # Not super(): in SlackRateLimited's MRO the next class is RateLimited, whose
        # arguments differ; every Slack error is a DeliveryError with the same three.
        DeliveryError.__init__(self, method, error, service="slack")


class SlackPermanentError(SlackError, PermanentFailure):
    """Slack refused the request itself; repeating it would fail the same way."""


class SlackTransientError(SlackError, TransientFailure):
    """Slack or the network failed; the same request may succeed later."""


class SlackRateLimited(SlackTransientError, RateLimited):
    def __init__(self, method: str, retry_after: float) -> None:
        SlackError.__init__(self, method, f"ratelimited, retry after {retry_after:g}s")
        self.retry_after = retry_after


def sdk_logger() -> logging.Logger:
    """The logger of the gateway's client. slack_sdk formats a debug line of every request and
    of every response (its whole body) whenever its logger's own level is unset, although
    nothing prints them below DEBUG: about a tenth of a call's CPU. This one has the level in
    force set on it, so the lines are formatted only when they would be printed."""
    logger = logging.getLogger("slack_sdk.web.async_base_client.gateway")
    level = logger.getEffectiveLevel()
    logger.setLevel(level if level > logging.DEBUG else logging.NOTSET)
    return logger


class SlackGateway:
    def __init__(self, token: str, base_url: str, metrics: Metrics, *, rate_limit_scale: float = 1.0,
                 timeout: float = 10.0) -> None:
        self._token, self._base_url = token, base_url
        self._client: AsyncWebClient | None = None
        self._timeout = aiohttp.ClientTimeout(total=max(timeout, 1))
        self._pacer = Pacer(time.monotonic, rate_limit_scale)
        self._metrics = metrics
        self._bot_user_id: str | None = None

    def _sdk(self) -> AsyncWebClient:
        if self._client is None:
            from slack_sdk.web.async_client import AsyncWebClient

            self._client = AsyncWebClient(token=self._token, base_url=self._base_url,
                                          timeout=int(self._timeout.total or 1), logger=sdk_logger())
            self._client.retry_handlers = []  # the outbox schedules retries; never sleep inside a call
        return self._client

    async def call(self, method: str, *, channel: str | None = None, **args: Any) -> dict[str, Any]:
        """Make one Web API call. Raises SlackRateLimited when pacing says wait long."""
        from slack_sdk.errors import SlackApiError

        while True:
            wait, counted_at = self._pacer.acquire(method, channel)
            if wait <= 0:
                break
            if wait > MAX_INLINE_WAIT:
                raise SlackRateLimited(method, wait)
            await asyncio.sleep(wait)
        client = self._sdk()
        if client.session is None or client.session.closed:
            # One session, made in the running loop: kept-alive connections instead of the new
            # session (and TCP connection) slack_sdk makes per call without one.
            client.session = aiohttp.ClientSession(timeout=self._timeout)
        started = time.perf_counter()
        outcome = "ok"
        try:
            if channel is not None and "channel" not in args and "channel_id" not in args:
                args["channel"] = channel
            # The SDK's own wrapper knows each method's encoding (JSON or form).
            response = await getattr(client, method.replace(".", "_"))(**args)
            return dict(response.data) if isinstance(response.data, dict) else {}
        except SlackApiError as exc:
            outcome, error = self._classify(method, exc, channel)
            raise error from None
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            outcome = "connection_error"
            raise SlackTransientError(method, f"{type(exc).__name__}") from None
        finally:
            self._pacer.settle(method, channel, counted_at)
            self._metrics.slack_calls.labels(method, outcome).inc()
            self._metrics.slack_latency.labels(method).observe(time.perf_counter() - started, current_exemplar())

    def _classify(self, method: str, exc: SlackApiError, channel: str | None) -> tuple[str, SlackError]:
        status = exc.response.status_code
        if status == 429:
            retry_after = float(exc.response.headers.get("Retry-After", "1") or 1)
            self._pacer.pause(method, retry_after, channel)
            return "ratelimited", SlackRateLimited(method, retry_after)
        if status >= 500:
            return "server_error", SlackTransientError(method, f"HTTP {status}")
        data = exc.response.data if isinstance(exc.response.data, dict) else {}
        error = str(data.get("error") or f"HTTP {status}")
        if error in TRANSIENT_ERRORS:
            return "transient_error", SlackTransientError(method, error)
        return "error", SlackPermanentError(method, error)

    async def bot_user_id(self) -> str:
        if self._bot_user_id is None:
            self._bot_user_id = str((await self.call("auth.test"))["user_id"])
        return self._bot_user_id

    async def close(self) -> None:
        if self._client is None:
            return
        session, self._client.session = self._client.session, None
        if session is not None:
            await session.close()
