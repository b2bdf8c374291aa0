"""Sign-ins with Slack are used once, and web sessions last until they expire, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta

import pytest

from storage import web_sessions
from storage.database import Database
from storage.errors import Conflict
from storage.rows import SigninRow, WebSessionRow
from tests.support.workspace import T0, until_a_transaction_waits_for_a_lock

TOKEN = "k3Jd9-wz0Qx_secret-session-token-from-the-cookie"
ID_HASH = hashlib.sha256(TOKEN.encode()).hexdigest()
MAX_AGE = timedelta(minutes=10)


async def start_signin(db: Database, state: str = "state-1") -> SigninRow:
    return await db.write(web_sessions.create_signin, state=state, nonce="nonce-1", return_to="/ui/incidents/7?tab=log",
                          now=T0)


async def sign_in(db: Database, id_hash: str = ID_HASH, expires_in: timedelta = timedelta(hours=8)) -> WebSessionRow:
    return await db.write(web_sessions.create_session, id_hash=id_hash, user_id="U123", team_id="T9", name="Ada",
                          email="ada@example.com", csrf_token="c" * 64, now=T0, expires_at=T0 + expires_in)


async def test_a_sign_in_is_consumed_once_and_gives_back_where_to_land(db: Database) -> None:
    await start_signin(db)
    later = T0 + timedelta(minutes=2)

    first = await db.write(web_sessions.consume_signin, "state-1", now=later, max_age=MAX_AGE)
    again = await db.write(web_sessions.consume_signin, "state-1", now=later, max_age=MAX_AGE)

    assert first == SigninRow(state="state-1", nonce="nonce-1", return_to="/ui/incidents/7?tab=log", created_at=T0,
                              used_at=later)
    assert again is None
    assert await db.write(web_sessions.consume_signin, "never-started", now=later, max_age=MAX_AGE) is None


async def test_a_sign_in_older_than_the_maximum_age_is_refused(db: Database) -> None:
    await start_signin(db, "late")
    await start_signin(db, "just-in-time")

    assert await db.write(web_sessions.consume_signin, "late", now=T0 + MAX_AGE + timedelta(seconds=1),
                          max_age=MAX_AGE) is None
    assert await db.write(web_sessions.consume_signin, "just-in-time", now=T0 + MAX_AGE, max_age=MAX_AGE) is not None


async def test_of_many_concurrent_callbacks_with_one_state_exactly_one_signs_in(db: Database) -> None:
    await start_signin(db)

    results = await asyncio.gather(*[db.write(web_sessions.consume_signin, "state-1", now=T0, max_age=MAX_AGE)
                                     for _ in range(6)])

    assert len([r for r in results if r is not None]) == 1


# SQLite's one writer runs one transaction at a time: there is no interleaving to race.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_on_postgresql_a_consume_racing_an_uncommitted_one_waits_and_then_finds_it_used(db: Database) -> None:
    await start_signin(db)

    async with db.transaction() as first:
        won = await first.run_sync(web_sessions.consume_signin, "state-1", now=T0, max_age=MAX_AGE)

        async def second_replica() -> SigninRow | None:
            async with db.transaction() as second:
                return await second.run_sync(web_sessions.consume_signin, "state-1", now=T0, max_age=MAX_AGE)

        racing = asyncio.create_task(second_replica())
        await until_a_transaction_waits_for_a_lock(db)  # the second replica's UPDATE waits for the row
        assert not racing.done()
    assert won is not None
    assert await racing is None


async def test_a_sign_in_only_lands_on_a_local_path(db: Database) -> None:
    for return_to in ("https://evil.example.com/", "//evil.example.com/ui", "/\\evil.example.com", "ui/incidents"):
        with pytest.raises(ValueError, match="return_to must be a local path"):
            await db.write(web_sessions.create_signin, state="s", nonce="n", return_to=return_to, now=T0)
    with pytest.raises(ValueError, match="state is 101 characters long, at most 100"):
        await db.write(web_sessions.create_signin, state="s" * 101, nonce="n", return_to="/ui/", now=T0)
    await start_signin(db)
    with pytest.raises(Conflict):
        await start_signin(db)


async def test_a_session_is_found_by_the_hash_of_its_token_until_it_expires(db: Database) -> None:
    created = await sign_in(db)

    found = await db.read(web_sessions.get_session, ID_HASH, now=T0 + timedelta(hours=7, minutes=59))

    assert found == created
    assert found.user_id == "U123" and found.email == "ada@example.com" and found.last_seen_at == T0
    assert await db.read(web_sessions.get_session, ID_HASH, now=T0 + timedelta(hours=8)) is None
    assert await db.read(web_sessions.get_session, "0" * 64, now=T0) is None


async def test_a_session_is_never_stored_under_the_token_itself(db: Database) -> None:
    with pytest.raises(ValueError, match="SHA-256 of the session token"):
        await sign_in(db, id_hash=TOKEN)
    with pytest.raises(ValueError, match=r"expires_at .* is not after now"):
        await sign_in(db, expires_in=timedelta(0))


async def test_touching_a_session_records_when_it_was_last_used(db: Database) -> None:
    await sign_in(db)
    seen = T0 + timedelta(minutes=5)

    assert await db.write(web_sessions.touch_session, ID_HASH, seen) is True
    # Within a minute of that: no write.
    assert await db.write(web_sessions.touch_session, ID_HASH, seen + timedelta(seconds=30),
                          at_most_every=timedelta(minutes=1)) is False
    found = await db.read(web_sessions.get_session, ID_HASH, now=seen)
    assert found is not None and found.last_seen_at == seen
    assert await db.write(web_sessions.touch_session, ID_HASH, T0 + timedelta(hours=9)) is False  # expired


async def test_signing_out_deletes_the_session(db: Database) -> None:
    await sign_in(db)

    assert await db.write(web_sessions.delete_session, ID_HASH) is True
    assert await db.write(web_sessions.delete_session, ID_HASH) is False
    assert await db.read(web_sessions.get_session, ID_HASH, now=T0) is None


async def test_purging_deletes_expired_sessions_only(db: Database) -> None:
    short, long = hashlib.sha256(b"short").hexdigest(), hashlib.sha256(b"long").hexdigest()
    await sign_in(db, short, timedelta(hours=1))
    await sign_in(db, long, timedelta(hours=10))

    assert await db.write(web_sessions.purge_expired, T0 + timedelta(hours=2)) == 1
    assert await db.read(web_sessions.get_session, long, now=T0 + timedelta(hours=2)) is not None
    assert await db.write(web_sessions.purge_expired, T0 + timedelta(hours=2)) == 0
