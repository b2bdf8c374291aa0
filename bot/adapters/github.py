"""GitHub Issues (REST API v3, also GitHub Enterprise): the one module that talks to GitHub.

A follow-up's issue carries a hidden marker in its body, so a retry after an interrupted
attempt finds the issue that attempt created instead of creating a second one. The marker
is looked for in the repository's issues listed newest first (not the search API, whose
index lags behind a fresh issue).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.adapters.peer import PeerClient
from bot.adapters.tracker_http import TrackerIssue, json_body, one_line, tracker_answer
from bot.domain.failures import PermanentFailure

if TYPE_CHECKING:
    import httpx

SERVICE = "github"
API_VERSION = "2022-11-28"
PAGE_SIZE = 100
MAX_PAGES = 20  # a marker older than 2000 newer issues is not looked for further
_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')


class GitHubClient(PeerClient):
    """Owns one connection pool for the bot's lifetime; ``aclose`` it at shutdown."""

    def __init__(self, api_url: str, token: str, timeout: float = 10.0) -> None:
        super().__init__(api_url, timeout)
        self._http.headers.update({"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
                                   "X-GitHub-Api-Version": API_VERSION, "User-Agent": "incident-bot"})

    async def create_issue(self, repo: str, title: str, body: str, labels: list[str]) -> TrackerIssue:
        operation = f"POST /repos/{repo}/issues"
        response = await self._send(operation, repo, "POST", f"/repos/{repo}/issues",
                                    json={"title": title, "body": body, "labels": labels})
        return _issue(repo, response.json())

    async def find_issue(self, repo: str, marker: str, since: datetime) -> TrackerIssue | None:
        """The issue of ``repo`` created at or after ``since`` whose body holds ``marker``."""
        operation = f"GET /repos/{repo}/issues"
        url: str | None = f"/repos/{repo}/issues"
        params: dict[str, str | int] | None = {"state": "all", "sort": "created", "direction": "desc",
                                               "per_page": PAGE_SIZE}
        for _ in range(MAX_PAGES):
            if url is None:
                break
            response = await self._send(operation, repo, "GET", url, params=params)
            for item in response.json():
                if "pull_request" in item:
                    continue
                if _created(item) < since:
                    return None  # sorted newest first: every later one is older still
                if marker in (item.get("body") or ""):
                    return _issue(repo, item)
            match = _NEXT.search(response.headers.get("link", ""))
            url, params = (match.group(1), None) if match else (None, None)
        return None

    async def is_closed(self, repo: str, number: int) -> bool:
        response = await self._send(f"GET /repos/{repo}/issues/{number}", repo, "GET",
                                    f"/repos/{repo}/issues/{number}")
        return bool(response.json().get("state") == "closed")

    async def _send(self, operation: str, repo: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        target = url if url.startswith(("http://", "https://")) else f"{self._base}{url}"
        return await tracker_answer(self._http, method, target, service=SERVICE, operation=operation,
                                    timeout=self._timeout, refusal=lambda r: _refusal(operation, repo, r), **kwargs)


def _refusal(operation: str, repo: str, response: httpx.Response) -> PermanentFailure:
    status = response.status_code
    body = json_body(response)
    message = str(body.get("message") or response.reason_phrase) if isinstance(body, dict) else response.reason_phrase
    details = _error_details(body)
    error = one_line(f"{status} {message}" + (f": {details}" if details else ""))
    hints = {
        401: "check GITHUB_TOKEN: GitHub does not accept it (expired, revoked or mistyped)",
        403: f"check GITHUB_TOKEN: it must be allowed to create issues in {repo} (Issues: read and write)",
        404: f"check followups.github_repo in the playbook: {repo} does not exist, or GITHUB_TOKEN cannot see it",
        410: f"issues are turned off in {repo}: turn them on, or pick another followups.github_repo",
    }
    hint = hints.get(status, "check the follow-up's text and the playbook's followups.labels")
    return PermanentFailure(operation, error, service=SERVICE, hint=hint)


def _error_details(body: object) -> str:
    if not isinstance(body, dict) or not isinstance(body.get("errors"), list):
        return ""
    parts = []
    for error in body["errors"]:
        if isinstance(error, dict):
            text = error.get("message") or " ".join(str(error[k]) for k in ("field", "code") if error.get(k))
            parts.append(str(text))
        else:
            parts.append(str(error))
    return "; ".join(p for p in parts if p)


def _issue(repo: str, item: dict[str, Any]) -> TrackerIssue:
    return TrackerIssue(SERVICE, f"{repo}#{item['number']}", str(item["html_url"]))


def _created(item: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(item["created_at"]).replace("Z", "+00:00"))


def issue_number(key: str) -> tuple[str, int]:
    """``owner/name#12`` -> (``owner/name``, 12)."""
    repo, _, number = key.rpartition("#")
    return repo, int(number)
