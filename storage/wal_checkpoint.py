"""SQLite's WAL checkpoints, off the writer's path.

SQLite copies the write-ahead log back into the database file (a checkpoint) by default in
whichever connection commits past 1,000 pages in the log, inside that commit, with an
fsync of each file. The writer thread would then stall every write queued behind it for the
fsyncs (bench/webhook_ingest.py: p99 290 ms with it, 117 ms without). So every connection
has automatic checkpoints off (``PRAGMA wal_autocheckpoint=0``, in ``SQLITE_PRAGMAS``) and this
thread runs a PASSIVE checkpoint on a connection of its own every ``interval`` seconds:
it copies what no reader still needs and never blocks a writer or a reader.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time

from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 1.0
_SLICE = 0.01


class WalCheckpointer:
    def __init__(self, engine: Engine, interval: float = DEFAULT_INTERVAL) -> None:
        self._engine = engine
        self._interval = interval
        self._stop = threading.Event()
        self.checkpoints = 0  # completed checkpoint runs (for tests)
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        connection = self._engine.raw_connection()
        try:
            # Short sleeps, not Event.wait(timeout): a timed condition wait never returns under
            # libfaketime (CI moves the date); the slices keep close() prompt.
            waited = 0.0
            while not self._stop.is_set():
                time.sleep(_SLICE)
                waited += _SLICE
                if waited >= self._interval and not self._stop.is_set():
                    waited = 0.0
                    self.checkpoint(connection.driver_connection)
        finally:
            connection.close()

    def checkpoint(self, connection: sqlite3.Connection | None) -> None:
        assert connection is not None
        try:
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            self.checkpoints += 1
        except sqlite3.Error as exc:  # a busy or locked file: the next interval tries again
            log.warning("SQLite WAL checkpoint failed: %s", exc)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
