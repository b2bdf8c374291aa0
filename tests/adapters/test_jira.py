"""The Jira adapter against a strict fake of Jira Cloud's REST API v3: Tasks are created
with an ADF description and labels, an interrupted attempt's issue is found by its label,
the Done status category reads as closed, and refusals and outages map to the outbox's
failures with what to fix."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest

from bot.adapters.jira import JiraClient, adf_document
from bot.domain.failures import PermanentFailure, RateLimited, TransientFailure
from tests.fakes.jira import FakeJira, fake_jira

USER, TOKEN = "bot@example.com", "jira-api-token"
SINCE = date(2000, 1, 1)
DOC = adf_document([[("See ", None), ("incident #1", "http://bot.example.com/ui/incidents/1")], [("", None)]])


@pytest.fixture
async def jira() -> AsyncIterator[FakeJira]:
    async with fake_jira({USER: TOKEN}, projects=("OPS",)) as fake:
        yield fake


@pytest.fixture
async def client(jira: FakeJira) -> AsyncIterator[JiraClient]:
    async with JiraClient(jira.url, USER, TOKEN, timeout=1.0) as c:
        yield c


async def test_a_task_is_created_with_an_adf_description_and_labels(jira: FakeJira, client: JiraClient) -> None:
    issue = await client.create_issue("OPS", "Add a disk alert", DOC, ["incident", "incident-bot-followup-3"])
    assert issue.key == "OPS-1" and issue.url == f"{jira.url}/browse/OPS-1"
    [stored] = jira.issues("OPS")
    assert stored["fields"]["issuetype"] == {"name": "Task"}
    assert stored["fields"]["labels"] == ["incident", "incident-bot-followup-3"]
    assert stored["fields"]["description"]["content"] == [{"type": "paragraph", "content": [
        {"type": "text", "text": "See "},
        {"type": "text", "text": "incident #1", "marks": [{"type": "link",
                                                           "attrs": {"href": "http://bot.example.com/ui/incidents/1"}}]},
    ]}]  # the empty paragraph is left out: ADF allows no empty text


async def test_a_description_that_is_not_adf_is_refused_with_jiras_words(client: JiraClient) -> None:
    with pytest.raises(PermanentFailure) as refused:
        await client.create_issue("OPS", "t", {"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": ""}]}]}, [])
    assert refused.value.error.startswith("400 Bad Request: description: Operation value must be an Atlassian")


async def test_the_label_finds_the_issue_across_pages(jira: FakeJira, client: JiraClient) -> None:
    for n in range(3):
        await client.create_issue("OPS", f"other {n}", DOC, ["incident-bot-followup-9"] if n == 2 else [])
    found = await client.find_issue("OPS", "incident-bot-followup-9", SINCE)
    assert found is not None and found.key == "OPS-3"
    assert await client.find_issue("OPS", "incident-bot-followup-10", SINCE) is None
    assert await client.find_issue("OPS", "incident-bot-followup-9", date(2999, 1, 1)) is None


async def test_pages_are_followed_by_their_token(jira: FakeJira, client: JiraClient) -> None:
    await client.create_issue("OPS", "t", DOC, ["incident-bot-followup-1"])
    jira.issues("OPS")[0]["fields"]["labels"] = ["incident-bot-followup-1"]
    jira.issues("OPS").insert(0, {**jira.issues("OPS")[0], "key": "OPS-0"})  # two match: the oldest is taken
    found = await client.find_issue("OPS", "incident-bot-followup-1", SINCE)
    assert found is not None and found.key == "OPS-0"


async def test_done_category_reads_as_closed(jira: FakeJira, client: JiraClient) -> None:
    issue = await client.create_issue("OPS", "t", DOC, [])
    assert not await client.is_closed(issue.key)
    jira.close(issue.key)
    assert await client.is_closed(issue.key)


async def test_bad_credentials_say_which_variables_to_check(jira: FakeJira) -> None:
    async with JiraClient(jira.url, USER, "wrong") as client:
        with pytest.raises(PermanentFailure) as refused:
            await client.create_issue("OPS", "t", DOC, [])
    assert refused.value.error.startswith("401 Unauthorized")
    assert refused.value.hint is not None and "JIRA_API_TOKEN" in refused.value.hint


async def test_an_unknown_project_is_refused_naming_it(client: JiraClient) -> None:
    with pytest.raises(PermanentFailure) as refused:
        await client.create_issue("NOPE", "t", DOC, [])
    assert refused.value.error == "400 Bad Request: project: Specify a valid project ID or key"
    assert refused.value.hint is not None and "NOPE" in refused.value.hint


async def test_a_missing_issue_is_a_404_naming_what_to_check(client: JiraClient) -> None:
    with pytest.raises(PermanentFailure) as refused:
        await client.is_closed("OPS-99")
    assert refused.value.error.startswith("404 Not Found: Issue does not exist")


async def test_outages_and_rate_limits(jira: FakeJira, client: JiraClient) -> None:
    jira.fail(503)
    with pytest.raises(TransientFailure) as down:
        await client.create_issue("OPS", "t", DOC, [])
    assert down.value.error == "503 Service Unavailable"
    jira.fail(429, headers={"Retry-After": "5"})
    with pytest.raises(RateLimited) as limited:
        await client.create_issue("OPS", "t", DOC, [])
    assert limited.value.retry_after == 5.0
    assert jira.issues("OPS") == []
