"""A strict Slack Web API emulator for incident-bot's tests.

Start one, point the real ``AsyncWebClient(token=..., base_url=emu.api_url)`` at it,
and assert on ``emu.calls`` and the workspace state. It also signs and sends slash
commands, interactions and events to the bot (``emu.slash_command`` and friends).
"""

from __future__ import annotations

from .emulator import DEFAULT_USERS, SlackEmulator
from .errors import SlackError
from .faults import Faults
from .outbound import Delivery, SignatureMode, signature
from .ratelimit import METHOD_TIERS, TIER_CALLS, Limit, build_limits
from .recording import Call
from .responses import ResponsePost
from .state import Bookmark, Channel, Ephemeral, File, Message

__all__ = [
    "DEFAULT_USERS", "METHOD_TIERS", "TIER_CALLS", "Bookmark", "Call", "Channel", "Delivery", "Ephemeral", "Faults",
    "File", "Limit", "Message", "ResponsePost", "SignatureMode", "SlackEmulator", "SlackError", "build_limits",
    "signature",
]
