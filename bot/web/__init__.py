"""The web workspace under ``/ui/``: server-rendered pages for commanders, stakeholders and
postmortem authors, signed in with Slack, in the same process as the bot."""
