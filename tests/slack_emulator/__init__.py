"""A strict Slack Web API emulator for incident-bot's tests.

Start one, point the real ``AsyncWebClient(token=..., base_url=emu.api_url)`` at it,
and assert on ``emu.calls`` and the workspace state. It also signs and sends slash
commands, interactions and events to the bot (``emu.slash_command`` and friends), and
serves Sign in with Slack (``emu.register_oidc_client``, ``emu.oidc_authorize_url``).
"""

from __future__ import annotations

from .emulator import DEFAULT_USERS, SlackEmulator
from .errors import SlackError
from .faults import Faults
from .openid import CODE_LIFETIME, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REDIRECT_URL, OidcClient
from .outbound import Delivery, SignatureMode, signature
from .ratelimit import METHOD_TIERS, TIER_CALLS, Limit, build_limits
from .recording import Call
from .responses import ResponsePost
from .state import Bookmark, Channel, Ephemeral, File, Message

__all__ = [
    "CODE_LIFETIME", "DEFAULT_CLIENT_ID", "DEFAULT_CLIENT_SECRET", "DEFAULT_REDIRECT_URL", "DEFAULT_USERS",
    "METHOD_TIERS", "TIER_CALLS", "Bookmark", "Call", "Channel", "Delivery", "Ephemeral", "Faults", "File", "Limit",
    "Message", "OidcClient", "ResponsePost", "SignatureMode", "SlackEmulator", "SlackError", "build_limits",
    "signature",
]
