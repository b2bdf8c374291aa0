"""``/ui/incidents/<id>/postmortem``: the postmortem's sections edited as Markdown, saved as
versions, previewed (a button without script, as you type with it), and any saved version
shown by number.

The editor starts from the latest saved version, or from the draft the bot renders when
nobody saved one. The form holds the head (the title and what comes before the first
section) and one field per ``## `` section; what is saved is those fields joined back in
order (:mod:`bot.postmortem.sections`), so an unedited draft saves as it was rendered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aiohttp import web
from markupsafe import Markup
from multidict import MultiMapping

from bot.domain.kinds import EventKind
from bot.incident import drafts
from bot.incident.postmortem_edits import MAX_BYTES, PostmortemEditError, normalized, too_large
from bot.postmortem.markdown_html import markdown_html
from bot.postmortem.sections import Section, Sections, join_sections, split_sections
from bot.web.incident_reads import incident_id_of
from bot.web.keys import WORKSPACE
from bot.web.render import page, redirect_with
from bot.web.replies import plain_text
from bot.web.sessions import Viewer, viewer_of
from bot.web.workspace import Workspace
from storage import alerting, postmortem_versions, postmortems
from storage import timeline as timeline_store
from storage.rows import IncidentRow, PostmortemRow, PostmortemVersionRow, VersionSummary

MAX_VERSIONS = 200
EDIT_STATUS = {"refused": 403, "conflict": 409, "invalid": 422}


@dataclass(frozen=True, slots=True)
class Stored:
    incident: IncidentRow
    postmortem: PostmortemRow | None
    latest: PostmortemVersionRow | None
    versions: list[VersionSummary]
    notes: dict[int, str]  # version number -> what changed, as its author said


_MENTION = re.compile(r"<@([UW][A-Z0-9]{2,20})>")


def editor_url(incident_id: int) -> str:
    return f"/ui/incidents/{incident_id}/postmortem"


async def _stored(workspace: Workspace, incident_id: int) -> Stored:
    async with workspace.db.reading() as session:
        incident = await session.run_sync(alerting.get_incident, incident_id)
        if incident is None:
            raise web.HTTPNotFound(text=f"No incident #{incident_id}.")
        tracked = await session.run_sync(postmortems.get, incident_id)
        latest = await session.run_sync(postmortem_versions.latest_version, incident_id)
        versions = await session.run_sync(postmortem_versions.versions, incident_id, limit=MAX_VERSIONS)
        edits = await session.run_sync(timeline_store.events_of_kinds, incident_id, [EventKind.POSTMORTEM_EDITED])
    notes = {int(str(e.data.get("version"))): str(e.data["note"]) for e in edits
             if e.data.get("note") and str(e.data.get("version")).isdigit()}
    return Stored(incident, tracked, latest, versions, notes)


async def _draft(workspace: Workspace, incident_id: int) -> str:
    try:
        text = await drafts.postmortem_markdown(workspace.db, workspace.playbooks, workspace.playbooks_dir,
                                                incident_id)
    except drafts.PostmortemError as exc:
        raise web.HTTPInternalServerError(text=f"The draft cannot be rendered: {exc}") from None
    if text is None:
        raise web.HTTPNotFound(text=f"No incident #{incident_id}.")
    # The draft names people as Slack mentions; its author edits, and readers read, names.
    names = await workspace.people.names(set(_MENTION.findall(text)))
    return _MENTION.sub(lambda m: "@" + names.get(m.group(1), m.group(1)), text)


async def _starting_text(workspace: Workspace, stored: Stored) -> str:
    return stored.latest.body if stored.latest is not None else await _draft(workspace, stored.incident.id)


def submitted_text(form: MultiMapping[object]) -> str:
    """The document as the form holds it: the head, then each section's heading and body."""
    headings, bodies = form.getall("heading", []), form.getall("body", [])
    if len(headings) != len(bodies):
        raise web.HTTPBadRequest(text="The form's sections do not match their headings; reload the editor.")
    head = normalized(str(form.get("head", "")))
    return join_sections(head, [Section(normalized(str(h)), normalized(str(b))) for h, b in zip(headings, bodies,
                                                                                                  strict=True)])


def _base_of(form: MultiMapping[object]) -> int | None:
    raw = str(form.get("base", ""))
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


