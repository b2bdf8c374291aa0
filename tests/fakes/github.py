"""A strict GitHub Issues (REST API v3) on loopback, from GitHub's documentation:

- every request needs ``Authorization: Bearer <token>`` (or ``token <token>``), ``Accept:
  application/vnd.github+json`` and ``X-GitHub-Api-Version: 2022-11-28``; an unknown token
  is 401 ``Bad credentials``; a repository the token cannot see is 404 ``Not Found``; one it
  can read but not write is 403 ``Resource not accessible by personal access token``;
- ``POST /repos/{owner}/{repo}/issues`` needs a non-empty ``title``; ``body`` a string,
  ``labels`` a list of strings; otherwise 422 ``Validation Failed`` with an ``errors`` array
  (bad JSON: 400 ``Problems parsing JSON``); 201 with the issue and a Location header;
- ``GET /repos/{owner}/{repo}/issues`` (state, sort, direction, per_page <= 100 default 30,
  page) paginates with a ``Link`` header (rel next, last, first, prev) and lists pull
  requests too (with a ``pull_request`` key); ``GET .../issues/{number}`` one issue.
Errors are ``{"message", "documentation_url"}`` (and ``errors`` for 422).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from tests.fakes.faults import FAULT, Fault, Faults, serve

DOCS = "https://docs.github.com/rest"
VERSIONS = ("2022-11-28",)
REPO = web.RequestKey("repo", str)
WRITES = web.RequestKey("writes", bool)


@dataclass
class Repo:
    name: str
    issues: list[dict[str, Any]] = field(default_factory=list)
    readers: set[str] = field(default_factory=set)  # tokens that can see but not write


class FakeGitHub:
    def __init__(self, tokens: dict[str, set[str]]) -> None:
        self.tokens = tokens  # token -> repositories it may write
        self.repos: dict[str, Repo] = {}
        self.faults = Faults()
        self.requests: list[tuple[str, str]] = []
        self.url = ""
        self.html = "https://github.example.com"
        self._clock = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

    def add_repo(self, name: str, *, readers: set[str] | None = None) -> Repo:
        self.repos[name] = Repo(name, readers=readers or set())
        return self.repos[name]

    def fail(self, status: int = 503, count: int = 1, **kwargs: Any) -> None:
        self.faults.add(Fault(status=status, **kwargs), count)

    def close(self, repo: str, number: int) -> None:
        issue = self._issue(repo, number)
        assert issue is not None, f"no issue {repo}#{number}"
        issue.update(state="closed", state_reason="completed", closed_at=self._now().isoformat().replace("+00:00", "Z"))

    def issues(self, repo: str) -> list[dict[str, Any]]:
        return [i for i in self.repos[repo].issues if "pull_request" not in i]

    def add_issue(self, repo: str, title: str, body: str = "", *, pull_request: bool = False,
                  created_at: datetime | None = None) -> dict[str, Any]:
        issues = self.repos[repo].issues
        number = len(issues) + 1
        created = (created_at or self._now()).isoformat().replace("+00:00", "Z")
        issue: dict[str, Any] = {
            "id": 1000 + number, "node_id": f"I_{number}", "number": number, "title": title, "body": body,
            "state": "open", "state_reason": None, "labels": [], "user": {"login": "incident-bot"},
            "url": f"{self.url}/repos/{repo}/issues/{number}", "html_url": f"{self.html}/{repo}/issues/{number}",
            "created_at": created, "updated_at": created, "closed_at": None,
        }
        if pull_request:
            issue["pull_request"] = {"url": f"{self.url}/repos/{repo}/pulls/{number}"}
        issues.append(issue)
        return issue

    def _now(self) -> datetime:
        self._clock += timedelta(seconds=1)  # distinct, increasing creation times
        return max(self._clock, datetime.now(UTC))

    def _issue(self, repo: str, number: int) -> dict[str, Any] | None:
        return next((i for i in self.repos[repo].issues if i["number"] == number), None)

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._checks])
        app.router.add_post("/repos/{owner}/{repo}/issues", self._create)
        app.router.add_get("/repos/{owner}/{repo}/issues", self._list)
        app.router.add_get("/repos/{owner}/{repo}/issues/{number}", self._get)
        return app

    @web.middleware
    async def _checks(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        fault = self.faults.take(request)
        failed = await self.faults.before(fault, {"message": "Service Unavailable", "documentation_url": DOCS})
        if failed is not None:
            return failed
        if "application/vnd.github+json" not in request.headers.get("Accept", ""):
            return _error(415, "Unsupported 'Accept' header: expected application/vnd.github+json")
        version = request.headers.get("X-GitHub-Api-Version")
        if version not in VERSIONS:
            return _error(400, f"Invalid API version: {version!r}; supported: {', '.join(VERSIONS)}")
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if not token:
            return _error(401, "Requires authentication")
        if scheme not in ("Bearer", "token") or token not in self.tokens:
            return _error(401, "Bad credentials")
        repo = f"{request.match_info['owner']}/{request.match_info['repo']}"
        if repo not in self.repos or (repo not in self.tokens[token] and token not in self.repos[repo].readers):
            return _error(404, "Not Found")
        request[REPO], request[WRITES], request[FAULT] = repo, repo in self.tokens[token], fault
        return await handler(request)

    async def _create(self, request: web.Request) -> web.StreamResponse:
        if not request[WRITES]:
            return _error(403, "Resource not accessible by personal access token")
        try:
            data = json.loads(await request.text())
        except ValueError:
            return _error(400, "Problems parsing JSON")
        if not isinstance(data, dict):
            return _error(400, "Problems parsing JSON")
        errors = []
        title = data.get("title")
        if title is None or (isinstance(title, str) and not title.strip()):
            errors.append({"resource": "Issue", "code": "missing_field", "field": "title"})
        elif not isinstance(title, (str, int)):
            errors.append({"resource": "Issue", "code": "invalid", "field": "title"})
        if not isinstance(data.get("body", ""), (str, type(None))):
            errors.append({"resource": "Issue", "code": "invalid", "field": "body"})
        labels = data.get("labels", [])
        if not isinstance(labels, list) or not all(isinstance(label, str) and label for label in labels):
            errors.append({"resource": "Issue", "code": "invalid", "field": "labels"})
        if errors:
            return web.json_response({"message": "Validation Failed", "errors": errors, "documentation_url": DOCS},
                                     status=422)
        issue = self.add_issue(request[REPO], str(title), data.get("body") or "")
        issue["labels"] = [{"name": label} for label in labels]
        lost = await self.faults.after(request[FAULT], {"message": "Bad Gateway", "documentation_url": DOCS})
        if lost is not None:
            return lost
        return web.json_response(issue, status=201, headers={"Location": issue["url"]})

    async def _list(self, request: web.Request) -> web.StreamResponse:
        query = request.query
        state = query.get("state", "open")
        if state not in ("open", "closed", "all") or query.get("sort", "created") not in ("created", "updated",
                                                                                           "comments"):
            return _validation("state" if state not in ("open", "closed", "all") else "sort")
        try:
            per_page, page = int(query.get("per_page", "30")), int(query.get("page", "1"))
        except ValueError:
            return _validation("per_page")
        per_page = min(max(per_page, 1), 100)
        items = [i for i in self.repos[request[REPO]].issues if state == "all" or i["state"] == state]
        items.sort(key=lambda i: (i["created_at"], i["number"]), reverse=query.get("direction", "desc") == "desc")
        last = max(1, -(-len(items) // per_page))
        headers = {}
        links = []
        base = f"{self.url}{request.path}"
        params = {k: v for k, v in query.items() if k != "page"}
        for rel, target in (("prev", page - 1), ("next", page + 1), ("last", last), ("first", 1)):
            if (rel == "prev" and page > 1) or (rel == "next" and page < last) or (rel in ("last", "first")
                                                                                  and page != target):
                links.append(f'<{base}?{urlencode({**params, "page": target})}>; rel="{rel}"')
        if links:
            headers["Link"] = ", ".join(links)
        return web.json_response(items[(page - 1) * per_page: page * per_page], headers=headers)

    async def _get(self, request: web.Request) -> web.StreamResponse:
        try:
            issue = self._issue(request[REPO], int(request.match_info["number"]))
        except ValueError:
            issue = None
        if issue is None:
            return _error(404, "Not Found")
        return web.json_response(issue)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"message": message, "documentation_url": DOCS}, status=status)


def _validation(field_name: str) -> web.Response:
    return web.json_response({"message": "Validation Failed", "errors": [
        {"resource": "Issue", "code": "invalid", "field": field_name}], "documentation_url": DOCS}, status=422)


@asynccontextmanager
async def fake_github(tokens: dict[str, set[str]], repos: tuple[str, ...] = ()) -> AsyncIterator[FakeGitHub]:
    github = FakeGitHub(tokens)
    for name in repos:
        github.add_repo(name)
    runner, github.url = await serve(github.app())
    try:
        yield github
    finally:
        if github.faults.hold_after_effect is not None:
            github.faults.hold_after_effect.set()
        await runner.cleanup()
