"""A direct message to one person (a follow-up reminder to its owner).

Slack posts a message whose channel is a user id to the app's direct conversation with
that user. Finding an earlier attempt's message would take reading that conversation
(``im:history``), which the bot does not ask for, so this one kind is delivered at least
once: only an attempt cut off after Slack posted it (a crash, a lost response) repeats it.
A retry after a refusal or a rate limit, where Slack posted nothing, sends it once.
"""

from __future__ import annotations

from bot.delivery.outcome import Done
from bot.slack.gateway import SlackGateway
from storage.outbox import ClaimedAction


class DirectMessage:
    def __init__(self, gateway: SlackGateway) -> None:
        self._slack = gateway

    async def __call__(self, action: ClaimedAction) -> Done:
        response = await self._slack.call("chat.postMessage", channel=str(action.payload["user"]),
                                          text=str(action.payload["text"]), unfurl_links=False, unfurl_media=False)
        return Done({"ts": str(response.get("ts", "")), "channel": str(response.get("channel", ""))})
