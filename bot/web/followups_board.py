"""``GET /ui/followups``: every incident's follow-ups, filtered by status and owner ("mine"
for the viewer), grouped by owner, status or due date, overdue ones marked in words and
colour; ``POST /ui/followups/<incident>/<n>/done|drop``: closing one as
``/incident followup done <n>`` and ``followup drop <n> [reason]`` would."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from aiohttp import web

from bot.web.commanding import run_command
from bot.web.keys import WORKSPACE
from bot.web.render import page
from bot.web.sessions import viewer_of
from bot.web.signin import safe_return
from storage import workspace_queries
from storage.rows import BoardFollowUp

BOARD = "/ui/followups"
LIMIT = 500
STATUSES = ("open", "done", "dropped", "all")
GROUPS = {"": "Nothing (by due date)", "owner": "Owner", "status": "Status", "due": "Due date"}
SOON = timedelta(days=7)
MAX_REASON = 500


@dataclass(frozen=True, slots=True)
class Filters:
    status: str = "open"
    owner: str = ""  # "", "mine" or a Slack user id
    group: str = ""

    def query(self, **changed: str) -> str:
        values = {"status": self.status, "owner": self.owner, "group": self.group, **changed}
        kept = {k: v for k, v in values.items() if v and not (k == "status" and v == "open")}
        return BOARD + ("?" + urlencode(kept) if kept else "")


@dataclass(frozen=True, slots=True)
class Item:
    row: BoardFollowUp
    overdue: bool
    tracker_url: str | None


@dataclass(frozen=True, slots=True)
class Group:
    label: str
    items: list[Item]


def filters_of(request: web.Request) -> Filters:
    q = request.query
    status, owner, group = q.get("status", "open") or "open", q.get("owner", "").strip(), q.get("group", "")
    if status not in STATUSES:
        raise web.HTTPBadRequest(text=f"status must be one of {', '.join(STATUSES)}, not {status[:20]!r}")
    if group not in GROUPS:
        raise web.HTTPBadRequest(text=f"group must be one of owner, status or due, not {group[:20]!r}")
    if owner and owner != "mine" and not (owner[:1] in "UW" and owner.isalnum() and len(owner) <= 30):
        raise web.HTTPBadRequest(text=f"owner must be mine or a Slack member ID (like U0123ABCD), not {owner[:30]!r}")
    return Filters(status, owner, group)


def is_overdue(row: BoardFollowUp, now: datetime) -> bool:
    """Open and at or past its due time (as the reminders and ``followups --overdue`` count it)."""
    f = row.followup
    return f.status == "open" and f.due_at is not None and f.due_at <= now


def web_url(url: str | None) -> str | None:
    """A tracker's link only when it is a web address (never ``javascript:`` and the like)."""
    return url if url is not None and url.startswith(("https://", "http://")) else None


def _group_key(item: Item, by: str, names: dict[str, str], now: datetime) -> tuple[int, str, str]:
    """(rank, order within the rank, label) of the item's group."""
    f = item.row.followup
    if by == "owner":
        name = names.get(f.owner, f.owner) if f.owner else ""
        return (0, f"{name.lower()}\0{f.owner}", name) if f.owner else (1, "", "No owner")
    if by == "status":
        return STATUSES.index(f.status) if f.status in STATUSES else 9, "", f.status.capitalize()
    if f.status != "open":
        return 4, "", "Closed"
    if f.due_at is None:
        return 3, "", "No due date"
    if item.overdue:
        return 0, "", "Overdue"
    return (1, "", "Due within 7 days") if f.due_at <= now + SOON else (2, "", "Due later")


def grouped(items: Sequence[Item], by: str, names: dict[str, str], now: datetime) -> list[Group]:
    """The items in groups (by owner, status or due date), each in the board's order."""
    if not by:
        return [Group("", list(items))]
    groups: dict[tuple[int, str, str], list[Item]] = {}
    for item in items:
        groups.setdefault(_group_key(item, by, names, now), []).append(item)
    return [Group(key[2], found) for key, found in sorted(groups.items(), key=lambda kv: kv[0])]


async def board(request: web.Request) -> web.Response:
    workspace, viewer = request.app[WORKSPACE], viewer_of(request)
    filters = filters_of(request)
    status = None if filters.status == "all" else filters.status
    owner = viewer.user_id if filters.owner == "mine" else filters.owner or None
    now = workspace.clock()
    async with workspace.db.reading() as session:
        rows = await session.run_sync(workspace_queries.followups_board, status=status, owner=owner, limit=LIMIT)
        everyone = rows if owner is None else await session.run_sync(
            workspace_queries.followups_board, status=status, owner=None, limit=LIMIT)
    owners: set[str] = {r.followup.owner for r in everyone if r.followup.owner is not None}
    if owner is not None:
        owners.add(owner)
    names = await workspace.people.names(owners | {viewer.user_id})
    items = [Item(r, is_overdue(r, now), web_url(r.followup.tracker_url)) for r in rows]
    return page(request, workspace, "followups.html", viewer, {
        "filters": filters, "groups": grouped(items, filters.group, names, now), "count": len(items),
        "limited": len(items) >= LIMIT, "limit": LIMIT, "names": names, "statuses": STATUSES, "group_names": GROUPS,
        "owners": sorted(owners - {viewer.user_id}, key=lambda o: names[o].lower()),
        "overdue_count": sum(1 for i in items if i.overdue), "back": filters.query(),
    })


def _target(request: web.Request) -> tuple[int, int]:
    incident, number = request.match_info.get("incident", ""), request.match_info.get("number", "")
    if not (incident.isdigit() and number.isdigit() and len(incident) < 12 and len(number) < 10):
        raise web.HTTPNotFound(text="No such follow-up.")
    return int(incident), int(number)


def _back(value: object) -> str:
    back = safe_return(str(value or ""))
    return back if back == BOARD or back.startswith(BOARD + "?") else BOARD


async def done(request: web.Request) -> web.Response:
    incident_id, number = _target(request)
    form = await request.post()
    return await run_command(request.app[WORKSPACE], viewer_of(request), incident_id, f"followup done {number}",
                             _back(form.get("back")))


async def drop(request: web.Request) -> web.Response:
    incident_id, number = _target(request)
    form = await request.post()
    reason = " ".join(str(form.get("reason", "")).split())[:MAX_REASON]
    return await run_command(request.app[WORKSPACE], viewer_of(request), incident_id,
                             f"followup drop {number} {reason}".rstrip(), _back(form.get("back")))
