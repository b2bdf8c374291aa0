"""The table of emulated Web API methods, filled by the ``methods_*`` modules."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from .args import Args
from .errors import SlackError
from .state import Workspace

Handler = Callable[[Workspace, Args], dict[str, Any]]

HANDLERS: dict[str, Handler] = {}


def method(name: str) -> Callable[[Handler], Handler]:
    """Register ``handler`` as the Web API method ``name``; it returns the body without ``ok``."""

    def register(handler: Handler) -> Handler:
        HANDLERS[name] = handler
        return handler

    return register


def paginate(items: list[Any], args: Args, *, default: int, maximum: int) -> tuple[list[Any], str]:
    """One page of ``items`` and the next cursor ("" on the last page), Slack-style."""
    limit = args.integer("limit", default, error="invalid_limit")
    if limit < 0 or limit > maximum:
        raise SlackError("invalid_limit")
    limit = limit or default
    start = 0
    cursor = args.text("cursor")
    if cursor:
        try:
            start = int(base64.b64decode(cursor).decode().removeprefix("next:"))
        except (ValueError, binascii.Error) as exc:
            raise SlackError("invalid_cursor") from exc
    page = items[start : start + limit]
    more = start + limit < len(items)
    return page, base64.b64encode(f"next:{start + limit}".encode()).decode() if more else ""
