"""Who is on call: pure functions over a playbook :class:`~bot.playbook.schema.Rotation`.

Handoff ``k`` happens at ``start + k * period`` computed on the local wall clock of the
rotation's time zone, so a weekly Monday 09:00 handoff stays at 09:00 local time across
daylight-saving changes (the week containing the change is an hour shorter or longer).

Wall-clock times that do not exist or happen twice follow PEP 495's ``fold=0``:

* in a gap (clocks jump 02:00 -> 03:00), a 02:30 handoff takes effect at the instant
  02:30 would be with the pre-jump offset, i.e. 03:30 new local time;
* in a fold (clocks fall back 03:00 -> 02:00), a 02:30 handoff takes effect at the
  first 02:30.

Before ``start`` the first user is on call: a rotation that has not begun yet still
needs someone, and the first listed person is the one who starts it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.playbook.schema import Rotation

__all__ = ["commander_at", "handoff_at", "next_handoff", "next_in_rotation"]


def handoff_at(rotation: Rotation, k: int) -> datetime:
    """The UTC instant of handoff ``k`` (``k = 0`` is ``start``)."""
    local = rotation.start + k * rotation.period
    return local.replace(tzinfo=rotation.zone, fold=0).astimezone(UTC)


def _require_aware(instant: datetime) -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("instant must be timezone-aware (e.g. datetime.now(UTC))")


def _handoff_index(rotation: Rotation, instant: datetime) -> int:
    """The largest ``k`` with ``handoff_at(k) <= instant`` (negative before start)."""
    local = instant.astimezone(rotation.zone).replace(tzinfo=None)
    k = (local - rotation.start) // rotation.period
    # The wall-clock estimate can be off by one next to a DST change; settle it on
    # absolute instants.
    while handoff_at(rotation, k + 1) <= instant:
        k += 1
    while handoff_at(rotation, k) > instant:
        k -= 1
    return k


def commander_at(rotation: Rotation, instant: datetime) -> str:
    """The user on call at ``instant`` (timezone-aware); the first user before ``start``.

    Raises:
        ValueError: if ``instant`` is naive.
    """
    _require_aware(instant)
    k = _handoff_index(rotation, instant)
    if k < 0:
        return rotation.users[0]
    return rotation.users[k % len(rotation.users)]


def next_handoff(rotation: Rotation, instant: datetime) -> datetime:
    """The first handoff strictly after ``instant``, in UTC (``start`` if not begun)."""
    _require_aware(instant)
    return handoff_at(rotation, max(_handoff_index(rotation, instant) + 1, 0))


def next_in_rotation(rotation: Rotation, user: str) -> str | None:
    """The person listed after ``user``, for escalation that stops at the end of the list.

    Returns None when ``user`` is last or not in the rotation. If a user is listed more
    than once, their first position counts.
    """
    try:
        position = rotation.users.index(user)
    except ValueError:
        return None
    return rotation.users[position + 1] if position + 1 < len(rotation.users) else None
