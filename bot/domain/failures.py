"""How carrying out an outbox action can fail, whichever service it talks to.

Slack, the issue trackers, PagerDuty, Grafana and signed webhooks all fail in one of three
ways, and the outbox worker treats them alike: rate limited (wait as long as the service
says, without counting an attempt), transient (5xx, timeouts, a refused connection: retry
with backoff), or permanent (the request itself is wrong or not allowed: stop, record it
and say what to fix). Each adapter raises these; the worker imports nothing service-specific.
"""

from __future__ import annotations


class DeliveryError(Exception):
    """An action could not be carried out by ``service`` (``slack``, ``github``, ...).

    ``operation`` names the call (a Web API method, ``POST /repos/{repo}/issues``);
    ``error`` is the service's own error code or status; ``hint`` says, in words for the
    channel, what a person can do about it (a token, a repository, a project key).
    """

    service = "slack"

    def __init__(self, operation: str, error: str, *, service: str | None = None, hint: str | None = None) -> None:
        super().__init__(f"{operation}: {error}")
        self.operation = operation
        self.error = error
        self.hint = hint
        if service is not None:
            self.service = service

    @property
    def method(self) -> str:
        return self.operation


class PermanentFailure(DeliveryError):
    """The service refused the request itself; repeating it would fail the same way."""


class TransientFailure(DeliveryError):
    """The service or the network failed; the same request may succeed later."""


class RateLimited(TransientFailure):
    """The service asked to wait ``retry_after`` seconds; waiting is not a failed attempt."""

    def __init__(self, operation: str, retry_after: float, *, service: str | None = None) -> None:
        super().__init__(operation, f"rate limited, retry after {retry_after:g}s", service=service)
        self.retry_after = retry_after
