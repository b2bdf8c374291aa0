"""A direct message from the bot to one person (a reminder to a postmortem's or a
follow-up's owner): the conversation is opened first, then posted to once."""

from __future__ import annotations

from bot.delivery.outcome import Done
from bot.delivery.posting import Poster
from bot.slack.gateway import SlackGateway, SlackPermanentError
from storage.outbox import ClaimedAction


class DirectMessages:
    def __init__(self, gateway: SlackGateway, poster: Poster) -> None:
        self._slack = gateway
        self._poster = poster

    async def __call__(self, action: ClaimedAction) -> Done:
        user = str(action.payload["user"])
        try:
            opened = await self._slack.call("conversations.open", users=user)
        except SlackPermanentError as exc:
            if exc.error in ("user_not_found", "user_disabled", "cannot_dm_bot"):
                return Done({"skipped": exc.error})  # nobody to remind; nothing anyone can fix here
            raise
        channel = str(opened["channel"]["id"])
        ts = await self._poster.post_once(action, channel, str(action.payload["text"]))
        return Done({"ts": ts, "channel": channel})
