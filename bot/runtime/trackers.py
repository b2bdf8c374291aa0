"""The issue trackers' clients, for the follow-ups' exports and the sync: built once, for
the trackers whose credentials are set, and closed at shutdown."""

from __future__ import annotations

from contextlib import AsyncExitStack

import structlog

from bot.adapters.github import GitHubClient
from bot.adapters.jira import JiraClient
from bot.playbook import PlaybookSet
from bot.settings import Settings

log = structlog.get_logger(__name__)


async def tracker_clients(stack: AsyncExitStack, settings: Settings,
                          playbooks: PlaybookSet) -> tuple[GitHubClient | None, JiraClient | None]:
    """The issue trackers whose credentials are set (a playbook naming another one gets its
    follow-ups' exports refused with what to set)."""
    github = jira = None
    for playbook in playbooks.playbooks:
        tracker = playbook.followups.tracker
        if (tracker == "github" and settings.github_token is None) or (tracker == "jira" and not (
                settings.jira_url and settings.jira_user and settings.jira_api_token)):
            log.warning("a playbook sends follow-ups to a tracker whose credentials are not set: their exports "
                        "fail and the channel is told what to set", playbook=playbook.name, tracker=tracker)
    if settings.github_token is not None:
        github = await stack.enter_async_context(GitHubClient(settings.github_api_url,
                                                              settings.github_token.get_secret_value()))
    if settings.jira_url and settings.jira_user and settings.jira_api_token is not None:
        jira = await stack.enter_async_context(JiraClient(settings.jira_url, settings.jira_user,
                                                          settings.jira_api_token.get_secret_value()))
    return github, jira
