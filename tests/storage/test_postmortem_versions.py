"""A postmortem's saved versions: numbered per incident, listed without their bodies, gone with their incident."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from storage import alerting, postmortem_versions, retention
from storage.database import Database
from storage.errors import Conflict
from storage.rows import PostmortemVersionRow, VersionSummary
from tests.support.workspace import T0, insert_incident, until_a_transaction_waits_for_a_lock


def two_incidents(session: Session) -> tuple[int, int]:
    return insert_incident(session, "api is down"), insert_incident(session, "db is slow")


async def test_versions_are_numbered_per_incident_from_one(db: Database) -> None:
    api, other = await db.write(two_incidents)

    first = await db.write(postmortem_versions.add_version, api, body="# Summary\n", author="U1", now=T0)
    await db.write(postmortem_versions.add_version, other, body="other", author="U2", now=T0)
    second = await db.write(postmortem_versions.add_version, api, body="# Summary\nMore.", author="U2",
                            now=T0 + timedelta(minutes=5))

    assert (first.number, second.number) == (1, 2)
    assert await db.read(postmortem_versions.latest_version, api) == second
    assert await db.read(postmortem_versions.version, api, 1) == first
    assert await db.read(postmortem_versions.version, other, 1) == PostmortemVersionRow(
        id=2, incident_id=other, number=1, body="other", author="U2", created_at=T0)
    assert await db.read(postmortem_versions.version, api, 3) is None
    assert await db.read(postmortem_versions.latest_version, 999) is None


async def test_the_list_of_versions_is_newest_first_with_lengths_not_bodies(db: Database) -> None:
    api, _ = await db.write(two_incidents)
    bodies = ["short", "a longer body · with ünïcode", "x" * 50_000]
    for minutes, body in enumerate(bodies):
        await db.write(postmortem_versions.add_version, api, body=body, author=f"U{minutes}",
                       now=T0 + timedelta(minutes=minutes))

    listed = await db.read(postmortem_versions.versions, api)

    assert [type(v) for v in listed] == [VersionSummary] * 3
    assert [(v.number, v.author, v.length) for v in listed] == [(3, "U2", 50_000), (2, "U1", 28), (1, "U0", 5)]
    assert listed[0].created_at == T0 + timedelta(minutes=2)
    assert [v.number for v in await db.read(lambda s: postmortem_versions.versions(s, api, limit=2))] == [3, 2]


# SQLite's one writer runs one transaction at a time: there is no interleaving to race.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_two_saves_without_the_incident_lock_cannot_share_a_number(db: Database) -> None:
    """The unique constraint backs the caller's lock: one of two racing saves fails, none is lost silently."""
    api, _ = await db.write(two_incidents)

    async with db.transaction() as first:
        await first.run_sync(postmortem_versions.add_version, api, body="mine", author="U1", now=T0)

        async def second_save() -> None:
            async with db.transaction() as second:
                await second.run_sync(postmortem_versions.add_version, api, body="theirs", author="U2", now=T0)

        racing = asyncio.create_task(second_save())
        await until_a_transaction_waits_for_a_lock(db)  # the second took number 1 too and waits on the unique key
    with pytest.raises(Conflict):
        await racing
    kept = await db.read(postmortem_versions.version, api, 1)
    assert kept is not None and kept.body == "mine"
    assert await db.read(postmortem_versions.latest_version, api) == kept


async def test_an_author_must_be_a_slack_user_id(db: Database) -> None:
    api, _ = await db.write(two_incidents)
    with pytest.raises(ValueError, match="author must be a Slack user id"):
        await db.write(postmortem_versions.add_version, api, body="x", author="", now=T0)


async def test_versions_go_with_their_incident_when_retention_deletes_it(db: Database) -> None:
    resolved = await db.write(lambda s: insert_incident(s, status="resolved", resolved_at=T0))
    kept = await db.write(insert_incident)
    for incident_id in (resolved, kept):
        await db.write(postmortem_versions.add_version, incident_id, body="draft", author="U1", now=T0)

    assert await db.write(retention.purge_closed_incidents, T0 + timedelta(days=1)) == 1

    assert await db.read(alerting.get_incident, resolved) is None
    assert await db.read(postmortem_versions.versions, resolved) == []
    assert [v.number for v in await db.read(postmortem_versions.versions, kept)] == [1]
