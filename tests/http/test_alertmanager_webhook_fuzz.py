"""Malformed bodies through the real POST /alertmanager on a SQLite file: a 4xx JSON error
naming the problem, never a 500 or a traceback, and not one row written. Then what the fuzz
found on PostgreSQL, on both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from storage.database import Database
from tests.conftest import REPO
from tests.domain.webhook_strategies import encode, group_with, mutated_webhooks, noise
from tests.support import rows
from tests.support.bot import WEBHOOK_TOKEN, bot_settings, running_bot
from tests.support.payloads import body as encoded
from tests.support.payloads import captured, group

JSON = {"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json"}
bodies = st.one_of(mutated_webhooks().map(lambda mutated: encode(mutated[0])), noise)


@pytest.fixture
async def bot(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The bot with one incident already stored, so "nothing changed" is about real rows."""
    async with running_bot(bot_settings(database_url, REPO / "playbooks")) as url:
        async with httpx.AsyncClient(base_url=url, headers=JSON, timeout=30) as client:
            assert (await client.post("/alertmanager", content=captured("1-firing"))).status_code == 200
            yield client


def _with(path: tuple[str | int, ...], value: object) -> bytes:
    return encoded(group_with(path, value))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=bodies)
@example(content=_with(("alerts", 0, "startsAt"), "9999-12-31T23:59:59-01:00"))
@example(content=_with(("alerts", 0, "labels", "cluster"), "a\u0000b"))
@example(content=_with(("receiver",), "r" * 201))
@example(content=b'{"version": "4", "alerts": [' + b"[" * 5000)
async def test_malformed_body_gets_a_4xx_json_error_and_writes_nothing(
        bot: httpx.AsyncClient, db: Database, content: bytes) -> None:
    before = await rows.count_rows(db)

    response = await bot.post("/alertmanager", content=content)
    event(f"HTTP {response.status_code}")

    assert response.status_code < 500, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert "Traceback" not in response.text and 'File "' not in response.text
    if response.status_code >= 400:
        error = response.json()["error"]
        assert isinstance(error, str) and error and "\n" not in error
        assert await rows.count_rows(db) == before
    else:
        assert response.json()["outcome"] in ("open", "join", "reopen", "record", "duplicate")


# Found by running the fuzz test above on PostgreSQL, which stores no NUL and checks column
# widths: these were answered 503 "retry later", so Alertmanager would have retried for ever.
@pytest.mark.parametrize(("path", "value", "error"), [
    (("alerts", 0, "labels", "cluster"), "a\u0000b", "alerts[0].labels.cluster: must not contain NUL characters"),
    (("groupKey",), "k\u0000", "groupKey: must not contain NUL characters"),
    (("receiver",), "r" * 201, "receiver: string should have at most 200 characters"),
])
async def test_what_the_database_cannot_store_is_refused_up_front(
        bot: httpx.AsyncClient, db: Database, path: tuple[str | int, ...], value: str, error: str) -> None:
    before = await rows.count_rows(db)

    response = await bot.post("/alertmanager", content=_with(path, value))

    assert response.status_code == 422 and response.json()["error"].startswith(error)
    assert await rows.count_rows(db) == before


async def test_storm_guard_label_of_any_length_opens_incidents_and_a_storm(
        bot: httpx.AsyncClient, db: Database) -> None:
    cluster = "c" * 290  # the storm key (route and label values) is longer than its column
    groups = [encoded(group(f"Storm{i}", alerts=1, extra_labels={"cluster": cluster})) for i in range(6)]

    statuses = [(await bot.post("/alertmanager", content=g)).status_code for g in groups]

    assert statuses == [200] * 6
    storm = [i for i in await rows.incidents(db) if i.source == "storm"]
    assert len(storm) == 1 and len(storm[0].title) <= 150
    assert storm[0].title.startswith("Alert storm on critical (cluster=ccc")
