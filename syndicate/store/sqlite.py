"""The embedded SQLite state database: opening it, and the copies made before an upgrade."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ..errors import db_error

BUSY_TIMEOUT_SECONDS = 30.0
SCHEMA_VERSIONS = (
    "CREATE TABLE IF NOT EXISTS schema_versions ("
    " component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
)


def connect_sqlite(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the SQLite state database in WAL mode with foreign keys on."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(SCHEMA_VERSIONS)
    except sqlite3.Error as exc:
        conn.close()
        # Garbage bytes, a full disk, a read-only mount: one line naming the file.
        raise db_error(exc, path) or exc from None
    return conn


def backup_copy(conn: object, suffix: str) -> Path | None:
    """Copy the open database to ``<db><suffix>`` before an upgrade (once: an existing copy is
    kept, so a rerun never overwrites the pre-upgrade state). The copy is written to a temp
    name and renamed, so a crash leaves no half copy under the final name. None for an
    in-memory database, or for a PostgreSQL store (back that up with pg_dump)."""
    source = database_file(conn)
    if source is None or not isinstance(conn, sqlite3.Connection):
        return None
    target = source.with_name(source.name + suffix)
    if target.exists():
        return target
    temp = target.with_name(target.name + ".tmp")
    temp.unlink(missing_ok=True)
    copy = sqlite3.connect(temp)
    try:
        conn.backup(copy)
    finally:
        copy.close()
    temp.replace(target)
    return target


def database_file(conn: object) -> Path | None:
    """The file of the connection's main database, or None (in memory, or not SQLite)."""
    if not isinstance(conn, sqlite3.Connection):
        return None
    row = conn.execute("PRAGMA database_list").fetchone()
    return Path(row[2]) if row is not None and row[2] else None
