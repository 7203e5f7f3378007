"""State-database connections kept per thread, so a request does not open one.

Opening a SQLite connection costs its PRAGMAs, and closing the last one checkpoints the WAL
into the database and deletes the WAL file, which the next write creates and syncs again: a
few milliseconds per request, most of a subscribe POST. Each server thread (waitress's
workers, a gunicorn worker, the outbox sender) therefore keeps the connection it opened
with ``store.sqlite.connect`` for as long as it lives; SQLite checkpoints on its own as the
WAL grows. The connection is made in the thread and process that uses it (SQLite objects
must not cross threads, nor a ``fork``: gunicorn's ``--preload`` forks after import).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

from ..store.sqlite import connect


class ThreadConnections:
    """One connection to ``path`` per thread, opened on first use and reused after."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()

    def get(self) -> sqlite3.Connection:
        """This thread's connection, with no transaction open."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid():
            conn = connect(self.path)
            self._local.conn, self._local.pid = conn, os.getpid()
        elif conn.in_transaction:
            # A handler that failed between BEGIN and COMMIT without rolling back: never
            # let its half-done work ride along with the next request's.
            conn.rollback()
        return conn

    def discard(self) -> None:
        """Close this thread's connection (after an error that may have broken it)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None and self._local.pid == os.getpid():
            try:
                conn.close()
            except sqlite3.Error:
                pass
