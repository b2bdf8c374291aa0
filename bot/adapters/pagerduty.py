"""PagerDuty's Events API v2 (``POST /v2/enqueue``): the one module that talks to PagerDuty.

An event is accepted with 202 and ``{"status": "success", "dedup_key": ...}``; an invalid
one is refused with 400 and ``{"status": "invalid event", "message": ..., "errors": [...]}``;
429 means too many events for this routing key.
"""

from __future__ import annotations

from typing import Any

from bot.adapters.http_failures import check_status, sending
from bot.adapters.peer import PeerClient

DEFAULT_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
OPERATION = "POST /v2/enqueue"


class PagerDutyClient(PeerClient):
    def __init__(self, events_url: str = DEFAULT_EVENTS_URL, timeout: float = 10.0) -> None:
        super().__init__(events_url, timeout)

    async def send_event(self, event: dict[str, Any], *, routing_key_env: str) -> str:
        """Send one event (``routing_key`` included); returns the dedup key PagerDuty keeps."""
        response = await sending(lambda: self._http.post(self._base, json=event), service="pagerduty",
                                 operation=OPERATION, timeout=self._timeout)
        body = _json(response)
        errors = body.get("errors")
        detail = "; ".join(str(e) for e in errors) if isinstance(errors, list) and errors else \
            str(body.get("message") or "")
        hint = (f"check {routing_key_env}: it must be the Integration Key of an Events API v2 integration"
                if response.status_code in (400, 401, 403, 404) else None)
        check_status(response, service="pagerduty", operation=OPERATION, detail=detail, hint=hint)
        return str(body.get("dedup_key") or event.get("dedup_key") or "")


def _json(response: Any) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
