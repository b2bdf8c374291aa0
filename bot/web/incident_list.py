"""``GET /ui/``: the incidents, newest first, filtered by state, severity and route and
searched by title, a page at a time."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from urllib.parse import urlencode

from aiohttp import web

from bot.web.keys import WORKSPACE
from bot.web.render import page
from bot.web.sessions import viewer_of
from storage import workspace_queries

PER_PAGE = 50
MAX_PAGE = 10_000
STATES = ("open", "resolved")


@dataclass(frozen=True, slots=True)
class Filters:
    state: str = ""
    severity: str = ""
    route: str = ""
    q: str = ""


def filters_of(query: web.Request) -> tuple[Filters, int]:
    q = query.query
    state = q.get("state", "")
    if state and state not in STATES:
        raise web.HTTPBadRequest(text=f"state must be open or resolved, not {state[:20]!r}")
    raw_page = q.get("page", "1")
    if not raw_page.isdigit() or not 1 <= int(raw_page) <= MAX_PAGE:
        raise web.HTTPBadRequest(text=f"page must be a whole number from 1 to {MAX_PAGE}")
    return Filters(state, q.get("severity", "")[:40], q.get("route", "")[:100], q.get("q", "").strip()[:200]), \
        int(raw_page)


async def incidents(request: web.Request) -> web.Response:
    workspace = request.app[WORKSPACE]
    viewer = viewer_of(request)
    filters, number = filters_of(request)
    async with workspace.db.reading() as session:
        found = await session.run_sync(
            workspace_queries.incidents_list, status=filters.state or None, severity=filters.severity or None,
            route=filters.route or None, search=filters.q or None, page=number, per_page=PER_PAGE)
        severities, routes = await session.run_sync(workspace_queries.list_facets)
    people = await workspace.people.names({i.commander for i in found.rows if i.commander})

    def page_link(n: int) -> str:
        kept = {k: v for k, v in asdict(filters).items() if v}
        return "/ui/?" + urlencode({**kept, "page": n})

    return page(request, workspace, "incidents.html", viewer, {
        "incidents": found.rows, "total": found.total, "has_next": found.has_next, "page": number,
        "filters": filters, "severities": severities, "routes": routes, "people": people, "page_link": page_link,
    })
