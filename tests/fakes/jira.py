"""A strict Jira Cloud (REST API v3) on loopback, from Atlassian's documentation:

- basic auth (the account's e-mail and an API token) on every request, else 401;
- ``POST /rest/api/3/issue`` with ``{"fields": {project: {key}, summary, issuetype: {name},
  description, labels}}``: the project must exist and the user may create in it, the
  summary is one line of at most 255 characters, the issue type one of the project's,
  the description an Atlassian Document Format document, labels have no spaces; a bad
  field is 400 ``{"errorMessages": [], "errors": {field: message}}``; 201 ``{id, key, self}``;
- ``POST /rest/api/3/search/jql`` (the enhanced search: ``jql``, ``fields``, ``maxResults``,
  ``nextPageToken``; answers ``issues``, ``nextPageToken`` only when there is a next page,
  and ``isLast``); this fake understands ``project = "KEY" AND labels = "label"``, optionally
  ``AND created >= "YYYY-MM-DD"`` and ``ORDER BY created ASC|DESC``, and rejects other JQL as Jira does unknown syntax;
- ``GET /rest/api/3/issue/{key}?fields=status``: the status with its ``statusCategory``
  (``new``, ``indeterminate``, ``done``); 404 when it does not exist or cannot be seen.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from tests.fakes.faults import FAULT, Fault, Faults, serve

_JQL = re.compile(r'project\s*=\s*"?(?P<project>[A-Z][A-Z0-9_]*)"?\s+AND\s+labels\s*=\s*"(?P<label>[^"]+)"'
                  r'(?:\s+AND\s+created\s*>=\s*"(?P<since>\d{4}-\d{2}-\d{2})")?'
                  r'(?:\s+ORDER\s+BY\s+created\s+(?P<order>ASC|DESC))?\s*', re.IGNORECASE)
USER = web.RequestKey("user", str)
_BLOCKS = {"paragraph", "heading", "bulletList", "orderedList", "codeBlock", "blockquote", "rule"}
_MARKS = {"link", "strong", "em", "code", "strike", "underline"}


@dataclass
class Project:
    key: str
    creators: set[str]  # users who may create issues
    issue_types: tuple[str, ...] = ("Task", "Bug", "Story")
    issues: list[dict[str, Any]] = field(default_factory=list)


class FakeJira:
    def __init__(self, users: dict[str, str]) -> None:
        self.users = users  # e-mail -> API token
        self.projects: dict[str, Project] = {}
        self.faults = Faults()
        self.requests: list[tuple[str, str]] = []
        self.url = ""

    def add_project(self, key: str, creators: set[str] | None = None) -> Project:
        self.projects[key] = Project(key, creators if creators is not None else set(self.users))
        return self.projects[key]

    def fail(self, status: int = 503, count: int = 1, **kwargs: Any) -> None:
        self.faults.add(Fault(status=status, **kwargs), count)

    def issues(self, project: str) -> list[dict[str, Any]]:
        return self.projects[project].issues

    def close(self, key: str) -> None:
        issue = self._issue(key)
        assert issue is not None, f"no issue {key}"
        issue["fields"]["status"] = {"name": "Done", "statusCategory": {"key": "done", "name": "Done"}}

    def _issue(self, key: str) -> dict[str, Any] | None:
        project = self.projects.get(key.rpartition("-")[0])
        return next((i for i in project.issues if i["key"] == key), None) if project else None

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._checks])
        app.router.add_post("/rest/api/3/issue", self._create)
        app.router.add_post("/rest/api/3/search/jql", self._search)
        app.router.add_get("/rest/api/3/issue/{key}", self._get)
        return app

    @web.middleware
    async def _checks(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        fault = self.faults.take(request)
        failed = await self.faults.before(fault, {"errorMessages": ["Service Unavailable"], "errors": {}})
        if failed is not None:
            return failed
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        try:
            user, _, token = base64.b64decode(encoded).decode().partition(":") if scheme == "Basic" else ("", "", "")
        except ValueError:
            user = token = ""
        if not user or self.users.get(user) != token:
            return _errors(401, ["Client must be authenticated to access this resource."])
        request[USER], request[FAULT] = user, fault
        return await handler(request)

    async def _create(self, request: web.Request) -> web.StreamResponse:
        try:
            data = json.loads(await request.text())
        except ValueError:
            return _errors(400, ["Unexpected character in the request body: it is not JSON."])
        fields = data.get("fields") if isinstance(data, dict) else None
        if not isinstance(fields, dict):
            return _errors(400, [], {"fields": "Field 'fields' is required."})
        errors: dict[str, str] = {}
        key = (fields.get("project") or {}).get("key") if isinstance(fields.get("project"), dict) else None
        project = self.projects.get(str(key))
        if project is None or request[USER] not in project.creators:
            errors["project"] = "Specify a valid project ID or key"
        summary = fields.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            errors["summary"] = "You must specify a summary of the issue."
        elif "\n" in summary or "\r" in summary:
            errors["summary"] = "Field 'summary' cannot contain newline characters."
        elif len(summary) > 255:
            errors["summary"] = "Summary must be less than 255 characters."
        issue_type = fields.get("issuetype")
        if not isinstance(issue_type, dict) or (project and issue_type.get("name") not in project.issue_types):
            errors["issuetype"] = "Specify an issue type"
        if "description" in fields and not _is_adf(fields["description"]):
            errors["description"] = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
        labels = fields.get("labels", [])
        if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
            errors["labels"] = "Field 'labels' must be an array of strings."
        else:
            spaced = next((label for label in labels if not label or " " in label), None)
            if spaced is not None:
                errors["labels"] = f"The label '{spaced}' contains spaces which is invalid."
        if errors or project is None:
            return _errors(400, [], errors)
        number = len(project.issues) + 1
        issue_id = str(10000 + len(project.issues) + 100 * len(self.projects))
        issue = {"id": issue_id, "key": f"{project.key}-{number}", "self": f"{self.url}/rest/api/3/issue/{issue_id}",
                 "fields": {**fields, "labels": list(labels), "created": datetime.now(UTC).isoformat(),
                            "status": {"name": "To Do", "statusCategory": {"key": "new", "name": "To Do"}}}}
        project.issues.append(issue)
        lost = await self.faults.after(request[FAULT], {"errorMessages": ["Bad Gateway"], "errors": {}})
        if lost is not None:
            return lost
        return web.json_response({"id": issue["id"], "key": issue["key"], "self": issue["self"]}, status=201)

    async def _search(self, request: web.Request) -> web.StreamResponse:
        try:
            data = json.loads(await request.text())
        except ValueError:
            return _errors(400, ["The request body is not JSON."])
        match = _JQL.fullmatch(str(data.get("jql", "")))
        if match is None:
            return _errors(400, [f"Error in the JQL Query: this fake does not understand {data.get('jql')!r}."])
        project = self.projects.get(match["project"].upper())
        if project is None:
            return _errors(400, [f"The value '{match['project']}' does not exist for the field 'project'."])
        found = [i for i in project.issues if match["label"] in i["fields"]["labels"]
                 and (match["since"] is None or i["fields"]["created"][:10] >= match["since"])]
        if (match["order"] or "ASC").upper() == "DESC":
            found.reverse()
        size = min(max(int(data.get("maxResults", 50)), 1), 5000)
        start = int(data["nextPageToken"]) if data.get("nextPageToken") else 0
        page = found[start:start + size]
        wanted = data.get("fields") or []
        body: dict[str, Any] = {"issues": [{"id": i["id"], "key": i["key"], "self": i["self"],
                                            "fields": {f: i["fields"].get(f) for f in wanted}} for i in page],
                                "isLast": start + size >= len(found)}
        if not body["isLast"]:
            body["nextPageToken"] = str(start + size)
        return web.json_response(body)

    async def _get(self, request: web.Request) -> web.StreamResponse:
        issue = self._issue(request.match_info["key"])
        if issue is None:
            return _errors(404, ["Issue does not exist or you do not have permission to see it."])
        wanted = request.query.get("fields", "*all").split(",")
        fields = issue["fields"] if "*all" in wanted else {f: issue["fields"].get(f) for f in wanted}
        return web.json_response({"id": issue["id"], "key": issue["key"], "self": issue["self"], "fields": fields})


def _is_adf(doc: object) -> bool:
    if not isinstance(doc, dict) or doc.get("type") != "doc" or doc.get("version") != 1:
        return False
    content = doc.get("content")
    return isinstance(content, list) and all(_is_block(node) for node in content)


def _is_block(node: object) -> bool:
    if not isinstance(node, dict) or node.get("type") not in _BLOCKS:
        return False
    if node["type"] != "paragraph":
        return True  # the other block types are not used by incident-bot; their inner rules are not checked
    content = node.get("content", [])
    return isinstance(content, list) and all(_is_inline(child) for child in content)


def _is_inline(node: object) -> bool:
    if not isinstance(node, dict):
        return False
    if node.get("type") == "hardBreak":
        return True
    if node.get("type") != "text" or not isinstance(node.get("text"), str) or not node["text"]:
        return False
    marks = node.get("marks", [])
    return isinstance(marks, list) and all(
        isinstance(m, dict) and m.get("type") in _MARKS
        and (m["type"] != "link" or isinstance((m.get("attrs") or {}).get("href"), str)) for m in marks)


def _errors(status: int, messages: list[str], errors: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"errorMessages": messages, "errors": errors or {}}, status=status)


@asynccontextmanager
async def fake_jira(users: dict[str, str], projects: tuple[str, ...] = ()) -> AsyncIterator[FakeJira]:
    jira = FakeJira(users)
    for key in projects:
        jira.add_project(key)
    runner, jira.url = await serve(jira.app())
    try:
        yield jira
    finally:
        if jira.faults.hold_after_effect is not None:
            jira.faults.hold_after_effect.set()
        await runner.cleanup()
