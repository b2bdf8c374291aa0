"""Slack's rate limits as sliding windows, compressible in time for tests.

Tier limits are counted per method per workspace (one app, one workspace here).
``chat.postMessage`` is "Special": per channel about one message a second with short
bursts, modelled as at most 3 in any 3-second window, plus a workspace-wide cap.
Every window is divided by ``rate_limit_scale``; ``Retry-After`` is the real (scaled)
wait until the oldest counted call leaves the window, rounded up, at least 1 second.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

TIER_CALLS = {"T1": 1, "T2": 20, "T3": 50, "T4": 100}
TIER_WINDOW = 60.0

METHOD_TIERS: dict[str, str] = {
    "auth.test": "T4",
    "bookmarks.add": "T2",
    "bookmarks.list": "T3",
    "canvases.create": "T2",
    "chat.getPermalink": "T4",
    "chat.postEphemeral": "T4",
    "chat.update": "T3",
    "conversations.archive": "T2",
    "conversations.create": "T2",
    "conversations.history": "T3",
    "conversations.info": "T3",
    "conversations.invite": "T3",
    "conversations.join": "T3",
    "conversations.list": "T2",
    "conversations.open": "T3",
    "conversations.members": "T4",
    "conversations.replies": "T3",
    "conversations.setPurpose": "T2",
    "conversations.setTopic": "T2",
    "files.completeUploadExternal": "T4",
    "files.getUploadURLExternal": "T4",
    "openid.connect.token": "T3",
    "openid.connect.userInfo": "T3",
    "pins.add": "T2",
    "pins.list": "T2",
    "reactions.add": "T3",
    "usergroups.users.list": "T2",
    "users.info": "T4",
    "users.lookupByEmail": "T3",
    "views.open": "T4",
}

POST_MESSAGE_PER_CHANNEL = (3, 3.0)
POST_MESSAGE_WORKSPACE = (100, 60.0)


@dataclass(frozen=True)
class Limit:
    """At most ``calls`` calls in any ``window`` seconds (already scaled), counted ``per`` scope."""

    tier: str
    calls: int
    window: float
    per: Literal["workspace", "channel"] = "workspace"


def build_limits(scale: float = 1.0) -> dict[str, tuple[Limit, ...]]:
    """Every method's limits at ``scale`` (windows divided by it); all of a method's limits apply."""
    limits: dict[str, tuple[Limit, ...]] = {
        name: (Limit(tier, TIER_CALLS[tier], TIER_WINDOW / scale),) for name, tier in METHOD_TIERS.items()
    }
    limits["chat.postMessage"] = (
        Limit("special", POST_MESSAGE_PER_CHANNEL[0], POST_MESSAGE_PER_CHANNEL[1] / scale, per="channel"),
        Limit("special", POST_MESSAGE_WORKSPACE[0], POST_MESSAGE_WORKSPACE[1] / scale),
    )
    return limits


class RateLimiter:
    """Counts accepted calls and says how long to wait when a call would exceed a limit."""

    def __init__(self, limits: dict[str, tuple[Limit, ...]], clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._hits: defaultdict[tuple[str, int, str], deque[float]] = defaultdict(deque)

    def admit(self, method: str, channel: str | None) -> int | None:
        """Count the call and return None, or return Retry-After seconds without counting it."""
        now = self._clock()
        windows = []
        for i, limit in enumerate(self.limits.get(method, ())):
            scope = (channel or "") if limit.per == "channel" else ""
            hits = self._hits[(method, i, scope)]
            while hits and hits[0] <= now - limit.window:
                hits.popleft()
            if len(hits) >= limit.calls:
                wait = hits[len(hits) - limit.calls] + limit.window - now
                return max(1, math.ceil(wait))
            windows.append(hits)
        for hits in windows:
            hits.append(now)
        return None

    def reset(self) -> None:
        """Forget every counted call."""
        self._hits.clear()
