"""The web workspace's reads: the incident list with its filters and search, timeline windows
that join up, an incident's alerts and the follow-ups board, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from storage import followups, workspace_queries
from storage.database import Database
from storage.rows import IncidentsPage
from tests.support.workspace import T0, alert, insert_incident, notes

TITLES = ["100% CPU on db-1", "1000 requests failing", "Error_rate high", "Errorsrate low", "path /tmp/%x full",
          "path /tmp/ax full", r"dir C:\new is full", "dir C:new is full", "API latency"]


def titled_incidents(session: Session) -> None:
    for i, title in enumerate(TITLES):
        insert_incident(session, title, status="resolved" if i % 3 == 0 else "investigating",
                        severity="sev1" if i % 2 else "sev3", route="payments" if i < 4 else "all")


async def listing(db: Database, *, status: Any = None, severity: str | None = None, route: str | None = None,
                  search: str | None = None, page: int = 1, per_page: int = 50) -> IncidentsPage:
    return await db.read(workspace_queries.incidents_list, status=status, severity=severity, route=route,
                         search=search, page=page, per_page=per_page)


async def titles(db: Database, **filters: Any) -> list[str]:
    return [i.title for i in (await listing(db, **filters)).rows]


async def test_search_matches_a_part_of_the_title_whatever_the_case(db: Database) -> None:
    await db.write(titled_incidents)

    assert await titles(db, search="api LATENCY") == ["API latency"]
    assert await titles(db, search="  error") == ["Errorsrate low", "Error_rate high"]
    assert await titles(db, search="") == list(reversed(TITLES))


async def test_the_characters_like_treats_as_wildcards_match_only_themselves(db: Database) -> None:
    await db.write(titled_incidents)

    assert await titles(db, search="100%") == ["100% CPU on db-1"]
    assert await titles(db, search="r_r") == ["Error_rate high"]
    assert await titles(db, search="/%x") == ["path /tmp/%x full"]
    assert await titles(db, search="p/") == ["path /tmp/ax full", "path /tmp/%x full"]
    assert await titles(db, search=r"C:\n") == [r"dir C:\new is full"]
    assert await titles(db, search="%") == ["path /tmp/%x full", "100% CPU on db-1"]
    assert await titles(db, search="_") == ["Error_rate high"]


async def test_filters_combine_and_the_list_is_newest_first(db: Database) -> None:
    await db.write(titled_incidents)

    open_sev1 = await listing(db, status="open", severity="sev1")
    resolved = await titles(db, status="resolved")
    payments = await titles(db, route="payments", search="e")

    assert [i.title for i in open_sev1.rows] == ["dir C:new is full", "path /tmp/ax full", "1000 requests failing"]
    assert open_sev1.total == 3 and open_sev1.has_next is False
    assert all(i.status != "resolved" and i.severity == "sev1" for i in open_sev1.rows)
    assert resolved == [r"dir C:\new is full", "Errorsrate low", "100% CPU on db-1"]
    assert payments == ["Errorsrate low", "Error_rate high", "1000 requests failing"]
    assert await titles(db, severity="sev9") == []


async def test_pages_cover_every_match_once_and_say_whether_more_follow(db: Database) -> None:
    await db.write(lambda s: [insert_incident(s, f"incident {n}") for n in range(23)])

    pages = [await listing(db, search="incident", page=page, per_page=10) for page in (1, 2, 3, 4)]

    assert [len(p.rows) for p in pages] == [10, 10, 3, 0]
    assert [p.has_next for p in pages] == [True, True, False, False]
    assert {p.total for p in pages} == {23}
    ids = [i.id for p in pages for i in p.rows]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 23


async def test_bad_list_arguments_are_refused_by_name(db: Database) -> None:
    with pytest.raises(ValueError, match="status must be 'open', 'resolved' or None"):
        await listing(db, status="closed")
    with pytest.raises(ValueError, match="page must be from 1"):
        await listing(db, page=0)
    with pytest.raises(ValueError, match="per_page must be from 1 to 200, not 500"):
        await listing(db, per_page=500)
    with pytest.raises(ValueError, match="search is 201 characters long"):
        await listing(db, search="x" * 201)


async def test_the_filters_offer_the_severities_and_routes_incidents_have(db: Database) -> None:
    assert await db.read(workspace_queries.list_facets) == ([], [])
    await db.write(titled_incidents)

    assert await db.read(workspace_queries.list_facets) == (["sev1", "sev3"], ["all", "payments"])


def interleaved_timelines(session: Session) -> tuple[int, int, list[int]]:
    mine, other = insert_incident(session, "mine"), insert_incident(session, "other")
    ids: list[int] = []
    for n in range(25):
        ids += notes(session, mine, [f"mine {n}"])
        notes(session, other, [f"other {n}"])
    return mine, other, ids


async def test_timeline_windows_walk_back_to_the_start_with_no_gap_or_repeat(db: Database) -> None:
    mine, _, ids = await db.write(interleaved_timelines)

    windows = [await db.read(workspace_queries.timeline_window, mine, before_id=None, limit=10)]
    while windows[-1].has_older:
        windows.append(await db.read(workspace_queries.timeline_window, mine, before_id=windows[-1].oldest_id, limit=10))

    assert [len(w.events) for w in windows] == [10, 10, 5]
    assert [e.data["text"] for e in windows[0].events] == [f"mine {n}" for n in range(15, 25)]  # the latest, oldest first
    assert [e.id for w in reversed(windows) for e in w.events] == ids
    assert windows[0].newest_id == ids[-1]
    exact = await db.read(workspace_queries.timeline_window, mine, before_id=ids[10], limit=10)
    assert [e.id for e in exact.events] == ids[:10] and exact.has_older is False


async def test_a_live_stream_gets_what_came_after_the_last_event_it_sent(db: Database) -> None:
    mine, other, ids = await db.write(interleaved_timelines)

    assert await db.read(workspace_queries.latest_event_id, mine) == ids[-1]
    assert [e.id for e in await db.read(workspace_queries.events_after, mine, ids[19], 3)] == ids[20:23]
    assert await db.read(workspace_queries.events_after, mine, ids[-1], 100) == []
    new = await db.write(notes, mine, ["after"])
    await db.write(notes, other, ["not mine"])
    assert [e.id for e in await db.read(workspace_queries.events_after, mine, ids[-1], 100)] == new
    empty = await db.write(lambda s: insert_incident(s, "quiet"))
    assert await db.read(workspace_queries.latest_event_id, empty) is None
    window = await db.read(workspace_queries.timeline_window, empty, before_id=None, limit=10)
    assert window.events == () and window.has_older is False and window.oldest_id is None


# PostgreSQL's planner scans tables this small whatever the indexes; the benchmark measures it.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_timeline_reads_walk_the_index_and_never_sort_or_scan_the_timeline(
        database_url: str, db: Database) -> None:
    mine, _, ids = await db.write(interleaved_timelines)
    statements: list[tuple[str, Any]] = []
    event.listen(db.engine.sync_engine, "before_cursor_execute",
                 lambda _c, _cur, sql, params, _ctx, _many: statements.append((sql, params)))

    await db.read(workspace_queries.timeline_window, mine, before_id=None, limit=10)
    await db.read(workspace_queries.timeline_window, mine, before_id=ids[12], limit=10)
    await db.read(workspace_queries.events_after, mine, ids[3], 10)
    await db.read(workspace_queries.latest_event_id, mine)

    reads = [(sql, params) for sql, params in statements if "incident_events" in sql]
    assert len(reads) == 4
    with sqlite3.connect(str(make_url(database_url).database)) as conn:
        for sql, params in reads:
            plan = " / ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))
            assert "ix_events_incident_id" in plan and "TEMP B-TREE" not in plan, plan


async def test_an_incident_s_alerts_are_listed_latest_first_firing_and_resolved(db: Database) -> None:
    def seed(session: Session) -> tuple[int, int]:
        mine, other = insert_incident(session, "mine"), insert_incident(session, "other")
        for n in range(5):
            resolved = n % 2 == 0
            alert(session, mine, f"fp{n}", starts_at=T0 + timedelta(minutes=n), status="resolved" if resolved else "firing",
                  ends_at=T0 + timedelta(minutes=n, seconds=30) if resolved else None)
        alert(session, other, "elsewhere")
        return mine, other

    mine, _ = await db.write(seed)
    listed = await db.read(workspace_queries.incident_alerts, mine)

    assert [a.fingerprint for a in listed] == ["fp4", "fp3", "fp2", "fp1", "fp0"]
    assert [a.status for a in listed] == ["resolved", "firing", "resolved", "firing", "resolved"]
    assert listed[0].labels == {"alertname": "HighErrorRate", "instance": "fp4"}
    assert listed[0].annotations == {"summary": "HighErrorRate on fp4"}
    assert listed[0].ends_at == T0 + timedelta(minutes=4, seconds=30) and listed[1].ends_at is None
    assert [a.fingerprint for a in await db.read(lambda s: workspace_queries.incident_alerts(s, mine, limit=2))] == [
        "fp4", "fp3"]
    assert await db.read(workspace_queries.alert_counts, mine) == {"firing": 2, "resolved": 3}


async def test_the_board_lists_follow_ups_across_incidents_with_their_incident(db: Database) -> None:
    def seed(session: Session) -> tuple[int, int]:
        api, db_incident = insert_incident(session, "api is down", severity="sev1"), insert_incident(session, "db is slow")
        for incident_id, text, owner, due in [(api, "add a retry", "U1", T0 + timedelta(days=3)),
                                              (db_incident, "tune the pool", "U2", T0 + timedelta(days=1)),
                                              (api, "write the runbook", "U1", None),
                                              (db_incident, "page earlier", "U1", T0 + timedelta(days=2))]:
            followups.add(session, incident_id, text=text, owner=owner, due_at=due, created_by="U9", source="web",
                          message_link=None, now=T0)
        followups.close(session, 4, status="done", by="U1", reason=None, now=T0)
        return api, db_incident

    api, db_incident = await db.write(seed)

    board = await db.read(workspace_queries.followups_board, status=None, owner=None, limit=50)
    mine_open = await db.read(workspace_queries.followups_board, status="open", owner="U1", limit=50)
    overdue = await db.read(lambda s: workspace_queries.followups_board(s, status=None, owner=None, limit=50,
                                                                         overdue_at=T0 + timedelta(days=2)))

    assert [(b.followup.text, b.incident_title) for b in board] == [
        ("tune the pool", "db is slow"), ("page earlier", "db is slow"), ("add a retry", "api is down"),
        ("write the runbook", "api is down")]
    assert board[2].incident_id == api and board[2].incident_severity == "sev1"
    assert board[2].incident_status == "investigating" and board[0].followup.incident_id == db_incident
    assert [b.followup.text for b in mine_open] == ["add a retry", "write the runbook"]
    assert [b.followup.text for b in overdue] == ["tune the pool"]
    assert len(await db.read(workspace_queries.followups_board, status=None, owner=None, limit=1)) == 1
    with pytest.raises(ValueError, match="follow-up status must be one of open, done, dropped, not 'closed'"):
        await db.read(workspace_queries.followups_board, status="closed", owner=None, limit=50)
