"""The GitHub adapter against a strict fake of GitHub's REST API v3: issues are created with
their labels, an interrupted attempt's issue is found by its marker across pages, states
are read, and every refusal or outage becomes the failure the outbox acts on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.adapters.github import GitHubClient, issue_number
from bot.domain.failures import PermanentFailure, RateLimited, TransientFailure
from tests.fakes.github import FakeGitHub, fake_github

TOKEN = "ghp-test-token"
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


@pytest.fixture
async def github() -> AsyncIterator[FakeGitHub]:
    async with fake_github({TOKEN: {"acme/ops"}}, repos=("acme/ops",)) as fake:
        yield fake


@pytest.fixture
async def client(github: FakeGitHub) -> AsyncIterator[GitHubClient]:
    async with GitHubClient(github.url, TOKEN, timeout=1.0) as c:
        yield c


async def test_an_issue_is_created_with_its_title_body_and_labels(github: FakeGitHub, client: GitHubClient) -> None:
    issue = await client.create_issue("acme/ops", "Add a disk alert", "body <!-- m -->", ["incident", "sev1"])
    assert issue.key == "acme/ops#1" and issue.url == f"{github.html}/acme/ops/issues/1"
    [stored] = github.issues("acme/ops")
    assert stored["title"] == "Add a disk alert" and [label["name"] for label in stored["labels"]] == [
        "incident", "sev1"]
    assert issue_number(issue.key) == ("acme/ops", 1)


async def test_the_marker_is_found_past_the_first_page_and_pull_requests_are_skipped(
        github: FakeGitHub, client: GitHubClient) -> None:
    github.add_issue("acme/ops", "ours", "text\n<!-- incident-bot:followup:7 -->")
    for n in range(150):
        github.add_issue("acme/ops", f"later {n}", "<!-- incident-bot:followup:7 -->" if n == 3 else "",
                         pull_request=n % 2 == 1)
    found = await client.find_issue("acme/ops", "<!-- incident-bot:followup:7 -->", since=LONG_AGO)
    assert found is not None and found.key == "acme/ops#1"
    assert sum(1 for method, _ in github.requests if method == "GET") == 2  # two pages of 100


async def test_the_search_stops_at_issues_older_than_the_action(github: FakeGitHub, client: GitHubClient) -> None:
    github.add_issue("acme/ops", "old", "<!-- incident-bot:followup:7 -->",
                     created_at=datetime.now(UTC) - timedelta(days=3))
    assert await client.find_issue("acme/ops", "<!-- incident-bot:followup:7 -->",
                                   since=datetime.now(UTC) - timedelta(days=1)) is None


async def test_an_issue_closed_there_reads_as_closed(github: FakeGitHub, client: GitHubClient) -> None:
    issue = await client.create_issue("acme/ops", "t", "", [])
    assert not await client.is_closed(*issue_number(issue.key))
    github.close("acme/ops", 1)
    assert await client.is_closed(*issue_number(issue.key))


async def test_bad_credentials_say_to_check_the_token(github: FakeGitHub) -> None:
    async with GitHubClient(github.url, "wrong") as client:
        with pytest.raises(PermanentFailure) as refused:
            await client.create_issue("acme/ops", "t", "", [])
    assert refused.value.error == "401 Bad credentials" and refused.value.service == "github"
    assert refused.value.hint is not None and "GITHUB_TOKEN" in refused.value.hint


async def test_an_unknown_repository_is_named(client: GitHubClient) -> None:
    with pytest.raises(PermanentFailure) as refused:
        await client.create_issue("acme/nope", "t", "", [])
    assert refused.value.error == "404 Not Found"
    assert refused.value.hint is not None and "acme/nope" in refused.value.hint
    assert "followups.github_repo" in refused.value.hint


async def test_a_read_only_token_is_told_to_get_write_access(github: FakeGitHub) -> None:
    github.add_repo("acme/other", readers={TOKEN})
    async with GitHubClient(github.url, TOKEN) as client:
        with pytest.raises(PermanentFailure) as refused:
            await client.create_issue("acme/other", "t", "", [])
    assert refused.value.error.startswith("403 Resource not accessible")
    assert refused.value.hint is not None and "acme/other" in refused.value.hint


async def test_a_validation_error_carries_githubs_own_words(client: GitHubClient) -> None:
    with pytest.raises(PermanentFailure) as refused:
        await client.create_issue("acme/ops", "  ", "", [])
    assert refused.value.error == "422 Validation Failed: title missing_field"


async def test_5xx_and_timeouts_are_transient(github: FakeGitHub, client: GitHubClient) -> None:
    github.fail(503)
    with pytest.raises(TransientFailure) as down:
        await client.create_issue("acme/ops", "t", "", [])
    assert down.value.error == "503 Service Unavailable" and not isinstance(down.value, RateLimited)
    github.fail(hang=True)
    with pytest.raises(TransientFailure) as hung:
        await client.create_issue("acme/ops", "t", "", [])
    assert hung.value.error == "no answer within 1s"
    assert github.issues("acme/ops") == []


async def test_unreachable_is_transient() -> None:
    async with GitHubClient("http://127.0.0.1:9", TOKEN) as client:
        with pytest.raises(TransientFailure) as down:
            await client.is_closed("acme/ops", 1)
    assert down.value.error.startswith("cannot connect")


@pytest.mark.parametrize("status,headers,wait", [
    (429, {"Retry-After": "7"}, 7.0),
    (403, {"Retry-After": "30"}, 30.0),  # a secondary rate limit
    (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "0"}, 1.0),  # the primary one, already reset
])
async def test_rate_limits_wait_as_long_as_github_says(github: FakeGitHub, client: GitHubClient, status: int,
                                                       headers: dict[str, str], wait: float) -> None:
    github.fail(status, headers=headers)
    with pytest.raises(RateLimited) as limited:
        await client.create_issue("acme/ops", "t", "", [])
    assert limited.value.retry_after == wait
