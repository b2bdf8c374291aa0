"""Engine, sessions and transactions for SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

import orjson
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from storage import timers
from storage.errors import Conflict, StorageUnavailable
from storage.sqlite_writer import SqliteWriter
from storage.wal_checkpoint import DEFAULT_INTERVAL, WalCheckpointer

T = TypeVar("T")
P = ParamSpec("P")

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=10000",
    "PRAGMA wal_autocheckpoint=0",  # storage/wal_checkpoint.py checkpoints, off the writer's path
)
# The async engine's connections (reads, and the few writes under the writer's mutex) each
# keep a page cache of their own, in their own aiosqlite thread: SQLite's default of 2 MiB
# each made up most of what a busy bot's memory grew by. The writer thread's connection,
# which does the ingest's work, keeps the default; the file's pages stay in the OS's cache.
POOL_CACHE = "PRAGMA cache_size=-256"  # KiB


def json_text(value: object) -> str:
    """A JSON column's text: orjson, several times faster than json on the webhook path's
    labels, annotations, payloads and events; non-string keys become strings as with json."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


# Both engines of a database read and write JSON columns with these.
JSON_CODEC: dict[str, Any] = {"json_serializer": json_text, "json_deserializer": orjson.loads}


def describe_url(url: str) -> str:
    """The database kind and location without credentials, for logs."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"sqlite ({parsed.database or ':memory:'})"
    return f"{parsed.get_backend_name()} ({parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database})"


def _install_sqlite_hooks(sync_engine: Engine, *extra_pragmas: str) -> None:
    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy, not the driver, issue BEGIN, so writers can use IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (*SQLITE_PRAGMAS, *extra_pragmas):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A writer takes the lock up front; a deferred BEGIN that later upgrades to a
        # write lock can fail with SQLITE_BUSY instead of waiting.
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")


def _install_postgres_hooks(sync_engine: Engine) -> None:
    @event.listens_for(sync_engine, "checkout")
    def _on_checkout(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry,
                     _proxy: PoolProxiedConnection) -> None:
        # In place of pool_pre_ping, which costs asyncpg three round trips (BEGIN, a query,
        # ROLLBACK) on every checkout: a third of a recorded delivery's. asyncpg sees a server
        # that ended the connection (a restart, pg_terminate_backend) as it reads, so its own
        # state tells; the pool then connects again, and the caller never sees the dead one.
        if dbapi_connection.driver_connection.is_closed():  # the adapted asyncpg connection
            raise DisconnectionError("the server closed this pooled connection")


class Database:
    """One engine and its sessions.

    ``write(fn)`` is the unit of work for writes: everything ``fn`` does commits
    together or not at all. On SQLite all writes of this process go through one
    writer thread (see :mod:`storage.sqlite_writer`).
    """

    def __init__(self, url: str, *, pool_size: int = 10, checkpoint_interval: float = DEFAULT_INTERVAL) -> None:
        self.url = url
        parsed = make_url(url)
        self.backend = parsed.get_backend_name()
        kwargs: dict[str, Any] = dict(JSON_CODEC)
        if self.backend == "postgresql":
            kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_timeout=10, connect_args={"timeout": 5})
        self.engine = create_async_engine(url, **kwargs)
        if self.backend == "postgresql":
            _install_postgres_hooks(self.engine.sync_engine)
        self._sync_engine: Engine | None = None
        self._writer: SqliteWriter | None = None
        self._checkpointer: WalCheckpointer | None = None
        self._timer_listeners: list[Callable[[datetime], None]] = []
        # This database's own Session class, so that its commit hook is not every Session's.
        session_class = type("Session", (Session,), {})
        event.listen(session_class, "after_commit", self._after_commit)
        if self.is_sqlite:
            _install_sqlite_hooks(self.engine.sync_engine, POOL_CACHE)
            self._sync_engine = create_engine(make_url(url).set(drivername="sqlite+pysqlite"), **JSON_CODEC)
            _install_sqlite_hooks(self._sync_engine)
            self._writer = SqliteWriter(sessionmaker(self._sync_engine, class_=session_class, expire_on_commit=False))
            if parsed.database and parsed.database != ":memory:":
                self._checkpointer = WalCheckpointer(self._sync_engine, checkpoint_interval)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False, sync_session_class=session_class)
        self._readers = async_sessionmaker(
            self.engine.execution_options(sqlite_begin="DEFERRED"), expire_on_commit=False
        )

    def on_timer_scheduled(self, listener: Callable[[datetime], None]) -> None:
        """Call ``listener`` with the earliest due time each committed write transaction
        scheduled a timer for, so timers due soon are fired without waiting for a poll. It is
        called in the thread that committed (SQLite's writer thread, or the event loop's)."""
        self._timer_listeners.append(listener)

    def _after_commit(self, session: Session) -> None:
        due = timers.scheduled_due(session.info)
        if due is None:
            return
        del session.info[timers.SCHEDULED_DUE]  # a session may commit again
        for listener in self._timer_listeners:
            listener(due)

    @property
    def checkpoints(self) -> int:
        """SQLite WAL checkpoints run so far by this process (0 on PostgreSQL)."""
        return self._checkpointer.checkpoints if self._checkpointer is not None else 0

    @property
    def is_sqlite(self) -> bool:
        return self.backend == "sqlite"

    @property
    def engines(self) -> list[Engine]:
        """Every engine that runs statements (for instrumentation): the async engine's, and
        SQLite's writer thread's."""
        return [self.engine.sync_engine] + ([self._sync_engine] if self._sync_engine is not None else [])

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A write transaction; commits on normal exit, rolls back on error."""
        if self._writer is not None:
            mutex = self._writer.mutex
            await asyncio.to_thread(mutex.acquire)
            try:
                async with self._session(self._sessions) as session:
                    yield session
            finally:
                mutex.release()
        else:
            async with self._session(self._sessions) as session:
                yield session

    async def write(self, fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn(session, *args, **kwargs)`` with a synchronous Session in one write transaction.

        The storage layer's functions are synchronous; this is how the application runs
        them: on SQLite in the single writer thread, on PostgreSQL through the async
        driver (``AsyncSession.run_sync``). Commits on return, rolls back on error.
        """
        def unit(session: Session) -> T:
            return fn(session, *args, **kwargs)

        if self._writer is not None:
            try:
                return await self._writer.submit(unit)
            except IntegrityError as exc:
                raise Conflict(str(exc.orig)) from exc
            except (DBAPIError, OSError) as exc:
                raise StorageUnavailable(type(exc).__name__) from exc
        async with self._session(self._sessions) as session:
            return await session.run_sync(unit)

    async def read(self, fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn(session, *args, **kwargs)`` with a synchronous Session in a read-only transaction."""
        async with self.reading() as session:
            return await session.run_sync(fn, *args, **kwargs)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A read-only transaction that never blocks writers on SQLite."""
        async with self._session(self._readers) as session:
            yield session

    @asynccontextmanager
    async def _session(self, factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
        try:
            async with factory() as session, session.begin():
                yield session
        except IntegrityError as exc:
            raise Conflict(str(exc.orig)) from exc
        except (TimeoutError, DBAPIError, OSError, PoolTimeout) as exc:  # PoolTimeout: every connection busy
            raise StorageUnavailable(type(exc).__name__) from exc

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """A bare connection (for migrations), with driver errors translated."""
        try:
            async with self.engine.connect() as conn:
                yield conn
        except (TimeoutError, DBAPIError, OSError, PoolTimeout) as exc:
            raise StorageUnavailable(type(exc).__name__) from exc

    async def ping(self) -> None:
        """Raise StorageUnavailable unless a trivial query succeeds."""
        async with self.reading() as session:
            await session.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self._writer is not None:
            await asyncio.to_thread(self._writer.close)
        if self._checkpointer is not None:
            await asyncio.to_thread(self._checkpointer.close)
        if self._sync_engine is not None:
            self._sync_engine.dispose()


__all__ = ["Database", "SQLAlchemyError", "describe_url"]
