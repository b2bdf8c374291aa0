"""The bot's replies (Slack mrkdwn: ``<@U1>``, ``*bold*``, ``&lt;``) as the plain text a
page shows, people named as Slack names them."""

from __future__ import annotations

import re

from bot.slack.mrkdwn_text import mrkdwn_to_text
from bot.web.workspace import Workspace

_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


async def plain_text(workspace: Workspace, text: str) -> str:
    names = await workspace.people.names(set(_MENTION.findall(text)))
    return mrkdwn_to_text(text, lambda user_id: names.get(user_id, user_id))
