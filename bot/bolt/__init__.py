"""Slack's requests into the bot: slash commands, buttons, modals and events, through Bolt."""
