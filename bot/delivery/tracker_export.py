"""Follow-ups become issues in GitHub or Jira, exactly once across crashes and replicas.

An attempt that was interrupted after the tracker created the issue but before it was
recorded here left an issue with the follow-up's marker: a retry (``attempts > 1``) looks
for that issue before creating one. The issue is recorded on the follow-up, on the
timeline and in the channel in one transaction, and only if the follow-up has none yet, so
a retry after that commit (before the outbox recorded the action done) changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.adapters.github import GitHubClient
from bot.adapters.jira import JiraClient
from bot.adapters.tracker_http import TrackerIssue
from bot.clock import Clock
from bot.delivery.dispatch import Handler
from bot.delivery.failure_words import service_name
from bot.delivery.outcome import Done
from bot.delivery.tracker_issue import github_marker, issue_text, jira_marker
from bot.domain.failures import PermanentFailure
from bot.domain.kinds import ActionKind, EventKind
from bot.slack.blocks import link
from storage import alerting as repo
from storage import followups, incidents
from storage.database import Database
from storage.outbox import ClaimedAction
from storage.rows import NewEvent

# A retry looks for the marker among issues created since the action was queued, less this
# much for a tracker clock that runs behind ours.
CLOCK_SKEW = timedelta(hours=1)


class TrackerExport:
    def __init__(self, db: Database, clock: Clock, public_url: str, github: GitHubClient | None,
                 jira: JiraClient | None) -> None:
        self._db = db
        self._clock = clock
        self._public_url = public_url
        self._github = github
        self._jira = jira

    @property
    def handlers(self) -> Mapping[str, Handler]:
        return {ActionKind.GITHUB_ISSUE: self._export_to_github, ActionKind.JIRA_ISSUE: self._export_to_jira}

    async def _export_to_github(self, action: ClaimedAction) -> Done:
        followup_id, repo_name = int(action.payload["followup_id"]), str(action.payload["repo"])
        if await self._already_exported(followup_id):
            return Done({"skipped": "the follow-up has its issue already, or is gone"})
        if self._github is None:
            raise PermanentFailure(f"POST /repos/{repo_name}/issues", "GITHUB_TOKEN is not set", service="github",
                                   hint="set GITHUB_TOKEN (a token that may create issues in "
                                        f"{repo_name}) and restart incident-bot")
        marker = github_marker(followup_id)
        issue = None
        if action.attempts > 1:
            issue = await self._github.find_issue(repo_name, marker, since=action.created_at - CLOCK_SKEW)
        found = issue is not None
        if issue is None:
            text = issue_text(action.payload, _incident_id(action), self._public_url)
            issue = await self._github.create_issue(repo_name, text.title, f"{text.markdown()}\n\n{marker}\n",
                                                    [str(label) for label in action.payload.get("labels") or []])
        return await self._record(action, issue, found=found)

    async def _export_to_jira(self, action: ClaimedAction) -> Done:
        followup_id, project = int(action.payload["followup_id"]), str(action.payload["project"])
        if await self._already_exported(followup_id):
            return Done({"skipped": "the follow-up has its issue already, or is gone"})
        if self._jira is None:
            raise PermanentFailure("POST /rest/api/3/issue", "JIRA_URL, JIRA_USER or JIRA_API_TOKEN is not set",
                                   service="jira", hint="set JIRA_URL, JIRA_USER and JIRA_API_TOKEN (an account "
                                   f"that may create issues in project {project}) and restart incident-bot")
        marker = jira_marker(followup_id)
        issue = None
        if action.attempts > 1:
            # JQL compares dates in the Jira user's time zone: a day earlier covers every zone.
            issue = await self._jira.find_issue(project, marker, since=(action.created_at - timedelta(days=1)).date())
        found = issue is not None
        if issue is None:
            text = issue_text(action.payload, _incident_id(action), self._public_url)
            labels = [str(label) for label in action.payload.get("labels") or []] + [marker]
            issue = await self._jira.create_issue(project, text.title, text.adf(), labels)
        return await self._record(action, issue, found=found)

    async def _already_exported(self, followup_id: int) -> bool:
        followup = await self._db.read(followups.get, followup_id)
        return followup is None or followup.tracker_key is not None

    async def _record(self, action: ClaimedAction, issue: TrackerIssue, *, found: bool) -> Done:
        recorded = await self._db.write(record_issue, _incident_id(action), int(action.payload["followup_id"]),
                                        issue, self._clock())
        return Done({"key": issue.key, "url": issue.url, "found": found, "recorded": recorded})


def record_issue(session: Session, incident_id: int, followup_id: int, issue: TrackerIssue, now: datetime) -> bool:
    """The issue on the follow-up, the timeline and in the channel; False (nothing written)
    if the follow-up is gone or already has its issue."""
    incident = incidents.lock_incident(session, incident_id)  # one writer at a time, even if two attempts raced
    followup = followups.get(session, followup_id)
    if followup is None or followup.tracker_key is not None:
        return False
    followups.set_tracker_issue(session, followup_id, tracker=issue.tracker, key=issue.key, url=issue.url, now=now)
    repo.append_events(session, incident_id, [NewEvent(
        EventKind.FOLLOWUP_EXPORTED, "bot",
        {"number": followup.number, "tracker": issue.tracker, "tracker_key": issue.key, "url": issue.url},
        occurred_at=now, recorded_at=now)])
    archived = incidents.last_event_time(session, incident_id, EventKind.CHANNEL_ARCHIVED) is not None
    if incident is not None and incident.channel_id and not archived:
        text = (f":link: Follow-up {followup.number} is now {service_name(issue.tracker)} "
                f"issue {link(issue.url, issue.key)}.")
        repo.enqueue(session, ordering_key=f"incident:{incident_id}", incident_id=incident_id,
                     kind=ActionKind.MESSAGE_POST, payload={"text": text, "purpose": "followup_exported"}, now=now)
    return True


def _incident_id(action: ClaimedAction) -> int:
    if action.incident_id is None:
        raise PermanentFailure(action.kind, "the action belongs to no incident")
    return action.incident_id
