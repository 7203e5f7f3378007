"""State-database connections for requests: kept per thread for SQLite, borrowed for PostgreSQL.

Opening a SQLite connection costs its PRAGMAs, and closing the last one checkpoints the WAL
into the database and deletes the WAL file, which the next write creates and syncs again: a
few milliseconds per request, most of a subscribe POST. Each server thread (waitress's
workers, a gunicorn worker) therefore keeps the SQLite connection it opened for as long as it
lives; SQLite checkpoints on its own as the WAL grows. The connection is made in the thread
and process that uses it (SQLite objects must not cross threads, nor a ``fork``: gunicorn's
``--preload`` forks after import).

With ``[state] url`` (PostgreSQL) the store's psycopg pool already keeps connections open, so
a request borrows one for its work and gives it back: holding one per thread would need a
pool as large as the server's thread count.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..store.database import Connection, connect


class ThreadConnections:
    """Connections to the state database ``target`` (a SQLite file or a PostgreSQL URL)."""

    def __init__(self, target: Path | str) -> None:
        self.target = target
        self._local = threading.local()

    @contextmanager
    def use(self) -> Iterator[Connection]:
        """A connection with no transaction open, for one request's work."""
        if not isinstance(self.target, Path):
            conn = connect(self.target)
            try:
                yield conn
            finally:
                conn.close()
            return
        yield self._kept()

    def _kept(self) -> Connection:
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid():
            conn = connect(self.target)
            self._local.conn, self._local.pid = conn, os.getpid()
        elif conn.in_transaction:
            # A handler that failed between BEGIN and COMMIT without rolling back: never
            # let its half-done work ride along with the next request's.
            conn.rollback()
        return conn

    def discard(self) -> None:
        """Close this thread's kept connection (after an error that may have broken it)."""
        conn: Connection | None = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None and self._local.pid == os.getpid():
            try:
                conn.close()
            except sqlite3.Error:
                pass
