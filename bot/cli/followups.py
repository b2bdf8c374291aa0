"""``incident-bot followups [--overdue]``: the follow-ups across incidents, as a table."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from datetime import datetime

from bot.clock import utcnow
from bot.domain.due import due_label
from bot.settings import Settings
from storage import followups as store
from storage.database import Database
from storage.errors import StorageError
from storage.rows import FollowUpRow

TEXT_WIDTH = 60
HEADERS = ("INCIDENT", "#", "STATUS", "OWNER", "DUE", "TEXT", "TRACKER")


def table(rows: Sequence[FollowUpRow], now: datetime) -> str:
    lines = [HEADERS]
    for f in rows:
        status = "overdue" if f.status == "open" and f.due_at is not None and f.due_at <= now else f.status
        text = " ".join(f.text.split())
        text = text if len(text) <= TEXT_WIDTH else text[:TEXT_WIDTH - 1] + "…"
        lines.append((f"#{f.incident_id}", str(f.number), status, f.owner or "-",
                      due_label(f.due_at) if f.due_at else "-", text, f.tracker_url or "-"))
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADERS) - 1)]
    return "\n".join("  ".join([*(cell.ljust(w) for cell, w in zip(line[:-1], widths, strict=True)), line[-1]])
                     .rstrip() for line in lines)


def followups(settings: Settings, *, overdue: bool) -> int:
    async def run() -> tuple[list[FollowUpRow], datetime]:
        db = Database(settings.database_url)
        try:
            now = utcnow()
            return await db.read(store.listed, status=None if overdue else "open",
                                 overdue_at=now if overdue else None), now
        finally:
            await db.dispose()

    try:
        rows, now = asyncio.run(run())
    except StorageError as exc:
        print(f"cannot read the database: {exc}", file=sys.stderr)
        return 1
    if not rows:
        print("No overdue follow-ups." if overdue else "No open follow-ups.")
        return 0
    print(table(rows, now))
    print(f"{len(rows)} {'overdue' if overdue else 'open'} follow-up{'s' if len(rows) != 1 else ''}")
    return 0