async def _show(request: web.Request, workspace: Workspace, viewer: Viewer, stored: Stored, *, text: str,
                base: int, note: str = "", problem: str | None = None, viewing: PostmortemVersionRow | None = None,
                status: int = 200) -> web.Response:
    incident, tracked = stored.incident, stored.postmortem
    people_ids = {v.author for v in stored.versions} | _owner_choices(incident, tracked, viewer)
    if tracked is not None and tracked.published_by:
        people_ids.add(tracked.published_by)
    people = await workspace.people.names(people_ids)
    sections: Sections = split_sections(text)
    # The one HTML made from people's text that the page takes as markup: nh3 sanitized it.
    preview = Markup(markdown_html(text)) if too_large(text) is None else None
    now = workspace.clock()
    return page(request, workspace, "postmortem.html", viewer, {
        "incident": incident, "postmortem": tracked, "sections": sections, "base": base, "note": note,
        "problem": problem, "preview": preview, "versions": stored.versions, "notes": stored.notes,
        "latest": stored.latest.number if stored.latest is not None else None, "viewing": viewing,
        "people": people, "owner_choices": sorted(_owner_choices(incident, tracked, viewer)),
        "overdue": tracked is not None and tracked.status != "published" and tracked.due_at is not None
        and tracked.due_at <= now, "max_kb": MAX_BYTES // 1000, "editor_url": editor_url(incident.id),
    }, status=status)


def _owner_choices(incident: IncidentRow, tracked: PostmortemRow | None, viewer: Viewer) -> set[str]:
    """People who may well own it: its owner, the commander, whoever declared it or holds a role, you."""
    found = {viewer.user_id, *(incident.roles or {}).values()}
    found |= {u for u in (incident.commander, incident.declared_by, tracked.owner if tracked else None) if u}
    return found


async def editor(request: web.Request) -> web.Response:
    workspace, viewer = request.app[WORKSPACE], viewer_of(request)
    stored = await _stored(workspace, incident_id_of(request))
    base = stored.latest.number if stored.latest is not None else 0
    raw = request.query.get("version")
    if raw is not None:
        number = int(raw) if raw.isdigit() and len(raw) < 10 else 0
        async with workspace.db.reading() as session:
            viewing = await session.run_sync(postmortem_versions.version, stored.incident.id, number)
        if viewing is None:
            raise web.HTTPNotFound(text=f"The postmortem of incident #{stored.incident.id} has no version "
                                        f"{raw[:12]}.")
        return await _show(request, workspace, viewer, stored, text=viewing.body, base=base, viewing=viewing)
    return await _show(request, workspace, viewer, stored, text=await _starting_text(workspace, stored), base=base)


async def submit(request: web.Request) -> web.Response:
    """The editor's form: ``action=preview`` shows the text as it would read, kept unsaved;
    ``action=save`` saves it as the next version."""
    workspace, viewer = request.app[WORKSPACE], viewer_of(request)
    incident_id = incident_id_of(request)
    form = await request.post()
    text, base, note = submitted_text(form), _base_of(form), str(form.get("note", ""))
    stored = await _stored(workspace, incident_id)
    kept = base if base is not None else (stored.latest.number if stored.latest is not None else 0)
    if (problem := too_large(text)) is not None:
        return await _show(request, workspace, viewer, stored, text=text, base=kept, note=note, problem=problem,
                           status=413)
    if form.get("action") != "save":
        return await _show(request, workspace, viewer, stored, text=text, base=kept, note=note)
    if stored.latest is None and text == await _draft(workspace, incident_id):
        return redirect_with(workspace, editor_url(incident_id),
                             "Nothing changed in the draft; no version was saved.", kind="refused")
    try:
        saved = await workspace.commands.postmortems.save(incident_id, text, actor=viewer.user_id, source="web",
                                                          base=base, note=note)
    except PostmortemEditError as exc:
        problem = await plain_text(workspace, str(exc))
        if exc.kind == "conflict":  # theirs is in the list; saving again makes this one the next version
            stored = await _stored(workspace, incident_id)
            kept = stored.latest.number if stored.latest is not None else 0
            problem += " Your text is kept below: compare it with the latest version, then save again."
        return await _show(request, workspace, viewer, stored, text=text, base=kept, note=note, problem=problem,
                           status=EDIT_STATUS[exc.kind])
    return redirect_with(workspace, editor_url(incident_id), saved.text,
                         kind="done" if saved.version is not None else "refused")


async def preview(request: web.Request) -> web.Response:
    """The live preview: the editor's fields in, the sanitized HTML fragment out."""
    form = await request.post()
    text = submitted_text(form)
    if (problem := too_large(text)) is not None:
        return web.Response(text=problem, status=413, content_type="text/plain", charset="utf-8")
    return web.Response(text=markdown_html(text), content_type="text/html", charset="utf-8")
