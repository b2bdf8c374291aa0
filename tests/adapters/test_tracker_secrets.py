"""The trackers' secrets never reach a log line or a failure the channel is told: not the
GitHub token, not the Jira API token, not the basic-auth header made from it, even with
httpx and httpcore logging at DEBUG."""

from __future__ import annotations

import base64
import logging

import pytest

from bot.adapters.github import GitHubClient
from bot.adapters.jira import JiraClient, adf_document
from bot.domain.failures import DeliveryError
from bot.settings import Settings
from tests.fakes.github import fake_github
from tests.fakes.jira import fake_jira

GITHUB_TOKEN = "ghp-very-secret-0123456789"
JIRA_TOKEN = "jira-very-secret-0123456789"


def test_tracker_tokens_are_secrets_the_log_pipeline_scrubs() -> None:
    settings = Settings(github_token=GITHUB_TOKEN, jira_api_token=JIRA_TOKEN)
    assert {GITHUB_TOKEN, JIRA_TOKEN} <= set(settings.secret_values())
    assert GITHUB_TOKEN not in repr(settings) and JIRA_TOKEN not in repr(settings)


async def test_no_secret_in_debug_logs_or_failures(caplog: pytest.LogCaptureFixture) -> None:
    for name in ("httpx", "httpcore", "aiohttp"):
        caplog.set_level(logging.DEBUG, logger=name)
    failures: list[str] = []
    async with fake_github({GITHUB_TOKEN: {"acme/ops"}}, repos=("acme/ops",)) as github, \
            fake_jira({"bot@example.com": JIRA_TOKEN}, projects=("OPS",)) as jira:
        async with GitHubClient(github.url, GITHUB_TOKEN) as gh, JiraClient(jira.url, "bot@example.com",
                                                                            JIRA_TOKEN) as jc:
            await gh.create_issue("acme/ops", "t", "", [])
            await jc.create_issue("OPS", "t", adf_document([]), [])
            github.fail(503)
            jira.fail(503)
            for call in (gh.create_issue("acme/nope", "t", "", []), gh.is_closed("acme/ops", 99),
                         jc.create_issue("NOPE", "t", adf_document([]), []), jc.is_closed("OPS-99")):
                try:
                    await call
                except DeliveryError as exc:
                    failures.append(f"{exc} {exc.hint}")
    assert len(failures) == 4
    basic = base64.b64encode(f"bot@example.com:{JIRA_TOKEN}".encode()).decode()
    text = caplog.text + "\n".join(failures)
    assert caplog.text  # httpx/httpcore did log
    for secret in (GITHUB_TOKEN, JIRA_TOKEN, basic):
        assert secret not in text
