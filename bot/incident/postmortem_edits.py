"""Saving a version of an incident's postmortem (its Markdown, as the web workspace's editor
sends it): under the incident's lock, who may (the same rule as ``/incident postmortem``
changes), the new version and its ``postmortem.edited`` event, in one transaction.

Refusals raise :class:`PostmortemEditError` with one line to show (Slack mrkdwn, like every
reply of the bot) and write nothing; text that is the latest version's already saves nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from bot.clock import Clock
from bot.domain.kinds import EventKind
from bot.domain.redaction import redactor
from bot.incident import permits
from bot.incident.change import IncidentChange, Payload
from bot.incident.postmortem_commands import postmortem_refusal
from bot.playbook import Playbook, PlaybookSet
from storage import incidents as store
from storage import postmortem_versions, postmortems
from storage.database import Database

__all__ = ["MAX_BYTES", "MAX_NOTE", "SOURCES", "PostmortemEditError", "PostmortemEdits", "Saved", "normalized", "too_large"]

MAX_BYTES = 200_000  # of UTF-8: a long postmortem is some tens of kB
MAX_NOTE = 300
SOURCES = ("web",)
ALREADY_PUBLISHED = "The postmortem is already published."


class PostmortemEditError(ValueError):
    """Why nothing was saved, in one line for the person: the person may not (``refused``),
    someone saved a version since (``conflict``), or the text cannot be saved (``invalid``)."""

    def __init__(self, message: str, kind: Literal["refused", "conflict", "invalid"] = "invalid") -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True, slots=True)
class Saved:
    text: str
    version: int | None  # the number saved; None when the text was the latest version's


def normalized(body: str) -> str:
    """The text as stored: line breaks as ``\\n`` (a browser sends a textarea's as CRLF)."""
    return body.replace("\r\n", "\n").replace("\r", "\n")


def too_large(body: str) -> str | None:
    size = len(body.encode("utf-8"))
    if size <= MAX_BYTES:
        return None
    return (f"The postmortem is {size:,} bytes long; at most {MAX_BYTES:,} bytes ({MAX_BYTES // 1000} kB) can be "
            "saved. Nothing was saved.")


class PostmortemEdits:
    def __init__(self, db: Database, playbooks: Callable[[], PlaybookSet], clock: Clock,
                 on_commit: Callable[[], None], group_members: permits.GroupMembers | None = None) -> None:
        self._db = db
        self._playbooks = playbooks
        self._clock = clock
        self._on_commit = on_commit
        self._group_members = group_members

    async def save(self, incident_id: int, body: str, *, actor: str, source: str, base: int | None = None,
                   note: str = "") -> Saved:
        """Save ``body`` as the next version; ``note``: what changed, in a few words.
        ``base``: the version the person started from (0: the rendered draft); when another
        was saved since, nothing is saved."""
        if source not in SOURCES:
            raise PostmortemEditError(f"Unknown source `{source[:20]}`.")
        note = " ".join(note.split())
        if len(note) > MAX_NOTE:
            raise PostmortemEditError(f"The note on what changed is {len(note)} characters; at most {MAX_NOTE}. "
                                      "Nothing was saved.")
        body = normalized(body)
        if problem := too_large(body):
            raise PostmortemEditError(problem)
        if not body.strip():
            raise PostmortemEditError("The postmortem is empty; nothing was saved.")
        now = self._clock()
        async with self._db.transaction() as session:
            incident = await session.run_sync(store.lock_incident, incident_id)
            if incident is None:
                raise PostmortemEditError(f"There is no incident #{incident_id}.")
            tracked = await session.run_sync(postmortems.get, incident_id)
            playbook = self._playbook(incident.playbook)
            refusal = await postmortem_refusal(incident, actor, tracked, playbook, self._group_members)
            if refusal is not None:
                raise PostmortemEditError(refusal, "refused")
            if tracked is not None and tracked.status == "published":
                raise PostmortemEditError(ALREADY_PUBLISHED, "refused")
            latest = await session.run_sync(postmortem_versions.latest_version, incident_id)
            if base is not None and (latest.number if latest is not None else 0) != base:
                assert latest is not None
                raise PostmortemEditError(f"<@{latest.author}> saved version {latest.number} since you started "
                                          "editing; nothing was saved.", "conflict")
            if latest is not None and latest.body == body:
                return Saved(f"Nothing changed since version {latest.number}; no new version was saved.", None)
            saved = await session.run_sync(postmortem_versions.add_version, incident_id, body=body, author=actor,
                                           now=now)
            change = IncidentChange(incident, actor, now)
            data: Payload = {"version": saved.number, "source": source}
            if note:
                data["note"] = redactor(playbook.redact_patterns if playbook is not None else ()).redact(note)
            change.event(EventKind.POSTMORTEM_EDITED, data)
            await session.run_sync(change.flush)
        self._on_commit()
        return Saved(f"Saved version {saved.number} of the postmortem.", saved.number)

    def _playbook(self, name: str) -> Playbook | None:
        try:
            return self._playbooks().get(name)
        except KeyError:
            return None
