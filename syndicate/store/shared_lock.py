"""One run at a time across hosts: ``state_lock`` is the file lock (``store.lock``) for a
SQLite state, and a PostgreSQL session advisory lock for a shared one.

With the state in PostgreSQL, two hosts running cron must never both decide the schedule (or
both start an edition); a lock file is only seen by one host. A session-level advisory lock is
the database's lease: it belongs to one connection, which this module keeps open (outside the
pool) for the whole block, and the server drops it the moment that connection ends, however
the process ends (SIGKILL included: the kernel closes the socket). There is no expiry to guess.

Who holds it (host, pid, since) is written to ``run_locks`` for the "another run holds the
lock" message; the row is advice only, the advisory lock is the truth.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import StateError
from .lock import STAMP_FORMAT, LockBusy, run_lock
from .postgres import is_url, redact

POLL_SECONDS = 0.1
CREATE_TABLE = (
    "CREATE TABLE IF NOT EXISTS run_locks (name TEXT PRIMARY KEY, holder TEXT NOT NULL)"
)


def lock_key(name: str) -> int:
    """The advisory lock number for ``name`` (a signed 64-bit integer, as PostgreSQL takes)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextmanager
def advisory_lock(
    url: str, name: str, *, wait: bool = False, timeout: float | None = None
) -> Iterator[None]:
    """Hold the cluster-wide lock ``name`` for the block; LockBusy (naming the holder) if taken.

    With ``wait`` the call polls until the holder finishes (or ``timeout`` seconds pass)."""
    import psycopg  # lazy: only a PostgreSQL state store takes this lock

    try:
        conn = psycopg.connect(url, autocommit=True, application_name=f"syndicate lock {name}")
    except psycopg.Error as exc:
        raise StateError(f"cannot connect to the state database {redact(url)}: {exc}") from None
    try:
        key = lock_key(name)
        deadline = None if timeout is None else time.monotonic() + timeout
        while not _try(conn, key):
            if not wait or (deadline is not None and time.monotonic() >= deadline):
                raise LockBusy(Path(name), _holder(conn, name))
            time.sleep(POLL_SECONDS)
        _describe(conn, name)
        yield
    finally:
        conn.close()  # ends the session: the server releases the lock


def _try(conn: Any, key: int) -> bool:
    row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
    return bool(row[0])


def _describe(conn: Any, name: str) -> None:
    stamp = datetime.now(UTC).strftime(STAMP_FORMAT)
    holder = f"pid {os.getpid()} on {socket.gethostname()} since {stamp}"
    conn.execute(CREATE_TABLE)
    conn.execute(
        "INSERT INTO run_locks (name, holder) VALUES (%s, %s)"
        " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder",
        (name, holder),
    )


def _holder(conn: Any, name: str) -> str:
    import psycopg  # lazy: loaded by advisory_lock already

    try:
        row = conn.execute("SELECT holder FROM run_locks WHERE name = %s", (name,)).fetchone()
    except psycopg.Error:
        return ""
    return str(row[0]) if row else ""


@contextmanager
def state_lock(
    target: Path | str, path: Path, *, wait: bool = False, timeout: float | None = None
) -> Iterator[Path]:
    """``run_lock(path)`` for a SQLite state; with a PostgreSQL ``target`` a database lock of
    the same name (``advisory_lock``), so runs on other hosts are excluded too."""
    if isinstance(target, str) and is_url(target):
        with advisory_lock(target, path.name, wait=wait, timeout=timeout):
            yield path
        return
    with run_lock(path, wait=wait, timeout=timeout):
        yield path
