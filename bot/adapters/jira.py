"""Jira Cloud (REST API v3): the one module that talks to Jira.

Issues are created as Tasks with their description in the Atlassian Document Format. A
follow-up's issue carries the label ``incident-bot-followup-<id>``, so a retry after an
interrupted attempt finds the issue that attempt created (JQL search) instead of creating
a second one. Authentication is basic: the account's e-mail and an API token.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from bot.adapters.peer import PeerClient
from bot.adapters.tracker_http import TrackerIssue, json_body, one_line, tracker_answer
from bot.domain.failures import PermanentFailure

if TYPE_CHECKING:
    import httpx

SERVICE = "jira"
ISSUE_TYPE = "Task"
MAX_PAGES = 10

# One paragraph of a description: text runs, each with the address it links to, if any.
Paragraph = Sequence[tuple[str, str | None]]


def adf_document(paragraphs: Sequence[Paragraph]) -> dict[str, Any]:
    """An Atlassian Document Format document of paragraphs of (linked) text; line breaks
    become hardBreak nodes, and empty runs are left out, as ADF allows no empty text node."""
    content = []
    for paragraph in paragraphs:
        nodes: list[dict[str, Any]] = []
        for text, href in paragraph:
            for index, line in enumerate(text.split("\n")):
                if index:
                    nodes.append({"type": "hardBreak"})  # a newline inside a text node is not a line break in ADF
                if not line:
                    continue
                node: dict[str, Any] = {"type": "text", "text": line}
                if href:
                    node["marks"] = [{"type": "link", "attrs": {"href": href}}]
                nodes.append(node)
        if nodes:
            content.append({"type": "paragraph", "content": nodes})
    return {"type": "doc", "version": 1, "content": content}


class JiraClient(PeerClient):
    """Owns one connection pool for the bot's lifetime; ``aclose`` it at shutdown."""

    def __init__(self, site_url: str, user: str, api_token: str, timeout: float = 10.0) -> None:
        import httpx  # a client made at start only when Jira is configured

        super().__init__(site_url, timeout)
        self._http.auth = httpx.BasicAuth(user, api_token)
        self._http.headers.update({"Accept": "application/json"})

    def browse_url(self, key: str) -> str:
        return f"{self._base}/browse/{key}"

    async def create_issue(self, project: str, summary: str, description: dict[str, Any],
                           labels: list[str]) -> TrackerIssue:
        fields = {"project": {"key": project}, "summary": summary, "issuetype": {"name": ISSUE_TYPE},
                  "description": description, "labels": labels}
        response = await self._send("POST /rest/api/3/issue", project, "POST", "/rest/api/3/issue",
                                    json={"fields": fields})
        key = str(response.json()["key"])
        return TrackerIssue(SERVICE, key, self.browse_url(key))

    async def find_issue(self, project: str, label: str, since: date) -> TrackerIssue | None:
        """The issue of ``project`` labelled ``label`` created on ``since`` or later, if there is one."""
        jql = (f'project = "{project}" AND labels = "{label}" AND created >= "{since.isoformat()}" '
               "ORDER BY created ASC")
        query: dict[str, Any] = {"jql": jql,
                                 "fields": ["status"], "maxResults": 50}
        for _ in range(MAX_PAGES):
            response = await self._send("POST /rest/api/3/search/jql", project, "POST", "/rest/api/3/search/jql",
                                        json=query)
            page = response.json()
            issues = page.get("issues") or []
            if issues:
                key = str(issues[0]["key"])
                return TrackerIssue(SERVICE, key, self.browse_url(key))
            token = page.get("nextPageToken")
            if not token or page.get("isLast", True):
                return None
            query = {**query, "nextPageToken": token}
        return None

    async def is_closed(self, key: str) -> bool:
        """Whether the issue's status is in the Done category (whatever the workflow calls it)."""
        project = key.rpartition("-")[0]
        response = await self._send(f"GET /rest/api/3/issue/{key}", project, "GET", f"/rest/api/3/issue/{key}",
                                    params={"fields": "status"})
        status = (response.json().get("fields") or {}).get("status") or {}
        return bool((status.get("statusCategory") or {}).get("key") == "done")

    async def _send(self, operation: str, project: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await tracker_answer(self._http, method, f"{self._base}{path}", service=SERVICE, operation=operation,
                                    timeout=self._timeout, refusal=lambda r: _refusal(operation, project, r), **kwargs)


def _refusal(operation: str, project: str, response: httpx.Response) -> PermanentFailure:
    status = response.status_code
    details = _messages(json_body(response))
    error = one_line(f"{status} {response.reason_phrase}".strip() + (f": {details}" if details else ""))
    hints = {
        401: "check JIRA_USER and JIRA_API_TOKEN: Jira does not accept them (JIRA_USER is the account's e-mail)",
        403: f"check JIRA_USER's permissions: it must be allowed to browse and create issues in project {project}",
        404: f"check followups.jira_project in the playbook and JIRA_URL: project {project} (or the issue) "
             f"was not found, or JIRA_USER cannot see it",
    }
    hint = hints.get(status, f"check followups.jira_project ({project}) and followups.labels in the playbook")
    return PermanentFailure(operation, error, service=SERVICE, hint=hint)


def _messages(body: object) -> str:
    if not isinstance(body, dict):
        return ""
    parts = [str(m) for m in body.get("errorMessages") or []]
    errors = body.get("errors")
    if isinstance(errors, dict):
        parts += [f"{field}: {message}" for field, message in errors.items()]
    return "; ".join(parts)
