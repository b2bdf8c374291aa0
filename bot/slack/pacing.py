"""Client-side pacing to Slack's published rate limits, so the bot waits instead of
collecting 429s. Pure bookkeeping: the caller decides whether to sleep or reschedule.

Slack counts per method per workspace per minute (tiers), and chat.postMessage about
one message per second per channel. A sliding window with the same limit never
exceeds what a sliding-window enforcer allows, unlike a token bucket. A call is counted
when it is let through and, once it has been answered, again at that moment instead
(:meth:`Pacer.settle`): Slack counts it when it arrives, which is after it was let through,
so a window that opened by the time of sending could still be closed at Slack's end.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

# Calls per minute, from Slack's tier table (PROTOCOLS B4).
TIER_PER_MINUTE = {1: 1, 2: 20, 3: 50, 4: 100}
METHOD_TIERS = {
    "conversations.create": 2, "conversations.setTopic": 2, "conversations.setPurpose": 2,
    "conversations.archive": 2, "conversations.list": 2, "conversations.invite": 3,
    "conversations.info": 3, "conversations.history": 3, "chat.update": 3, "chat.postEphemeral": 4,
    "pins.add": 2, "bookmarks.add": 2, "bookmarks.list": 2, "reactions.add": 3, "users.info": 4,
    "users.lookupByEmail": 3, "usergroups.users.list": 2, "files.getUploadURLExternal": 4,
    "files.completeUploadExternal": 4, "canvases.create": 2, "views.open": 4, "auth.test": 4,
    "chat.getPermalink": 4, "conversations.join": 3,
}
POST_MESSAGE_PER_CHANNEL_SECONDS = 1.0
POST_MESSAGE_PER_MINUTE = 100  # workspace-wide safety net for the "special" tier


class SlidingWindow:
    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._calls: deque[float] = deque()

    def wait_time(self, now: float) -> float:
        while self._calls and self._calls[0] <= now - self.window:
            self._calls.popleft()
        if len(self._calls) < self.limit:
            return 0.0
        return self._calls[0] + self.window - now

    def record(self, now: float) -> None:
        self._calls.append(now)

    def move(self, recorded: float, now: float) -> None:
        """Count the call recorded at ``recorded`` at ``now`` instead (the latest time yet, so
        the calls stay in order); nothing if it has already left the window."""
        try:
            self._calls.remove(recorded)
        except ValueError:
            return
        self._calls.append(now)


class Pacer:
    """Tracks recent calls per method (and per channel for chat.postMessage).

    ``scale`` compresses time for tests against an emulator with compressed windows:
    scale 10 means a "minute" of 6 seconds.
    """

    def __init__(self, clock: Callable[[], float], scale: float = 1.0) -> None:
        self._clock = clock
        self._scale = scale
        self._windows: dict[str, SlidingWindow] = {}
        self._paused_until: dict[str, float] = {}

    def _window(self, key: str, limit: int, seconds: float) -> SlidingWindow:
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = SlidingWindow(limit, seconds / self._scale)
        return window

    def _windows_for(self, method: str, channel: str | None) -> list[SlidingWindow]:
        if method == "chat.postMessage":
            windows = [self._window(method, POST_MESSAGE_PER_MINUTE, 60.0)]
            if channel:
                windows.append(self._window(f"{method}:{channel}", 1, POST_MESSAGE_PER_CHANNEL_SECONDS))
            return windows
        tier = METHOD_TIERS.get(method, 3)
        return [self._window(method, TIER_PER_MINUTE[tier], 60.0)]

    @staticmethod
    def _pause_key(method: str, channel: str | None) -> str:
        # chat.postMessage is limited per channel: a 429 there should not hold other channels.
        return f"{method}:{channel}" if method == "chat.postMessage" and channel else method

    def try_acquire(self, method: str, channel: str | None = None) -> float:
        """0 and the call is counted, or how many seconds until it may be made."""
        return self.acquire(method, channel)[0]

    def acquire(self, method: str, channel: str | None = None) -> tuple[float, float]:
        """(0, when it was counted) and the call is counted, or (seconds until it may be made, 0)."""
        now = self._clock()
        windows = self._windows_for(method, channel)
        paused = self._paused_until.get(self._pause_key(method, channel), 0.0)
        wait = max([paused - now, *(w.wait_time(now) for w in windows)])
        if wait > 0:
            return wait, 0.0
        for window in windows:
            window.record(now)
        return 0.0, now

    def settle(self, method: str, channel: str | None, counted_at: float) -> None:
        """The call counted at ``counted_at`` has been answered (or failed): count it now."""
        now = self._clock()
        for window in self._windows_for(method, channel):
            window.move(counted_at, now)

    def pause(self, method: str, seconds: float, channel: str | None = None) -> None:
        """Slack said Retry-After: hold calls of this method (to this channel, for
        chat.postMessage) until then."""
        key = self._pause_key(method, channel)
        self._paused_until[key] = max(self._paused_until.get(key, 0.0), self._clock() + seconds)
