"""Sign-ins with Slack and the web workspace's sessions.

A sign-in's state is used once: consuming it is one conditional UPDATE, so of two replicas
(or two tabs) handling the same callback exactly one gets the row. A session is stored
under the SHA-256 of its token; whoever reads the database cannot sign in with what is
there.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from storage.models import WebSession, WebSignin
from storage.results import rows_affected
from storage.rows import SigninRow, WebSessionRow

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def _check_length(field: str, value: str, limit: int) -> None:
    if not value:
        raise ValueError(f"{field} is empty")
    if len(value) > limit:
        raise ValueError(f"{field} is {len(value)} characters long, at most {limit} fit")


def _check_local_path(return_to: str) -> None:
    # "//host/x" and "/\\host" are read by browsers as another site: only a path on this one.
    if not return_to.startswith("/") or return_to.startswith(("//", "/\\")):
        raise ValueError(f"return_to must be a local path starting with a single '/', not {return_to[:60]!r}")


def create_signin(session: Session, *, state: str, nonce: str, return_to: str, now: datetime) -> SigninRow:
    """Remember a sign-in just sent to Slack, until its callback consumes it."""
    _check_length("state", state, 100)
    _check_length("nonce", nonce, 100)
    _check_length("return_to", return_to, 500)
    _check_local_path(return_to)
    session.execute(insert(WebSignin).values(state=state, nonce=nonce, return_to=return_to, created_at=now,
                                             used_at=None))
    return SigninRow(state=state, nonce=nonce, return_to=return_to, created_at=now, used_at=None)


def consume_signin(session: Session, state: str, *, now: datetime, max_age: timedelta) -> SigninRow | None:
    """The sign-in with this state, marked used; None if there is none, it was used
    already, or it is older than ``max_age``. Only one of any number of concurrent
    callers gets it (on PostgreSQL the others wait for the row and then find it used)."""
    result = session.execute(update(WebSignin).where(
        WebSignin.state == state, WebSignin.used_at.is_(None), WebSignin.created_at >= now - max_age,
    ).values(used_at=now))
    if rows_affected(result) != 1:
        return None
    row = session.execute(select(WebSignin).where(WebSignin.state == state)
                          .execution_options(populate_existing=True)).scalar_one()
    return SigninRow.from_orm(row)


def create_session(session: Session, *, id_hash: str, user_id: str, team_id: str, name: str, email: str | None,
                   csrf_token: str, now: datetime, expires_at: datetime) -> WebSessionRow:
    if not _SHA256_HEX.fullmatch(id_hash):
        raise ValueError("id_hash must be the SHA-256 of the session token as 64 lowercase hex digits")
    _check_length("user_id", user_id, 40)
    _check_length("team_id", team_id, 40)
    _check_length("name", name, 200)
    if email is not None:
        _check_length("email", email, 320)
    _check_length("csrf_token", csrf_token, 64)
    if expires_at <= now:
        raise ValueError(f"expires_at {expires_at.isoformat()} is not after now ({now.isoformat()})")
    row = WebSessionRow(id_hash=id_hash, user_id=user_id, team_id=team_id, name=name, email=email,
                        csrf_token=csrf_token, created_at=now, expires_at=expires_at, last_seen_at=now)
    session.execute(insert(WebSession).values(**asdict(row)))
    return row


def get_session(session: Session, id_hash: str, *, now: datetime) -> WebSessionRow | None:
    """The session, unless there is none or it has expired (at ``expires_at`` it has)."""
    row = session.execute(select(WebSession).where(WebSession.id_hash == id_hash, WebSession.expires_at > now)
                          .execution_options(populate_existing=True)).scalar_one_or_none()
    return WebSessionRow.from_orm(row) if row is not None else None


def touch_session(session: Session, id_hash: str, now: datetime, *,
                  at_most_every: timedelta = timedelta(0)) -> bool:
    """Record that the session was used now; False if it is gone or expired, or was
    touched less than ``at_most_every`` ago (so a page view need not be a write each time)."""
    result = session.execute(update(WebSession).where(
        WebSession.id_hash == id_hash, WebSession.expires_at > now, WebSession.last_seen_at <= now - at_most_every,
    ).values(last_seen_at=now))
    return rows_affected(result) == 1


def delete_session(session: Session, id_hash: str) -> bool:
    """Sign out; False if there was no such session."""
    return rows_affected(session.execute(delete(WebSession).where(WebSession.id_hash == id_hash))) == 1


def purge_expired(session: Session, now: datetime, limit: int = 5000) -> int:
    """Delete up to ``limit`` sessions expired by ``now``; returns how many."""
    expired = select(WebSession.id_hash).where(WebSession.expires_at <= now).order_by(WebSession.expires_at).limit(limit)
    return rows_affected(session.execute(delete(WebSession).where(WebSession.id_hash.in_(expired))))


def purge_signins(session: Session, created_before: datetime, limit: int = 5000) -> int:
    """Delete up to ``limit`` sign-ins (used or not) started before the cutoff; returns how many."""
    old = select(WebSignin.state).where(WebSignin.created_at < created_before).order_by(WebSignin.created_at).limit(limit)
    return rows_affected(session.execute(delete(WebSignin).where(WebSignin.state.in_(old))))
