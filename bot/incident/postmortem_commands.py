"""``/incident postmortem owner|due|review|publish``: who may change an incident's
postmortem, and the change, inside the command's transaction.

The one rule (the postmortem's owner, or whoever the playbook's ``permissions.resolve``
allows) is :func:`postmortem_refusal`, shared with the web workspace's editor.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from bot.domain import commands as p
from bot.domain import due as dues
from bot.domain.due import DueError
from bot.incident import permits
from bot.incident.change import IncidentChange
from bot.incident.command_reply import Reply, refused
from bot.incident.postmortem_tracking import PostmortemTracking
from bot.playbook import Playbook
from storage import followups, postmortems
from storage.rows import IncidentRow, PostmortemRow

PostmortemChange = p.PostmortemOwner | p.PostmortemDue | p.PostmortemReview | p.PostmortemPublish
POSTMORTEM_CHANGES = (p.PostmortemOwner, p.PostmortemDue, p.PostmortemReview, p.PostmortemPublish)
CHANGE_RULE = "resolve"  # the playbook permission that, besides its owner, governs the postmortem


async def postmortem_refusal(incident: IncidentRow, actor: str, postmortem: PostmortemRow | None,
                             playbook: Playbook | None, group_members: permits.GroupMembers | None) -> str | None:
    """None when ``actor`` may change the incident's postmortem (its owner, or whoever may
    resolve the incident); else the refusal that says who can."""
    if postmortem is not None and actor == postmortem.owner:
        return None
    refusal = await permits.refusal(CHANGE_RULE, CHANGE_RULE, incident, actor, playbook, group_members)
    if refusal is None:
        return None
    return refusal.replace(" can resolve for this incident", " or the postmortem's owner can change its postmortem")


async def change_postmortem(session: AsyncSession, change: IncidentChange, playbook: Playbook | None,
                            command: PostmortemChange, *, slash_command: str,
                            group_members: permits.GroupMembers | None) -> Reply:
    existing = await session.run_sync(postmortems.get, change.incident.id)
    if refusal := await postmortem_refusal(change.incident, change.actor, existing, playbook, group_members):
        return refused(refusal)
    if isinstance(command, p.PostmortemDue):
        try:
            due_at = dues.due_at(command.due, change.now)
        except DueError as exc:
            return refused(f"{str(exc)[:1].upper()}{str(exc)[1:]}. Type `{slash_command} postmortem due "
                           f"&lt;YYYY-MM-DD|duration&gt;`.")
    open_followups = (await session.run_sync(followups.counts_by_status, change.incident.id)).get("open", 0)

    def apply(sync: Session) -> str:
        tracking = PostmortemTracking(sync, change.incident, change.actor, change.now, slash_command)
        if isinstance(command, p.PostmortemOwner):
            return tracking.set_owner(command.user)
        if isinstance(command, p.PostmortemDue):
            return tracking.set_due(due_at)
        if isinstance(command, p.PostmortemReview):
            return tracking.set_in_review()
        return tracking.publish(open_followups)
    return Reply(await session.run_sync(apply), changed=True)
